/**
 * The bundled patient graph as processes: four vendor emulators, the four subgraphs wired to
 * them, and the gateway wired to the subgraphs. Internal services listen on free ports; only
 * the gateway has a fixed one (PORT, default 4000).
 */
import path from 'node:path';
import type { ServiceSpec } from './launcher';

/** Where compiled entrypoints live relative to this file (dist/lib/stack → dist/). */
const DIST = path.resolve(__dirname, '..', '..');

export interface PatientGraphOptions {
  gatewayPort: number;
  /** HS256 secret shared by the gateway and the launcher's development token. */
  jwtSecret: string;
  /** Pre-filled in the Sandbox. */
  sandboxToken?: string;
  seedPatients: number;
  env: NodeJS.ProcessEnv;
}

const VENDORS = [
  { emulator: 'semble-emulator', dir: 'semble', subgraph: 'semble', baseUrlKey: 'SEMBLE_BASE_URL', tokenKey: 'SEMBLE_TOKEN', token: 'semble-dev-token' },
  { emulator: 'hubspot-emulator', dir: 'crm', subgraph: 'crm', baseUrlKey: 'HUBSPOT_BASE_URL', tokenKey: 'HUBSPOT_TOKEN', token: 'hubspot-dev-token' },
  { emulator: 'stripe-emulator', dir: 'payments', subgraph: 'payments', baseUrlKey: 'STRIPE_BASE_URL', tokenKey: 'STRIPE_SECRET_KEY', token: 'sk_test_patientgraph' },
  { emulator: 'google-calendar-emulator', dir: 'calendar', subgraph: 'calendar', baseUrlKey: 'GOOGLE_CALENDAR_BASE_URL', tokenKey: 'GOOGLE_CALENDAR_TOKEN', token: 'google-dev-token' },
] as const;

export function patientGraphServices(options: PatientGraphOptions): ServiceSpec[][] {
  const shared = { LOG_LEVEL: options.env.LOG_LEVEL ?? 'warn', HOST: '127.0.0.1' };
  const tokenOf = (vendor: (typeof VENDORS)[number]) => options.env[vendor.tokenKey] ?? vendor.token;
  const emulators: ServiceSpec[] = VENDORS.map((vendor) => ({
    name: vendor.emulator,
    script: path.join(DIST, 'subgraphs', vendor.dir, 'emulator', 'main.js'),
    env: () => ({ ...shared, PORT: '0', SEED_PATIENTS: String(options.seedPatients), [vendor.tokenKey]: tokenOf(vendor) }),
  }));
  const subgraphs: ServiceSpec[] = VENDORS.map((vendor) => ({
    name: vendor.subgraph,
    script: path.join(DIST, 'subgraphs', vendor.dir, 'src', 'main.js'),
    env: (urls) => ({ ...shared, PORT: '0', [vendor.baseUrlKey]: urls[vendor.emulator], [vendor.tokenKey]: tokenOf(vendor) }),
  }));
  const gateway: ServiceSpec = {
    name: 'gateway',
    script: path.join(DIST, 'gateway', 'src', 'main.js'),
    env: (urls) => ({
      LOG_LEVEL: options.env.LOG_LEVEL ?? 'warn',
      PORT: String(options.gatewayPort),
      HOST: options.env.HOST ?? '127.0.0.1',
      AUTH_MODE: options.env.AUTH_MODE ?? 'jwt',
      AUTH_JWT_SECRET: options.jwtSecret,
      SANDBOX_TOKEN: options.sandboxToken,
      ...Object.fromEntries(VENDORS.map((vendor) => [`SUBGRAPH_${vendor.subgraph.toUpperCase()}_URL`, urls[vendor.subgraph]])),
    }),
  };
  return [emulators, subgraphs, [gateway]];
}
