/**
 * The rate limits' configuration: one zod schema, part of the gateway's (config.ts reads it from
 * RATE_LIMIT_* variables, REDIS_URL and the `rateLimit` section of the config file).
 */
import { z } from 'zod';

export const rateLimitConfigSchema = z.object({
  /** Rate limits at all. RATE_LIMIT_ENABLED=false turns them off. @default true */
  enabled: z.boolean().default(true),
  /**
   * Requests one token subject may make per window: HTTP operations, WebSocket connections and
   * subscribe messages alike, counted over every replica when they share Redis; 0 turns the
   * per-subject limit off. With AUTH_MODE=none (no subjects) it applies per client address. @default 600
   */
  perSubject: z.number().int().min(0).default(600),
  /**
   * Cost units (the operation limits' estimate: each field 1, lists multiplied by their size) one
   * token subject's operations may add up to per window; an operation that would go over is refused
   * with 429 and not charged. The README's overview of 500 patients costs 342,001. 0 turns it off.
   * @default 2000000
   */
  costPerSubject: z.number().int().min(0).default(2_000_000),
  /**
   * Failed authentications one client address may have per window; past it, every request from
   * the address (a valid token too) is refused with 429 before its token is verified, until the
   * window ends. A successful authentication does not count. 0 turns it off. @default 30
   */
  failedAuthPerIp: z.number().int().min(0).default(30),
  /** Length of a window in seconds (fixed windows: a counter starts with its first request). @default 60 */
  windowSeconds: z.number().int().positive().default(60),
  /** Redis shared by every replica (REDIS_URL); each replica counts on its own in memory when unset. */
  redisUrl: z.url({ protocol: /^rediss?$/ }).optional(),
  /** Prefix of the counters' Redis keys. @default "pg:ratelimit" */
  keyPrefix: z.string().min(1).default('pg:ratelimit'),
  /**
   * A Redis answer slower than this is not waited for: the request is counted by the replica's own
   * memory counter instead, as when Redis is down. @default 100
   */
  redisTimeoutMs: z.number().int().positive().default(100),
});

export type RateLimitConfig = z.infer<typeof rateLimitConfigSchema>;
