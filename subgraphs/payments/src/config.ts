/**
 * The payments subgraph's configuration: one zod schema, read from the environment once by
 * main.ts. Messages name the environment variable and never print a secret.
 */
import { z } from 'zod';
import { decodeCacheSecret } from '../../../lib/cache/sealing';
import { envBool, envInt, parseConfig } from '../../../lib/config';
import { INTERNAL_TOKEN_SECRET_ENV, internalTokenSecretSchema } from '../../../lib/internal-identity';

const ENV_KEYS = {
  port: 'PORT',
  host: 'HOST',
  environment: 'NODE_ENV',
  stripeBaseUrl: 'STRIPE_BASE_URL',
  stripeSecretKey: 'STRIPE_SECRET_KEY',
  timeoutMs: 'STRIPE_TIMEOUT_MS',
  searchMaxClauses: 'STRIPE_SEARCH_MAX_CLAUSES',
  goCardlessBaseUrl: 'GOCARDLESS_BASE_URL',
  goCardlessAccessToken: 'GOCARDLESS_ACCESS_TOKEN',
  goCardlessTimeoutMs: 'GOCARDLESS_TIMEOUT_MS',
  vendorCacheEnabled: 'VENDOR_CACHE_ENABLED',
  vendorCacheTtlMs: 'VENDOR_CACHE_TTL_MS',
  vendorCacheTimeoutMs: 'VENDOR_CACHE_TIMEOUT_MS',
  vendorCacheKey: 'VENDOR_CACHE_KEY',
  vendorCacheKeyPrefix: 'VENDOR_CACHE_KEY_PREFIX',
  redisUrl: 'REDIS_URL',
  busKeyPrefix: 'BUS_KEY_PREFIX',
  busUrl: 'BUS_URL',
  busToken: 'BUS_TOKEN',
  internalTokenSecret: INTERNAL_TOKEN_SECRET_ENV,
} as const;

const schema = z
  .object({
    /** Port the subgraph listens on. @default 4003 */
    port: z.number().int().min(0).max(65535).default(4003),
    /** @default 127.0.0.1 */
    host: z.string().min(1).default('127.0.0.1'),
    /** `production` requires VENDOR_CACHE_KEY with a cache in Redis. @default development */
    environment: z.enum(['development', 'production', 'test']).default('development'),
    /** Stripe's API, or the emulator. @default http://127.0.0.1:4103 */
    stripeBaseUrl: z.url({ protocol: /^https?$/ }).default('http://127.0.0.1:4103'),
    /** Secret key, `sk_…`. @default sk_test_patientgraph (the emulator's) */
    stripeSecretKey: z.string().min(1).default('sk_test_patientgraph'),
    /** Per-attempt timeout of a Stripe request. @default 10000 */
    timeoutMs: z.number().int().min(1).default(10_000),
    /** Clauses per Stripe search query (Stripe allows 10). @default 10 */
    searchMaxClauses: z.number().int().min(1).max(100).default(10),
    /** GoCardless's API, or the emulator. @default http://127.0.0.1:4106 */
    goCardlessBaseUrl: z.url({ protocol: /^https?$/ }).default('http://127.0.0.1:4106'),
    /** Access token. @default gocardless-dev-token (the emulator's) */
    goCardlessAccessToken: z.string().min(1).default('gocardless-dev-token'),
    /** Per-attempt timeout of a GoCardless request. @default 10000 */
    goCardlessTimeoutMs: z.number().int().min(1).default(10_000),
    /** Keep vendor responses (Stripe searches, GoCardless listings) in the vendor cache. @default true */
    vendorCacheEnabled: z.boolean().default(true),
    /**
     * How long a vendor response is kept. Short: the cache is there for the vendors' rate limits,
     * and without a bus it is also how long a change can go unseen. @default 30000
     */
    vendorCacheTtlMs: z.number().int().min(1).default(30_000),
    /**
     * A cache read or write that takes longer is given up (a miss: the vendor is asked). Above
     * the gateway's 50 ms: what a miss costs here is a vendor request and a share of its rate
     * limit. @default 100
     */
    vendorCacheTimeoutMs: z.number().int().min(1).default(100),
    /**
     * Secret for the keyed hash of cache keys and the sealing of values in Redis (AES-256-GCM):
     * 64 hex characters or base64 of 32+ bytes. Instances sharing a Redis share entries only when
     * they share it; required with Redis in production.
     */
    vendorCacheKey: z
      .string()
      .refine((text) => decodeCacheSecret(text) !== undefined, { message: 'a key of 32+ bytes: 64 hex characters or base64' })
      .optional(),
    /** Prefix of the vendor cache's Redis keys. @default pg:cache:payments */
    vendorCacheKeyPrefix: z.string().min(1).default('pg:cache:payments'),
    /** Redis for the vendor cache (shared by every instance) and the event bus; memory and no bus of its own when unset. */
    redisUrl: z.url({ protocol: /^rediss?$/ }).optional(),
    /** Prefix of the bus's Redis keys; must match the sync service's to hear its events. @default pg:bus: */
    busKeyPrefix: z.string().min(1).default('pg:bus:'),
    /** Without Redis: follow the bus the sync service serves over HTTP here, with BUS_TOKEN. */
    busUrl: z.url({ protocol: /^https?$/ }).optional(),
    busToken: z.string().min(16).optional(),
    /** Verifies the gateway's internal identity tokens; a call without one is refused (lib/internal-identity.ts). */
    internalTokenSecret: internalTokenSecretSchema,
  })
  .refine((config) => !config.busUrl || config.busToken, { message: 'a token of 16+ characters with BUS_URL', path: ['busToken'] })
  .refine((config) => !(config.environment === 'production' && config.vendorCacheEnabled && config.redisUrl && !config.vendorCacheKey), {
    message: 'a key with the vendor cache in Redis in production (64 hex characters or base64 of 32+ bytes), or VENDOR_CACHE_ENABLED=false',
    path: ['vendorCacheKey'],
  });

export type PaymentsConfig = z.infer<typeof schema>;

export function loadPaymentsConfig(env: NodeJS.ProcessEnv): PaymentsConfig {
  return parseConfig(
    schema,
    {
      port: envInt(env.PORT),
      host: env.HOST || undefined,
      environment: env.NODE_ENV || undefined,
      stripeBaseUrl: env.STRIPE_BASE_URL || undefined,
      stripeSecretKey: env.STRIPE_SECRET_KEY || undefined,
      timeoutMs: envInt(env.STRIPE_TIMEOUT_MS),
      searchMaxClauses: envInt(env.STRIPE_SEARCH_MAX_CLAUSES),
      goCardlessBaseUrl: env.GOCARDLESS_BASE_URL || undefined,
      goCardlessAccessToken: env.GOCARDLESS_ACCESS_TOKEN || undefined,
      goCardlessTimeoutMs: envInt(env.GOCARDLESS_TIMEOUT_MS),
      vendorCacheEnabled: envBool(env.VENDOR_CACHE_ENABLED),
      vendorCacheTtlMs: envInt(env.VENDOR_CACHE_TTL_MS),
      vendorCacheTimeoutMs: envInt(env.VENDOR_CACHE_TIMEOUT_MS),
      vendorCacheKey: env.VENDOR_CACHE_KEY || undefined,
      vendorCacheKeyPrefix: env.VENDOR_CACHE_KEY_PREFIX || undefined,
      redisUrl: env.REDIS_URL || undefined,
      busKeyPrefix: env.BUS_KEY_PREFIX || undefined,
      busUrl: env.BUS_URL || undefined,
      busToken: env.BUS_TOKEN || undefined,
      internalTokenSecret: env[INTERNAL_TOKEN_SECRET_ENV] || undefined,
    },
    {
      keyOf: (path) => ENV_KEYS[path[0] as keyof typeof ENV_KEYS] ?? path.join('.'),
      secretKeys: ['STRIPE_SECRET_KEY', 'GOCARDLESS_ACCESS_TOKEN', 'VENDOR_CACHE_KEY', 'BUS_TOKEN', INTERNAL_TOKEN_SECRET_ENV],
    },
  );
}
