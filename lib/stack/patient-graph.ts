/**
 * The bundled patient graph as processes, from the service registry (lib/services.ts): the vendor
 * emulators, the subgraphs wired to the emulators they read from (and, for their vendor caches,
 * to the event bus), the sync service (sync subgraph, webhook ingress and worker), the cascade
 * service (following the sync service's bus, delivering to the connectors emulator), and the gateway
 * wired to the subgraphs and to the sync service's event bus, all sharing one
 * INTERNAL_TOKEN_SECRET. Every service binds its own port: the emulators and the sync service the
 * ones asked for (e.g. their documented ones) or, when those are taken, any free port; the
 * subgraphs any free port; the gateway PORT (default 4000). The emulators must know where to
 * send their webhooks before they start, and the sync service reads every emulator: the sync
 * service starts first, assuming the emulators' wanted URLs, and the launcher starts it again on
 * its port if one of them got another (see ServiceSpec.env).
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import { subgraphUrlEnv } from '../../gateway/src/config';
import { INTERNAL_TOKEN_SECRET_ENV } from '../internal-identity';
import { fromRoot } from '../root';
import { CASCADE_SERVICE, CONNECTORS_EMULATOR, EMULATORS, SUBGRAPHS, SYNC_SERVICE, WEBHOOK_SECRETS, hasVendorCache, scriptOf, vendorEnv } from '../services';
import type { EmulatorService, SubgraphService, VendorEmulatorService } from '../services';
import type { ServiceSpec } from './launcher';

export interface PatientGraphOptions {
  gatewayPort: number;
  /** HS256 secret shared by the gateway and the launcher's development token. */
  jwtSecret: string;
  /**
   * The launcher's development token, for the IDE's headers editor (IDE_DEV_TOKEN); passed on only
   * with the development auth (AUTH_MODE=jwt), the only mode whose token the gateway would hand out.
   */
  developmentToken?: string;
  seedPatients: number;
  /** Instances of each subgraph; the gateway gets all their URLs and balances over them. @default 1 */
  replicas?: number;
  /** The port the sync service asks for; taken, it binds any free port. @default 0 (any free port) */
  syncPort?: number;
  /** SYNC_ADMIN_TOKEN for the sync service: its admin routes (the backfill CLI) are on with it. */
  syncAdminToken?: string;
  /**
   * Ports the emulators ask for, by name (e.g. their documented defaults, so tools like the
   * backfill CLI find them without configuration); taken, an emulator binds any free port. Any
   * free port when absent.
   */
  emulatorPorts?: Partial<Record<string, number>>;
  env: NodeJS.ProcessEnv;
}

/** `port` when nothing listens on it on `host`, else undefined. */
export async function portIfFree(port: number, host = '127.0.0.1'): Promise<number | undefined> {
  const server = net.createServer();
  const free = await new Promise<boolean>((resolve) => {
    server.once('error', () => resolve(false));
    server.listen(port, host, () => resolve(true));
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
 * A port nothing listens on right now, for a caller that must name a port before anything binds
 * it (a test stack in one process, an address meant to refuse connections). `npm start` needs
 * none: its services bind their ports themselves. It is drawn below the kernel's
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
const GATEWAY_SETTING =
  /^(UPSTREAM_|HEALTH_CHECK_|BREAKER_|EJECT_AFTER_FAILURES$|REQUEST_TIMEOUT_MS$|GATEWAY_CONFIG$|CACHE_|AUTH_|RATE_LIMIT_|LIMIT_|CORS_|WS_|BODY_LIMIT$|HTTP_HEADERS_TIMEOUT_MS$|HTTP_REQUEST_TIMEOUT_MS$|ADMIN_TOKEN$|IDE_ENABLED$|EXPORT_|COMPRESSION_THRESHOLD$)/;

export function patientGraphServices(options: PatientGraphOptions): ServiceSpec[][] {
  // One per run unless given: the gateway signs every subgraph call with it, and the subgraphs
  // (restarted instances too) refuse calls it did not sign.
  const internalTokenSecret = { [INTERNAL_TOKEN_SECRET_ENV]: options.env[INTERNAL_TOKEN_SECRET_ENV] || crypto.randomBytes(32).toString('hex') };
  const shared = { LOG_LEVEL: options.env.LOG_LEVEL ?? 'warn', HOST: '127.0.0.1' };
  const syncOrigin = (urls: Readonly<Record<string, string>>) => new URL(urls[SYNC_SERVICE.name]!).origin;
  // Development values like the emulators' own defaults; set the variables to use others.
  const secrets = Object.fromEntries(Object.entries(WEBHOOK_SECRETS).map(([key, value]) => [key, options.env[key] ?? value]));
  const redisUrl = options.env.REDIS_URL || undefined;
  // Without Redis the sync service owns the bus in memory and serves it to the gateway (and
  // the vendor caches) over HTTP.
  const busToken = redisUrl ? undefined : crypto.randomBytes(24).toString('hex');
  const followBus = (urls: Readonly<Record<string, string>>) => (redisUrl ? { REDIS_URL: redisUrl } : { BUS_URL: `${syncOrigin(urls)}/bus`, BUS_TOKEN: busToken });
  // Caches in Redis seal their entries: a key for this run unless one is given. Made once each:
  // a subgraph's instances share their vendor cache's entries only with one key, and an
  // environment must come out the same every time the launcher asks for it.
  const keyForRun = (variable: string) => (redisUrl && !options.env[variable] ? { [variable]: crypto.randomBytes(32).toString('hex') } : {});
  const vendorCacheKey = keyForRun('VENDOR_CACHE_KEY');
  const entityCacheKey = keyForRun('CACHE_ENCRYPTION_KEY');
  const tokenOf = (emulator: VendorEmulatorService) => options.env[emulator.tokenEnv] ?? emulator.devToken;
  // Variables given to the launcher that reach a service as they are.
  const passOn = (wanted: (key: string) => boolean) => Object.fromEntries(Object.entries(options.env).filter(([key]) => wanted(key)));
  // Tracing settings (OTEL_*: the collector, sampler, resource) reach every traced service, each
  // named after itself: one OTEL_SERVICE_NAME for the whole stack would hide which process a span is from.
  const telemetry = (service: string) => ({ ...passOn((key) => key.startsWith('OTEL_')), OTEL_SERVICE_NAME: service });
  const urlOf = (urls: Readonly<Record<string, string>>) => (emulator: VendorEmulatorService) => urls[emulator.name];
  const wantedPort = (emulator: VendorEmulatorService) => options.emulatorPorts?.[emulator.name] ?? 0;
  const emulators: ServiceSpec[] = EMULATORS.map((emulator: EmulatorService) => ({
    name: emulator.name,
    script: scriptOf(emulator),
    port: wantedPort(emulator),
    anyPortIfTaken: true,
    env: (urls) => ({
      ...shared,
      ...passOn((key) => key === 'SEED' || (emulator.settings ?? []).includes(key)),
      SEED_PATIENTS: String(options.seedPatients),
      [emulator.tokenEnv]: tokenOf(emulator),
      ...secrets,
      [emulator.webhook.urlEnv]: `${syncOrigin(urls)}${emulator.webhook.path}`,
    }),
  }));
  // The connectors emulator only receives: no seed, no webhooks.
  emulators.push({
    name: CONNECTORS_EMULATOR.name,
    script: scriptOf(CONNECTORS_EMULATOR),
    port: wantedPort(CONNECTORS_EMULATOR),
    anyPortIfTaken: true,
    env: () => ({ ...shared, [CONNECTORS_EMULATOR.tokenEnv]: tokenOf(CONNECTORS_EMULATOR) }),
  });
  const replicas = options.replicas ?? 1;
  const instances = (subgraph: string) => Array.from({ length: replicas }, (_, index) => instanceName(subgraph, index));
  const vendorCacheEnv = (subgraph: SubgraphService, urls: Readonly<Record<string, string>>) =>
    hasVendorCache(subgraph) ? { ...passOn((key) => key.startsWith('VENDOR_CACHE_')), ...followBus(urls), ...vendorCacheKey } : {};
  const subgraphs: ServiceSpec[] = SUBGRAPHS.flatMap((subgraph) =>
    instances(subgraph.name).map((name) => ({
      name,
      script: scriptOf(subgraph),
      env: (urls: Readonly<Record<string, string>>) => ({
        ...shared,
        ...telemetry(subgraph.name),
        ...vendorEnv(subgraph.emulators, urlOf(urls), tokenOf),
        ...vendorCacheEnv(subgraph, urls),
        ...internalTokenSecret,
      }),
    })),
  );
  // One instance: without Redis its outbox and step store are in its own memory.
  const cascade: ServiceSpec = {
    name: CASCADE_SERVICE.name,
    script: scriptOf(CASCADE_SERVICE),
    env: (urls) => ({
      ...shared,
      ...passOn((key) => key.startsWith('CASCADE_')),
      ...telemetry(CASCADE_SERVICE.name),
      ...vendorEnv(CASCADE_SERVICE.emulators, urlOf(urls), tokenOf),
      ...followBus(urls),
      ...internalTokenSecret,
    }),
  };
  const sync: ServiceSpec = {
    name: SYNC_SERVICE.name,
    script: scriptOf(SYNC_SERVICE),
    port: options.syncPort ?? 0,
    anyPortIfTaken: true,
    env: (urls) => ({
      ...shared,
      ...telemetry(SYNC_SERVICE.name),
      ...passOn((key) => key.startsWith('SYNC_')),
      // Before the emulators are up, the URLs they ask for (right unless one is taken). Its
      // PUBLIC_URL, which HubSpot signs, defaults to the address it binds.
      ...vendorEnv(SYNC_SERVICE.emulators, (emulator) => urls[emulator.name] ?? `http://127.0.0.1:${wantedPort(emulator) || emulator.defaultPort}`, tokenOf),
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
    port: options.gatewayPort,
    env: (urls) => ({
      // Upstream policy, cache and authentication settings given to the launcher reach the gateway
      // (AUTH_MODE=oidc with AUTH_ISSUER etc. runs npm start against a real identity provider).
      ...passOn((key) => GATEWAY_SETTING.test(key)),
      ...telemetry('gateway'),
      ...entityCacheKey,
      LOG_LEVEL: options.env.LOG_LEVEL ?? 'warn',
      HOST: options.env.HOST ?? '127.0.0.1',
      AUTH_MODE: options.env.AUTH_MODE ?? 'jwt',
      AUTH_JWT_SECRET: options.jwtSecret,
      ...(options.developmentToken && (options.env.AUTH_MODE ?? 'jwt') === 'jwt' ? { IDE_DEV_TOKEN: options.developmentToken } : {}),
      ...internalTokenSecret,
      GATEWAY_CONFIG: options.env.GATEWAY_CONFIG ?? fromRoot('schema', 'gateway.json'),
      [subgraphUrlEnv(SYNC_SERVICE.name)]: urls[SYNC_SERVICE.name],
      [subgraphUrlEnv(CASCADE_SERVICE.name)]: urls[CASCADE_SERVICE.name],
      ...followBus(urls),
      ...Object.fromEntries(SUBGRAPHS.map(({ name }) => [subgraphUrlEnv(name), instances(name).map((instance) => urls[instance]).join(',')])),
    }),
  };
  return [[sync], emulators, [...subgraphs, cascade], [gateway]];
}
