/**
 * The bundled patient graph as processes: four vendor emulators, the four subgraphs wired to
 * them, and the gateway wired to the subgraphs. Internal services listen on free ports; only
 * the gateway has a fixed one (PORT, default 4000).
 */
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
  env: NodeJS.ProcessEnv;
}

/** The launcher's name for instance `index` (0-based) of a subgraph: `semble`, `semble#2`, … */
export const instanceName = (subgraph: string, index: number) => (index === 0 ? subgraph : `${subgraph}#${index + 1}`);

const VENDORS = [
  { emulator: 'semble-emulator', dir: 'semble', subgraph: 'semble', baseUrlKey: 'SEMBLE_BASE_URL', tokenKey: 'SEMBLE_TOKEN', token: 'semble-dev-token' },
  { emulator: 'hubspot-emulator', dir: 'crm', subgraph: 'crm', baseUrlKey: 'HUBSPOT_BASE_URL', tokenKey: 'HUBSPOT_TOKEN', token: 'hubspot-dev-token' },
  { emulator: 'stripe-emulator', dir: 'payments', subgraph: 'payments', baseUrlKey: 'STRIPE_BASE_URL', tokenKey: 'STRIPE_SECRET_KEY', token: 'sk_test_patientgraph' },
  { emulator: 'google-calendar-emulator', dir: 'calendar', subgraph: 'calendar', baseUrlKey: 'GOOGLE_CALENDAR_BASE_URL', tokenKey: 'GOOGLE_CALENDAR_TOKEN', token: 'google-dev-token' },
] as const;

const EMULATOR_SETTING = /^(SEED|HUBSPOT_RATE_LIMIT_MAX|HUBSPOT_RATE_LIMIT_WINDOW_MS|STRIPE_SEARCH_MAX_CLAUSES)$/;
const UPSTREAM_SETTING = /^(UPSTREAM_|HEALTH_CHECK_|BREAKER_|EJECT_AFTER_FAILURES$|REQUEST_TIMEOUT_MS$|GATEWAY_CONFIG$)/;

export function patientGraphServices(options: PatientGraphOptions): ServiceSpec[][] {
  const shared = { LOG_LEVEL: options.env.LOG_LEVEL ?? 'warn', HOST: '127.0.0.1' };
  const tokenOf = (vendor: (typeof VENDORS)[number]) => options.env[vendor.tokenKey] ?? vendor.token;
  const emulators: ServiceSpec[] = VENDORS.map((vendor) => ({
    name: vendor.emulator,
    script: path.join(DIST, 'subgraphs', vendor.dir, 'emulator', 'main.js'),
    env: () => ({
      ...shared,
      ...Object.fromEntries(Object.entries(options.env).filter(([key]) => EMULATOR_SETTING.test(key))),
      PORT: '0',
      SEED_PATIENTS: String(options.seedPatients),
      [vendor.tokenKey]: tokenOf(vendor),
    }),
  }));
  const replicas = options.replicas ?? 1;
  const instances = (subgraph: string) => Array.from({ length: replicas }, (_, index) => instanceName(subgraph, index));
  const subgraphs: ServiceSpec[] = VENDORS.flatMap((vendor) =>
    instances(vendor.subgraph).map((name) => ({
      name,
      script: path.join(DIST, 'subgraphs', vendor.dir, 'src', 'main.js'),
      env: (urls: Readonly<Record<string, string>>) => ({
        ...shared,
        PORT: '0',
        [vendor.baseUrlKey]: urls[vendor.emulator],
        [vendor.tokenKey]: tokenOf(vendor),
      }),
    })),
  );
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
      SANDBOX_TOKEN: options.sandboxToken,
      ...Object.fromEntries(
        VENDORS.map((vendor) => [`SUBGRAPH_${vendor.subgraph.toUpperCase()}_URL`, instances(vendor.subgraph).map((name) => urls[name]).join(',')]),
      ),
    }),
  };
  return [emulators, subgraphs, [gateway]];
}
