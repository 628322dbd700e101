/**
 * The sync service's configuration: one zod schema, read from the environment once at
 * start-up. A bad value stops start-up with a message naming the environment variable.
 * Vendor defaults point at the local emulators, as the other subgraphs' do. The backfill CLI
 * reads the same variables without INTERNAL_TOKEN_SECRET: it serves no GraphQL.
 */
import os from 'node:os';
import { z } from 'zod';
import { envBool, envInt, parseConfig } from '../../../lib/config';
import { INTERNAL_TOKEN_SECRET_ENV, internalTokenSecretSchema } from '../../../lib/internal-identity';
import { SEED_CALENDAR_ID } from '../../../lib/seed';

const httpUrl = () => z.url({ protocol: /^https?$/ });

/** Everything but the GraphQL endpoint's secret: what the backfill CLI needs too. */
const toolSchema = z.object({
  /** Port of the sync subgraph (and, once mounted, the webhook routes). @default 4005 */
  port: z.number().int().min(0).max(65535).default(4005),
  /** @default 127.0.0.1 */
  host: z.string().min(1).default('127.0.0.1'),
  sembleBaseUrl: httpUrl().default('http://127.0.0.1:4101'),
  sembleToken: z.string().min(1).default('semble-dev-token'),
  hubspotBaseUrl: httpUrl().default('http://127.0.0.1:4102'),
  hubspotToken: z.string().min(1).default('hubspot-dev-token'),
  stripeBaseUrl: httpUrl().default('http://127.0.0.1:4103'),
  stripeSecretKey: z.string().min(1).default('sk_test_patientgraph'),
  goCardlessBaseUrl: httpUrl().default('http://127.0.0.1:4106'),
  goCardlessAccessToken: z.string().min(1).default('gocardless-dev-token'),
  googleCalendarBaseUrl: httpUrl().default('http://127.0.0.1:4104'),
  googleCalendarToken: z.string().min(1).default('google-dev-token'),
  /** The calendar appointments are written to. */
  googleCalendarId: z.string().min(1).default(SEED_CALENDAR_ID),
  /** Per-attempt timeout of every vendor call. @default 10000 */
  vendorTimeoutMs: z.number().int().positive().default(10_000),
  /** With a URL, the sync store and the event bus live in Redis (shared by replicas and workers); in memory otherwise. */
  redisUrl: z.url({ protocol: /^rediss?$/ }).optional(),
  /** Prefix of the bus's Redis keys; must match the gateway's to share topics. @default pg:bus: */
  busKeyPrefix: z.string().min(1).default('pg:bus:'),
  /** Events kept per bus topic; older ones are trimmed (a resume from before them is CURSOR_EXPIRED). @default 100000 */
  busMaxEventsPerTopic: z.number().int().min(1).default(100_000),
  /** Prefix of the sync store's Redis keys. @default pg:sync: */
  syncKeyPrefix: z.string().min(1).default('pg:sync:'),
  /** Semble polling fallback: milliseconds between polls; 0 turns it off. @default 0 (the sweep covers lost Semble webhooks) */
  pollIntervalMs: z.number().int().min(0).default(0),
  /**
   * The reconciliation sweep (sweep.ts), in processes that run the worker: lists what changed in
   * Semble and HubSpot since its checkpoint and repairs what a lost webhook left behind. @default true
   */
  sweepEnabled: z.boolean().default(true),
  /** Milliseconds between the end of one sweep and the start of the next; 0 turns it off. @default 60000 */
  sweepIntervalMs: z.number().int().min(0).default(60_000),
  /** How far before its checkpoints a sweep lists (clock skew, HubSpot's search index lag). @default 30000 */
  sweepOverlapMs: z.number().int().min(0).default(30_000),
  /** Last write wins: changes of a field this close in time (ms) count as simultaneous and the field's owner wins. @default 2000 */
  clockSkewMs: z.number().int().min(0).default(2000),
  /** Run the sync worker in this process (consumer group 'sync-workers'). @default true */
  worker: z.boolean().default(true),
  /** This process's name in the worker consumer group. @default host name + pid */
  workerName: z.string().min(1).default(`${os.hostname()}-${process.pid}`),
  /** Redelivery of an inbox event whose handler failed. @default 30000 */
  workerClaimAfterMs: z.number().int().positive().default(30_000),
  workerMaxDeliveries: z.number().int().positive().default(10),
  /** The URL vendors call this service at (HubSpot signs the full URL it called). @default the address it listens on, e.g. http://127.0.0.1:<port> */
  publicUrl: httpUrl().optional(),
  /** Webhook secrets, comma-separated to allow rotation; a vendor without one has its endpoint disabled (404). */
  hubspotClientSecret: z.string().min(1).optional(),
  stripeWebhookSecret: z.string().min(1).optional(),
  goCardlessWebhookSecret: z.string().min(1).optional(),
  sembleWebhookSecret: z.string().min(1).optional(),
  /** The Google push channel we created, and the token we gave it. */
  googleCalendarChannelId: z.string().min(1).optional(),
  googleCalendarChannelToken: z.string().min(1).optional(),
  /**
   * Serve this service's in-memory bus at /bus for other processes (the gateway) behind this
   * bearer token. Only without REDIS_URL: with Redis, everyone talks to Redis.
   */
  busToken: z.string().min(16).optional(),
  /** Serve the admin routes (admin.ts: backfill inside this service) behind this bearer token; /metrics needs it too. */
  adminToken: z.string().min(16).optional(),
});

const schema = toolSchema.extend({
  /** Verifies the gateway's internal identity tokens; a call without one is refused (lib/internal-identity.ts). */
  internalTokenSecret: internalTokenSecretSchema,
});

export type SyncConfig = z.infer<typeof schema>;
/** The configuration of the backfill CLI, which runs the sync engine without serving GraphQL. */
export type SyncToolConfig = z.infer<typeof toolSchema>;

const ENV_KEYS: Record<keyof SyncConfig, string> = {
  port: 'PORT',
  host: 'HOST',
  sembleBaseUrl: 'SEMBLE_BASE_URL',
  sembleToken: 'SEMBLE_TOKEN',
  hubspotBaseUrl: 'HUBSPOT_BASE_URL',
  hubspotToken: 'HUBSPOT_TOKEN',
  stripeBaseUrl: 'STRIPE_BASE_URL',
  stripeSecretKey: 'STRIPE_SECRET_KEY',
  goCardlessBaseUrl: 'GOCARDLESS_BASE_URL',
  goCardlessAccessToken: 'GOCARDLESS_ACCESS_TOKEN',
  googleCalendarBaseUrl: 'GOOGLE_CALENDAR_BASE_URL',
  googleCalendarToken: 'GOOGLE_CALENDAR_TOKEN',
  googleCalendarId: 'GOOGLE_CALENDAR_ID',
  vendorTimeoutMs: 'SYNC_VENDOR_TIMEOUT_MS',
  redisUrl: 'REDIS_URL',
  busKeyPrefix: 'BUS_KEY_PREFIX',
  busMaxEventsPerTopic: 'BUS_MAX_EVENTS_PER_TOPIC',
  syncKeyPrefix: 'SYNC_KEY_PREFIX',
  pollIntervalMs: 'SYNC_POLL_INTERVAL_MS',
  sweepEnabled: 'SYNC_SWEEP_ENABLED',
  sweepIntervalMs: 'SYNC_SWEEP_INTERVAL_MS',
  sweepOverlapMs: 'SYNC_SWEEP_OVERLAP_MS',
  clockSkewMs: 'SYNC_CLOCK_SKEW_MS',
  worker: 'SYNC_WORKER',
  workerName: 'SYNC_WORKER_NAME',
  workerClaimAfterMs: 'SYNC_WORKER_CLAIM_AFTER_MS',
  workerMaxDeliveries: 'SYNC_MAX_DELIVERIES',
  publicUrl: 'PUBLIC_URL',
  hubspotClientSecret: 'HUBSPOT_CLIENT_SECRET',
  stripeWebhookSecret: 'STRIPE_WEBHOOK_SECRET',
  goCardlessWebhookSecret: 'GOCARDLESS_WEBHOOK_SECRET',
  sembleWebhookSecret: 'SEMBLE_WEBHOOK_SECRET',
  googleCalendarChannelId: 'GOOGLE_CALENDAR_CHANNEL_ID',
  googleCalendarChannelToken: 'GOOGLE_CALENDAR_CHANNEL_TOKEN',
  busToken: 'BUS_TOKEN',
  adminToken: 'SYNC_ADMIN_TOKEN',
  internalTokenSecret: INTERNAL_TOKEN_SECRET_ENV,
};

/** The sync service's configuration. */
export function loadSyncConfig(env: NodeJS.ProcessEnv): SyncConfig {
  return load(schema, env);
}

/** The backfill CLI's: the service's without INTERNAL_TOKEN_SECRET. */
export function loadSyncToolConfig(env: NodeJS.ProcessEnv): SyncToolConfig {
  return load(toolSchema, env);
}

function load<S extends typeof toolSchema>(chosen: S, env: NodeJS.ProcessEnv): z.infer<S> {
  // An empty variable means "unset", so the default applies.
  const text = (value: string | undefined) => (value === undefined || value === '' ? undefined : value);
  return parseConfig(
    chosen,
    {
      port: envInt(env.PORT),
      host: text(env.HOST),
      sembleBaseUrl: text(env.SEMBLE_BASE_URL),
      sembleToken: text(env.SEMBLE_TOKEN),
      hubspotBaseUrl: text(env.HUBSPOT_BASE_URL),
      hubspotToken: text(env.HUBSPOT_TOKEN),
      stripeBaseUrl: text(env.STRIPE_BASE_URL),
      stripeSecretKey: text(env.STRIPE_SECRET_KEY),
      goCardlessBaseUrl: text(env.GOCARDLESS_BASE_URL),
      goCardlessAccessToken: text(env.GOCARDLESS_ACCESS_TOKEN),
      googleCalendarBaseUrl: text(env.GOOGLE_CALENDAR_BASE_URL),
      googleCalendarToken: text(env.GOOGLE_CALENDAR_TOKEN),
      googleCalendarId: text(env.GOOGLE_CALENDAR_ID),
      vendorTimeoutMs: envInt(env.SYNC_VENDOR_TIMEOUT_MS),
      redisUrl: text(env.REDIS_URL),
      busKeyPrefix: text(env.BUS_KEY_PREFIX),
      busMaxEventsPerTopic: envInt(env.BUS_MAX_EVENTS_PER_TOPIC),
      syncKeyPrefix: text(env.SYNC_KEY_PREFIX),
      pollIntervalMs: envInt(env.SYNC_POLL_INTERVAL_MS),
      sweepEnabled: envBool(env.SYNC_SWEEP_ENABLED),
      sweepIntervalMs: envInt(env.SYNC_SWEEP_INTERVAL_MS),
      sweepOverlapMs: envInt(env.SYNC_SWEEP_OVERLAP_MS),
      clockSkewMs: envInt(env.SYNC_CLOCK_SKEW_MS),
      worker: envBool(env.SYNC_WORKER),
      workerName: text(env.SYNC_WORKER_NAME),
      workerClaimAfterMs: envInt(env.SYNC_WORKER_CLAIM_AFTER_MS),
      workerMaxDeliveries: envInt(env.SYNC_MAX_DELIVERIES),
      publicUrl: text(env.PUBLIC_URL),
      hubspotClientSecret: text(env.HUBSPOT_CLIENT_SECRET),
      stripeWebhookSecret: text(env.STRIPE_WEBHOOK_SECRET),
      goCardlessWebhookSecret: text(env.GOCARDLESS_WEBHOOK_SECRET),
      sembleWebhookSecret: text(env.SEMBLE_WEBHOOK_SECRET),
      googleCalendarChannelId: text(env.GOOGLE_CALENDAR_CHANNEL_ID),
      googleCalendarChannelToken: text(env.GOOGLE_CALENDAR_CHANNEL_TOKEN),
      busToken: text(env.BUS_TOKEN),
      adminToken: text(env.SYNC_ADMIN_TOKEN),
      internalTokenSecret: text(env[INTERNAL_TOKEN_SECRET_ENV]),
    },
    {
      keyOf: (path) => ENV_KEYS[path[0] as keyof SyncConfig] ?? path.join('.'),
      secretKeys: [
        ENV_KEYS.sembleToken,
        ENV_KEYS.hubspotToken,
        ENV_KEYS.stripeSecretKey,
        ENV_KEYS.goCardlessAccessToken,
        ENV_KEYS.googleCalendarToken,
        ENV_KEYS.redisUrl,
        ENV_KEYS.hubspotClientSecret,
        ENV_KEYS.stripeWebhookSecret,
        ENV_KEYS.goCardlessWebhookSecret,
        ENV_KEYS.sembleWebhookSecret,
        ENV_KEYS.googleCalendarChannelToken,
        ENV_KEYS.busToken,
        ENV_KEYS.adminToken,
        ENV_KEYS.internalTokenSecret,
      ],
    },
  );
}
