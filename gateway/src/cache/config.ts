/**
 * The entity cache's configuration: one zod schema, part of the gateway's (config.ts reads it
 * from CACHE_* variables and the `cache` section of the config file).
 */
import { z } from 'zod';
import { decodeCacheSecret } from '../../../lib/cache/sealing';

const typeSettings = z.object({
  /** Cache this type (subgraph: anything of this subgraph) at all. @default true */
  enabled: z.boolean().optional(),
  /** Keep an entry at most this long, whatever the subgraph's hint says. */
  maxTtlSeconds: z.number().int().min(0).optional(),
});

const subgraphSettings = typeSettings.extend({
  /** Per type (`Query` for the subgraph's root fetches). */
  types: z.record(z.string(), typeSettings).default({}),
});

export const cacheConfigSchema = z.object({
  /** The entity cache, for every subgraph. CACHE_ENABLED=false turns it off. @default true */
  enabled: z.boolean().default(true),
  /** Redis shared by every replica (CACHE_REDIS_URL, else REDIS_URL); in-process memory when unset. */
  redisUrl: z.url({ protocol: /^rediss?$/ }).optional(),
  /**
   * Secret for the keyed hash of cache keys and for sealing values in Redis (AES-256-GCM): 64
   * hex characters or base64 of 32+ bytes. Required with Redis in production; replicas sharing
   * a Redis must share it.
   */
  secret: z
    .string()
    .refine((text) => decodeCacheSecret(text) !== undefined, { message: 'a key of 32+ bytes: 64 hex characters or base64' })
    .optional(),
  /** Prefix of the cache's Redis keys. @default "pg:cache:gateway" */
  keyPrefix: z.string().min(1).default('pg:cache:gateway'),
  /** No entry is kept longer than this, whatever the hints say. @default 3600 */
  maxTtlSeconds: z.number().int().min(0).default(3600),
  /** A cache read or write that takes longer is given up: a miss, never a slow request. @default 50 */
  timeoutMs: z.number().int().positive().default(50),
  /** Bounds of the in-memory LRU. */
  memory: z
    .object({
      /** @default 50000 */
      maxEntries: z.number().int().positive().default(50_000),
      /** @default 67108864 (64 MiB) */
      maxBytes: z.number().int().positive().default(64 * 1024 * 1024),
    })
    .prefault({}),
  /** Say in each response's `extensions.cache` which fetches the cache served. @default true outside production */
  trace: z.boolean().optional(),
  /** Per subgraph (by its supergraph name): on/off and a TTL cap, also per type. */
  subgraphs: z.record(z.string(), subgraphSettings).default({}),
  /**
   * Bus topics whose events evict entities: `entities` maps a type to the payload property that
   * holds its id (a string or a list of them); without it the payload must carry
   * `entities: [{ type, id }]`.
   */
  invalidation: z
    .array(z.object({ topic: z.string().min(1), entities: z.record(z.string(), z.string()).optional() }))
    .default([]),
  /**
   * Evict an event's entities once more after this long, in case a request that read the old
   * value from a subgraph's own cache stored it again meanwhile; 0 turns it off. @default 1000
   */
  redeleteAfterMs: z.number().int().min(0).default(1000),
});

export type CacheConfig = z.infer<typeof cacheConfigSchema>;

/** The longest an entry of `type` from `subgraph` may live, in seconds; undefined: not cached. */
export function ttlCapOf(config: CacheConfig, subgraph: string, type: string): number | undefined {
  if (!config.enabled) return undefined;
  const forSubgraph = config.subgraphs[subgraph];
  const forType = forSubgraph?.types[type];
  if (forSubgraph?.enabled === false || forType?.enabled === false) return undefined;
  return Math.min(config.maxTtlSeconds, forSubgraph?.maxTtlSeconds ?? Infinity, forType?.maxTtlSeconds ?? Infinity);
}
