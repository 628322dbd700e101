/**
 * The bundled patient graph as processes: five vendor emulators (Semble, HubSpot, Stripe,
 * GoCardless, Google Calendar), the four subgraphs wired to them (payments to both Stripe and
 * GoCardless), the sync service (sync subgraph, webhook ingress and worker), and the gateway wired to
 * the subgraphs and to the sync service's event bus. Internal services listen on free ports; only
 * the gateway has a fixed one (PORT, default 4000). The sync service's port is chosen up front,
 * because the emulators must know where to send their webhooks before it starts.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fromRoot } from '../root';
import type { ServiceSpec } from './launcher';

/** Compiled entrypoints: services always run from dist/, also when this file runs under ts-jest. */
const DIST = fromRoot('dist');

export interface PatientGraphOptions {
  gatewayPort: number;
  /** HS256 secret shared by the gateway and the launcher's development token. */
  jwtSecret: string;
  /** Pre-filled in the Sandbox. */
  sandboxToken?: string;
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

/** The documented default ports, which the subgraphs' and the sync CLI's defaults point at. */
export const DEFAULT_EMULATOR_PORTS: Record<string, number> = {
  'semble-emulator': 4101,
  'hubspot-emulator': 4102,
  'stripe-emulator': 4103,
  'google-calendar-emulator': 4104,
  'gocardless-emulator': 4106,
};
export const DEFAULT_SYNC_PORT = 4005;

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

/**
 * Webhook secrets shared by the emulators (which sign) and the sync service (which verifies),
 * development values like the emulators' own defaults; set the variables to use others.
 */
const WEBHOOK_SECRETS = {
  SEMBLE_WEBHOOK_SECRET: 'semble-dev-webhook-secret',
  HUBSPOT_CLIENT_SECRET: 'hubspot-dev-client-secret',
  STRIPE_WEBHOOK_SECRET: 'whsec_patientgraph_dev',
  GOCARDLESS_WEBHOOK_SECRET: 'gocardless-dev-webhook-secret',
  GOOGLE_CALENDAR_CHANNEL_ID: 'patient-graph-dev-channel',
  GOOGLE_CALENDAR_CHANNEL_TOKEN: 'google-dev-channel-token',
};

const WEBHOOK_PATHS: Record<string, [urlKey: string, path: string]> = {
  'semble-emulator': ['SEMBLE_WEBHOOK_URL', '/webhooks/semble'],
  'hubspot-emulator': ['HUBSPOT_WEBHOOK_URL', '/webhooks/hubspot'],
  'stripe-emulator': ['STRIPE_WEBHOOK_URL', '/webhooks/stripe'],
  'gocardless-emulator': ['GOCARDLESS_WEBHOOK_URL', '/webhooks/gocardless'],
  'google-calendar-emulator': ['GOOGLE_CALENDAR_WEBHOOK_URL', '/webhooks/google-calendar'],
};

/** The launcher's name for instance `index` (0-based) of a subgraph: `semble`, `semble#2`, … */
export const instanceName = (subgraph: string, index: number) => (index === 0 ? subgraph : `${subgraph}#${index + 1}`);

/** One emulator per vendor; `script` is its entrypoint under dist/subgraphs/<dir>/emulator/. */
const VENDORS = [
  { emulator: 'semble-emulator', dir: 'semble', script: 'main.js', baseUrlKey: 'SEMBLE_BASE_URL', tokenKey: 'SEMBLE_TOKEN', token: 'semble-dev-token' },
  { emulator: 'hubspot-emulator', dir: 'crm', script: 'main.js', baseUrlKey: 'HUBSPOT_BASE_URL', tokenKey: 'HUBSPOT_TOKEN', token: 'hubspot-dev-token' },
  { emulator: 'stripe-emulator', dir: 'payments', script: 'main.js', baseUrlKey: 'STRIPE_BASE_URL', tokenKey: 'STRIPE_SECRET_KEY', token: 'sk_test_patientgraph' },
  { emulator: 'gocardless-emulator', dir: 'payments', script: 'gocardless-main.js', baseUrlKey: 'GOCARDLESS_BASE_URL', tokenKey: 'GOCARDLESS_ACCESS_TOKEN', token: 'gocardless-dev-token' },
  { emulator: 'google-calendar-emulator', dir: 'calendar', script: 'main.js', baseUrlKey: 'GOOGLE_CALENDAR_BASE_URL', tokenKey: 'GOOGLE_CALENDAR_TOKEN', token: 'google-dev-token' },
] as const;

type VendorEmulator = (typeof VENDORS)[number]['emulator'];

/** Each subgraph and the emulators (vendors) it reads from. */
const SUBGRAPHS: ReadonlyArray<{ subgraph: string; dir: string; vendors: readonly VendorEmulator[] }> = [
  { subgraph: 'semble', dir: 'semble', vendors: ['semble-emulator'] },
  { subgraph: 'crm', dir: 'crm', vendors: ['hubspot-emulator'] },
  { subgraph: 'payments', dir: 'payments', vendors: ['stripe-emulator', 'gocardless-emulator'] },
  { subgraph: 'calendar', dir: 'calendar', vendors: ['google-calendar-emulator'] },
];

const vendorOf = (emulator: VendorEmulator) => VENDORS.find((vendor) => vendor.emulator === emulator)!;

const EMULATOR_SETTING = /^(SEED|HUBSPOT_RATE_LIMIT_MAX|HUBSPOT_RATE_LIMIT_WINDOW_MS|STRIPE_SEARCH_MAX_CLAUSES)$/;
const UPSTREAM_SETTING = /^(UPSTREAM_|HEALTH_CHECK_|BREAKER_|EJECT_AFTER_FAILURES$|REQUEST_TIMEOUT_MS$|GATEWAY_CONFIG$)/;

export function patientGraphServices(options: PatientGraphOptions): ServiceSpec[][] {
  const shared = { LOG_LEVEL: options.env.LOG_LEVEL ?? 'warn', HOST: '127.0.0.1' };
  const syncOrigin = `http://127.0.0.1:${options.syncPort}`;
  const secrets = Object.fromEntries(Object.entries(WEBHOOK_SECRETS).map(([key, value]) => [key, options.env[key] ?? value]));
  const redisUrl = options.env.REDIS_URL || undefined;
  // Without Redis the sync service owns the bus in memory and serves it to the gateway over HTTP.
  const busToken = redisUrl ? undefined : crypto.randomBytes(24).toString('hex');
  const tokenOf = (vendor: (typeof VENDORS)[number]) => options.env[vendor.tokenKey] ?? vendor.token;
  const emulators: ServiceSpec[] = VENDORS.map((vendor) => ({
    name: vendor.emulator,
    script: path.join(DIST, 'subgraphs', vendor.dir, 'emulator', vendor.script),
    env: () => ({
      ...shared,
      ...Object.fromEntries(Object.entries(options.env).filter(([key]) => EMULATOR_SETTING.test(key))),
      PORT: String(options.emulatorPorts?.[vendor.emulator] ?? 0),
      SEED_PATIENTS: String(options.seedPatients),
      [vendor.tokenKey]: tokenOf(vendor),
      ...secrets,
      [WEBHOOK_PATHS[vendor.emulator]![0]]: `${syncOrigin}${WEBHOOK_PATHS[vendor.emulator]![1]}`,
    }),
  }));
  const replicas = options.replicas ?? 1;
  const instances = (subgraph: string) => Array.from({ length: replicas }, (_, index) => instanceName(subgraph, index));
  const subgraphs: ServiceSpec[] = SUBGRAPHS.flatMap((subgraph) =>
    instances(subgraph.subgraph).map((name) => ({
      name,
      script: path.join(DIST, 'subgraphs', subgraph.dir, 'src', 'main.js'),
      env: (urls: Readonly<Record<string, string>>) => ({
        ...shared,
        PORT: '0',
        ...Object.fromEntries(
          subgraph.vendors.map(vendorOf).flatMap((vendor) => [
            [vendor.baseUrlKey, urls[vendor.emulator]],
            [vendor.tokenKey, tokenOf(vendor)],
          ]),
        ),
      }),
    })),
  );
  const sync: ServiceSpec = {
    name: 'sync',
    script: path.join(DIST, 'subgraphs', 'sync', 'src', 'main.js'),
    env: (urls) => ({
      ...shared,
      ...Object.fromEntries(Object.entries(options.env).filter(([key]) => /^SYNC_/.test(key))),
      PORT: String(options.syncPort),
      PUBLIC_URL: syncOrigin,
      ...Object.fromEntries(VENDORS.flatMap((vendor) => [[vendor.baseUrlKey, urls[vendor.emulator]], [vendor.tokenKey, tokenOf(vendor)]])),
      ...secrets,
      REDIS_URL: redisUrl,
      BUS_TOKEN: busToken,
      ...(options.syncAdminToken ? { SYNC_ADMIN_TOKEN: options.syncAdminToken } : {}),
    }),
  };
  const gateway: ServiceSpec = {
    name: 'gateway',
    script: path.join(DIST, 'gateway', 'src', 'main.js'),
    env: (urls) => ({
      // Upstream policy settings given to the launcher reach the gateway.
      ...Object.fromEntries(Object.entries(options.env).filter(([key]) => UPSTREAM_SETTING.test(key))),
      LOG_LEVEL: options.env.LOG_LEVEL ?? 'warn',
      PORT: String(options.gatewayPort),
      HOST: options.env.HOST ?? '127.0.0.1',
      AUTH_MODE: options.env.AUTH_MODE ?? 'jwt',
      AUTH_JWT_SECRET: options.jwtSecret,
      GATEWAY_CONFIG: options.env.GATEWAY_CONFIG ?? fromRoot('schema', 'gateway.json'),
      SUBGRAPH_SYNC_URL: urls.sync,
      ...(redisUrl ? { REDIS_URL: redisUrl } : { BUS_URL: `${syncOrigin}/bus`, BUS_TOKEN: busToken }),
      SANDBOX_TOKEN: options.sandboxToken,
      ...Object.fromEntries(
        SUBGRAPHS.map(({ subgraph }) => [`SUBGRAPH_${subgraph.toUpperCase()}_URL`, instances(subgraph).map((name) => urls[name]).join(',')]),
      ),
    }),
  };
  return [emulators, [...subgraphs, sync], [gateway]];
}
