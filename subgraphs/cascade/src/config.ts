/**
 * The cascade service's configuration: one zod schema read from the environment once at start,
 * plus the cascade file it names (cascade-config.ts). Vendor defaults point at the local
 * emulators, as the other services' do. A bad value stops start-up naming the variable.
 */
import os from 'node:os';
import { z } from 'zod';
import { envBool, envInt, parseConfig } from '../../../lib/config';
import { INTERNAL_TOKEN_SECRET_ENV, internalTokenSecretSchema } from '../../../lib/internal-identity';
import { fromRoot } from '../../../lib/root';

const httpUrl = () => z.url({ protocol: /^https?$/ });

const schema = z.object({
  /** Port of the cascade subgraph. @default 4006 */
  port: z.number().int().min(0).max(65535).default(4006),
  /** @default 127.0.0.1 */
  host: z.string().min(1).default('127.0.0.1'),
  /** The cascade file: connectors, steps, delivery settings. @default subgraphs/cascade/cascade.json */
  configFile: z.string().min(1).default(fromRoot('subgraphs', 'cascade', 'cascade.json')),
  /** Semble, read for the fields of an event (webhooks are hints). */
  sembleBaseUrl: httpUrl().default('http://127.0.0.1:4101'),
  sembleToken: z.string().min(1).default('semble-dev-token'),
  /** HubSpot, read for marketing consent. */
  hubspotBaseUrl: httpUrl().default('http://127.0.0.1:4102'),
  hubspotToken: z.string().min(1).default('hubspot-dev-token'),
  /** Stripe and GoCardless, read to confirm a failed payment. */
  stripeBaseUrl: httpUrl().default('http://127.0.0.1:4103'),
  stripeSecretKey: z.string().min(1).default('sk_test_patientgraph'),
  goCardlessBaseUrl: httpUrl().default('http://127.0.0.1:4106'),
  goCardlessAccessToken: z.string().min(1).default('gocardless-dev-token'),
  /** Per-attempt timeout of every vendor read. @default 10000 */
  vendorTimeoutMs: z.number().int().positive().default(10_000),
  /** With a URL, the bus and the step store live in Redis (shared by every replica); memory otherwise. */
  redisUrl: z.url({ protocol: /^rediss?$/ }).optional(),
  /** Prefix of the bus's Redis keys; must match the sync service's and the gateway's. @default pg:bus: */
  busKeyPrefix: z.string().min(1).default('pg:bus:'),
  /** Prefix of the step store's Redis keys. @default pg:cascade: */
  cascadeKeyPrefix: z.string().min(1).default('pg:cascade:'),
  /**
   * Without Redis: the bus the sync service serves over HTTP (its /bus), followed for events and
   * published to for step changes; the outbox then stays in this process's memory.
   */
  busUrl: httpUrl().optional(),
  busToken: z.string().min(16).optional(),
  /** Run the intake and the deliverer in this process (off: serve the graph only). @default true */
  worker: z.boolean().default(true),
  /** This process's name in the consumer groups and on step leases. @default host name + pid */
  workerName: z.string().min(1).default(`${os.hostname()}-${process.pid}`),
  /** How often due steps (retries, short-term steps) are looked for. @default 250 */
  pollIntervalMs: z.number().int().positive().default(250),
  /** Redelivery of a bus event whose handler failed or whose process died. @default 30000 */
  claimAfterMs: z.number().int().positive().default(30_000),
  /**
   * How often the sweep lists the patients Semble changed, to set off the cascade of a new patient
   * whose PATIENT_CREATED webhook was lost (sweep.ts); 0 turns it off. Runs with the worker only.
   * @default 60000
   */
  sweepIntervalMs: z.number().int().min(0).default(60_000),
  /** How far before its checkpoint each sweep's listing starts (clock skew, writes racing a listing). @default 30000 */
  sweepOverlapMs: z.number().int().min(0).default(30_000),
  /** When set, /metrics answers only requests carrying it as a bearer token (it counts the clinic's activity); open on the internal port otherwise. */
  adminToken: z.string().min(16).optional(),
  internalTokenSecret: internalTokenSecretSchema,
});

export type CascadeConfig = z.infer<typeof schema>;

const ENV_KEYS: Record<keyof CascadeConfig, string> = {
  port: 'PORT',
  host: 'HOST',
  configFile: 'CASCADE_CONFIG',
  sembleBaseUrl: 'SEMBLE_BASE_URL',
  sembleToken: 'SEMBLE_TOKEN',
  hubspotBaseUrl: 'HUBSPOT_BASE_URL',
  hubspotToken: 'HUBSPOT_TOKEN',
  stripeBaseUrl: 'STRIPE_BASE_URL',
  stripeSecretKey: 'STRIPE_SECRET_KEY',
  goCardlessBaseUrl: 'GOCARDLESS_BASE_URL',
  goCardlessAccessToken: 'GOCARDLESS_ACCESS_TOKEN',
  vendorTimeoutMs: 'CASCADE_VENDOR_TIMEOUT_MS',
  redisUrl: 'REDIS_URL',
  busKeyPrefix: 'BUS_KEY_PREFIX',
  cascadeKeyPrefix: 'CASCADE_KEY_PREFIX',
  busUrl: 'BUS_URL',
  busToken: 'BUS_TOKEN',
  worker: 'CASCADE_WORKER',
  workerName: 'CASCADE_WORKER_NAME',
  pollIntervalMs: 'CASCADE_POLL_INTERVAL_MS',
  claimAfterMs: 'CASCADE_CLAIM_AFTER_MS',
  sweepIntervalMs: 'CASCADE_SWEEP_INTERVAL_MS',
  sweepOverlapMs: 'CASCADE_SWEEP_OVERLAP_MS',
  adminToken: 'CASCADE_ADMIN_TOKEN',
  internalTokenSecret: INTERNAL_TOKEN_SECRET_ENV,
};

const SECRET_KEYS = ['sembleToken', 'hubspotToken', 'stripeSecretKey', 'goCardlessAccessToken', 'redisUrl', 'busToken', 'adminToken', 'internalTokenSecret'] as const;

export function loadCascadeConfig(env: NodeJS.ProcessEnv): CascadeConfig {
  const text = (value: string | undefined) => (value === undefined || value === '' ? undefined : value);
  const numeric = new Set<keyof CascadeConfig>(['port', 'vendorTimeoutMs', 'pollIntervalMs', 'claimAfterMs', 'sweepIntervalMs', 'sweepOverlapMs']);
  const input = Object.fromEntries(
    (Object.entries(ENV_KEYS) as Array<[keyof CascadeConfig, string]>).map(([key, variable]) => [
      key,
      numeric.has(key) ? envInt(env[variable]) : key === 'worker' ? envBool(env[variable]) : text(env[variable]),
    ]),
  );
  return parseConfig(schema, input, {
    keyOf: (path) => ENV_KEYS[path[0] as keyof CascadeConfig] ?? path.join('.'),
    secretKeys: SECRET_KEYS.map((key) => ENV_KEYS[key]),
  });
}
