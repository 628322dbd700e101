/**
 * The bundled patient graph as processes, from the service registry (lib/services.ts): the vendor
 * emulators, the subgraphs wired to the emulators they read from (and, for their vendor caches,
 * to the event bus), the sync service (sync subgraph, webhook ingress and worker), and the gateway
 * wired to the subgraphs and to the sync service's event bus, all sharing one
 * INTERNAL_TOKEN_SECRET. Internal services listen on free ports; only the gateway has a fixed one
 * (PORT, default 4000). The sync service's port is chosen up front, because the emulators must
 * know where to send their webhooks before it starts.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import { subgraphUrlEnv } from '../../gateway/src/config';
import { INTERNAL_TOKEN_SECRET_ENV } from '../internal-identity';
import { fromRoot } from '../root';
import { EMULATORS, SUBGRAPHS, SYNC_SERVICE, WEBHOOK_SECRETS, hasVendorCache, scriptOf, vendorEnv } from '../services';
import type { EmulatorService, SubgraphService } from '../services';
import type { ServiceSpec } from './launcher';

export interface PatientGraphOptions {
  gatewayPort: number;
  /** HS256 secret shared by the gateway and the launcher's development token. */
  jwtSecret: string;
  seedPatients: number;
  /** Instances of each subgraph; the gateway gets all their URLs and balances over them. @default 1 */
  replicas?: number;
  /** The sync service's port (see freePort). */
  syncPort: number;
  /** SYNC_ADMIN_TOKEN for the sync service: its admin routes (the backfill CLI) are on with it. */
  syncAdminToken?: string;
  /**
   * Ports for the emulators by name (e.g. their documented defaults, so tools like the backfill
   * CLI find them without configuration); a free port each when absent.
   */
  emulatorPorts?: Partial<Record<string, number>>;
  env: NodeJS.ProcessEnv;
}

/** `port` when nothing listens on it on 127.0.0.1, else undefined. */
export async function portIfFree(port: number): Promise<number | undefined> {
  const server = net.createServer();
  const free = await new Promise<boolean>((resolve) => {
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => resolve(true));
  });
  if (free) await new Promise<void>((resolve) => server.close(() => resolve()));
  return free ? port : undefined;
}

/** Where the kernel's ephemeral range starts (Linux default 32768). */
function ephemeralRangeStart(): number {
  try {
    const low = Number(fs.readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
    if (Number.isInteger(low) && low > RESERVED_PORT_FLOOR + 1000) return low;
  } catch {
    // Not Linux, or /proc is not mounted: use the IANA dynamic range's start.
  }
  return 32768;
}
const RESERVED_PORT_FLOOR = 20000;

/**
 * A port nothing listens on right now, for a service whose address must be known before it
 * starts (the emulators post webhooks to the sync service). It is drawn below the kernel's
 * ephemeral range: a port the kernel handed out for `listen(0)` would be free again once probed,
 * but the kernel could give it to another `listen(0)` or to an outgoing connection's local end
 * before the service binds it (EADDRINUSE). Below that range only explicit binds compete.
 */
export async function freePort(): Promise<number> {
  const ceiling = ephemeralRangeStart();
  for (let attempt = 0; attempt < 50; attempt++) {
    const candidate = RESERVED_PORT_FLOOR + crypto.randomInt(ceiling - RESERVED_PORT_FLOOR);
    if ((await portIfFree(candidate)) !== undefined) return candidate;
  }
  throw new Error(`No free port found between ${RESERVED_PORT_FLOOR} and ${ceiling} after 50 tries.`);
}

/** The launcher's name for instance `index` (0-based) of a subgraph: `semble`, `semble#2`, … */
export const instanceName = (subgraph: string, index: number) => (index === 0 ? subgraph : `${subgraph}#${index + 1}`);

/** The gateway's own settings that `npm start` passes on: upstream policy and the entity cache. */
const GATEWAY_SETTING = /^(UPSTREAM_|HEALTH_CHECK_|BREAKER_|EJECT_AFTER_FAILURES$|REQUEST_TIMEOUT_MS$|GATEWAY_CONFIG$|CACHE_|AUTH_)/;

export function patientGraphServices(options: PatientGraphOptions): ServiceSpec[][] {
  // One per run unless given: the gateway signs every subgraph call with it, and the subgraphs
  // (restarted instances too) refuse calls it did not sign.
  const internalTokenSecret = { [INTERNAL_TOKEN_SECRET_ENV]: options.env[INTERNAL_TOKEN_SECRET_ENV] || crypto.randomBytes(32).toString('hex') };
  const shared = { LOG_LEVEL: options.env.LOG_LEVEL ?? 'warn', HOST: '127.0.0.1' };
  const syncOrigin = `http://127.0.0.1:${options.syncPort}`;
  // Development values like the emulators' own defaults; set the variables to use others.
  const secrets = Object.fromEntries(Object.entries(WEBHOOK_SECRETS).map(([key, value]) => [key, options.env[key] ?? value]));
  const redisUrl = options.env.REDIS_URL || undefined;
  // Without Redis the sync service owns the bus in memory and serves it to the gateway (and
  // the vendor caches) over HTTP.
  const busToken = redisUrl ? undefined : crypto.randomBytes(24).toString('hex');
  const followBus = redisUrl ? { REDIS_URL: redisUrl } : { BUS_URL: `${syncOrigin}/bus`, BUS_TOKEN: busToken };
  // Caches in Redis seal their entries: a key for this run unless one is given.
  const keyForRun = (variable: string) => (redisUrl && !options.env[variable] ? { [variable]: crypto.randomBytes(32).toString('hex') } : {});
  // Made once: a subgraph's instances share their vendor cache's entries only with one key.
  const vendorCacheKey = keyForRun('VENDOR_CACHE_KEY');
  const tokenOf = (emulator: EmulatorService) => options.env[emulator.tokenEnv] ?? emulator.devToken;
  // Variables given to the launcher that reach a service as they are.
  const passOn = (wanted: (key: string) => boolean) => Object.fromEntries(Object.entries(options.env).filter(([key]) => wanted(key)));
  const urlOf = (urls: Readonly<Record<string, string>>) => (emulator: EmulatorService) => urls[emulator.name];
  const emulators: ServiceSpec[] = EMULATORS.map((emulator: EmulatorService) => ({
    name: emulator.name,
    script: scriptOf(emulator),
    env: () => ({
      ...shared,
      ...passOn((key) => key === 'SEED' || (emulator.settings ?? []).includes(key)),
      PORT: String(options.emulatorPorts?.[emulator.name] ?? 0),
      SEED_PATIENTS: String(options.seedPatients),
      [emulator.tokenEnv]: tokenOf(emulator),
      ...secrets,
      [emulator.webhook.urlEnv]: `${syncOrigin}${emulator.webhook.path}`,
    }),
  }));
  const replicas = options.replicas ?? 1;
  const instances = (subgraph: string) => Array.from({ length: replicas }, (_, index) => instanceName(subgraph, index));
  const vendorCacheEnv = (subgraph: SubgraphService) =>
    hasVendorCache(subgraph) ? { ...passOn((key) => key.startsWith('VENDOR_CACHE_')), ...followBus, ...vendorCacheKey } : {};
  const subgraphs: ServiceSpec[] = SUBGRAPHS.flatMap((subgraph) =>
    instances(subgraph.name).map((name) => ({
      name,
      script: scriptOf(subgraph),
      env: (urls: Readonly<Record<string, string>>) => ({
        ...shared,
        PORT: '0',
        ...vendorEnv(subgraph.emulators, urlOf(urls), tokenOf),
        ...vendorCacheEnv(subgraph),
        ...internalTokenSecret,
      }),
    })),
  );
  const sync: ServiceSpec = {
    name: SYNC_SERVICE.name,
    script: scriptOf(SYNC_SERVICE),
    env: (urls) => ({
      ...shared,
      ...passOn((key) => key.startsWith('SYNC_')),
      PORT: String(options.syncPort),
      PUBLIC_URL: syncOrigin,
      ...vendorEnv(SYNC_SERVICE.emulators, urlOf(urls), tokenOf),
      ...secrets,
      REDIS_URL: redisUrl,
      BUS_TOKEN: busToken,
      ...(options.syncAdminToken ? { SYNC_ADMIN_TOKEN: options.syncAdminToken } : {}),
      ...internalTokenSecret,
    }),
  };
  const gateway: ServiceSpec = {
    name: 'gateway',
    script: fromRoot('dist', 'gateway', 'src', 'main.js'),
    env: (urls) => ({
      // Upstream policy, cache and authentication settings given to the launcher reach the gateway
      // (AUTH_MODE=oidc with AUTH_ISSUER etc. runs npm start against a real identity provider).
      ...passOn((key) => GATEWAY_SETTING.test(key)),
      ...keyForRun('CACHE_ENCRYPTION_KEY'),
      LOG_LEVEL: options.env.LOG_LEVEL ?? 'warn',
      PORT: String(options.gatewayPort),
      HOST: options.env.HOST ?? '127.0.0.1',
      AUTH_MODE: options.env.AUTH_MODE ?? 'jwt',
      AUTH_JWT_SECRET: options.jwtSecret,
      ...internalTokenSecret,
      GATEWAY_CONFIG: options.env.GATEWAY_CONFIG ?? fromRoot('schema', 'gateway.json'),
      [subgraphUrlEnv(SYNC_SERVICE.name)]: urls[SYNC_SERVICE.name],
      ...followBus,
      ...Object.fromEntries(SUBGRAPHS.map(({ name }) => [subgraphUrlEnv(name), instances(name).map((instance) => urls[instance]).join(',')])),
    }),
  };
  return [emulators, [...subgraphs, sync], [gateway]];
}
