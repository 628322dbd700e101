/**
 * Replay de-duplication for webhook ingress: remembering which vendor event ids were already
 * accepted, for long enough to cover the vendors' retry schedules. Two implementations: memory
 * (one process, the embedded default) and Redis (SET NX PX, shared by every replica).
 *
 * Keys are vendor event ids, never record contents: they are safe to store and to log. Only
 * ids a vendor keeps across retries of one event are used, so a key seen before is provably a
 * repeat; Semble, which sends none, is not de-duplicated at all (router.ts).
 */
import { createRedisConnection } from '../../../../lib/event-bus/redis-connection';

/**
 * What a claim found: `claimed`, the first delivery of the key (now pending until confirmed);
 * `pending`, another delivery of it is being handed on right now (it may still fail, so this one
 * must not be acknowledged as a duplicate); `seen`, it was handed on before.
 */
export type ClaimResult = 'claimed' | 'pending' | 'seen';

export interface WebhookDedupe {
  /**
   * Claims `key`. A claim is pending (for at most PENDING_TTL_MS, so a crashed receiver does not
   * block retries for long) until `confirm` makes it seen for `ttlMs` (default: the
   * implementation's). Rejects when the store cannot be reached: the caller must then not
   * acknowledge the delivery.
   */
  claim(key: string, ttlMs?: number): Promise<ClaimResult>;
  /** The delivery is on the bus: remember the key as seen for `ttlMs`. */
  confirm(key: string, ttlMs?: number): Promise<void>;
  /** Forgets `key`: the delivery could not be handed on, so its retry must be accepted again. */
  release(key: string): Promise<void>;
  close(): Promise<void>;
}

/** How long a claim stays pending without a confirm or release before retries get through. */
export const PENDING_TTL_MS = 60_000;

/**
 * How long an event id is remembered. Stripe retries for up to three days and HubSpot for a
 * day; a week covers both with room, and a replay after that only re-sends a hint (the worker
 * re-reads the record, so a late duplicate changes nothing).
 */
export const DEFAULT_DEDUPE_TTL_MS = 7 * 24 * 60 * 60 * 1000;

function positiveTtl(ttlMs: number | undefined, fallback: number): number {
  const ttl = ttlMs ?? fallback;
  if (!Number.isSafeInteger(ttl) || ttl < 1) throw new RangeError(`ttlMs: expected a positive integer, got ${String(ttl)}`);
  return ttl;
}

function checkKey(key: unknown): string {
  if (typeof key !== 'string' || key === '') throw new TypeError('key: expected a non-empty string');
  return key;
}

export interface MemoryWebhookDedupeOptions {
  /** @default DEFAULT_DEDUPE_TTL_MS */
  ttlMs?: number;
  /** Keys kept at most; the oldest are forgotten first. @default 100000 */
  maxEntries?: number;
  /** Current time in epoch ms; injectable for tests. @default Date.now */
  now?: () => number;
}

/** A Map of key → expiry. No timer: expired keys are dropped as claims pass by. */
export function createMemoryWebhookDedupe(options: MemoryWebhookDedupeOptions = {}): WebhookDedupe {
  const defaultTtl = positiveTtl(options.ttlMs, DEFAULT_DEDUPE_TTL_MS);
  const maxEntries = options.maxEntries ?? 100_000;
  const now = options.now ?? Date.now;
  const expiries = new Map<string, { expiresAt: number; pending: boolean }>();
  let claimsSinceSweep = 0;

  function sweep(at: number): void {
    for (const [key, entry] of expiries) if (entry.expiresAt <= at) expiries.delete(key);
  }

  return {
    async claim(key: string, ttlMs?: number): Promise<ClaimResult> {
      checkKey(key);
      const ttl = positiveTtl(ttlMs, defaultTtl);
      const at = now();
      // Keys of different TTLs interleave, so a full sweep now and then (amortised O(1)).
      claimsSinceSweep += 1;
      if (claimsSinceSweep >= 1000) {
        claimsSinceSweep = 0;
        sweep(at);
      }
      const existing = expiries.get(key);
      if (existing !== undefined && existing.expiresAt > at) return existing.pending ? 'pending' : 'seen';
      expiries.delete(key); // re-inserted last, so Map order stays roughly oldest first
      expiries.set(key, { expiresAt: at + Math.min(ttl, PENDING_TTL_MS), pending: true });
      while (expiries.size > maxEntries) {
        const oldest = expiries.keys().next().value as string;
        expiries.delete(oldest);
      }
      return 'claimed';
    },
    async confirm(key: string, ttlMs?: number): Promise<void> {
      const ttl = positiveTtl(ttlMs, defaultTtl);
      expiries.set(checkKey(key), { expiresAt: now() + ttl, pending: false });
    },
    async release(key: string): Promise<void> {
      expiries.delete(checkKey(key));
    },
    async close(): Promise<void> {
      expiries.clear();
    },
  };
}

export interface RedisWebhookDedupeOptions {
  url: string;
  /** Prefix of every key written. @default 'pg:webhook-dedupe:' */
  keyPrefix?: string;
  /** @default DEFAULT_DEDUPE_TTL_MS */
  ttlMs?: number;
  /** Limit for connecting; a claim while Redis is down rejects within about this. @default 1000 */
  connectTimeoutMs?: number;
  /** Limit for one reply. @default 2000 */
  commandTimeoutMs?: number;
}

/**
 * SET key NX PX ttl: atomic across replicas, so two replicas receiving the same retry do not
 * both publish it. Uses the event bus's fail-fast connection, so a claim during an outage
 * rejects promptly (the delivery is answered 503 and retried) instead of queueing.
 */
export function createRedisWebhookDedupe(options: RedisWebhookDedupeOptions): WebhookDedupe {
  const keyPrefix = options.keyPrefix ?? 'pg:webhook-dedupe:';
  const defaultTtl = positiveTtl(options.ttlMs, DEFAULT_DEDUPE_TTL_MS);
  const connection = createRedisConnection({
    url: options.url,
    connectTimeoutMs: options.connectTimeoutMs ?? 1000,
    commandTimeoutMs: options.commandTimeoutMs ?? 2000,
  });
  return {
    async claim(key: string, ttlMs?: number): Promise<ClaimResult> {
      const full = keyPrefix + checkKey(key);
      const ttl = positiveTtl(ttlMs, defaultTtl);
      const pendingTtl = Math.min(ttl, PENDING_TTL_MS);
      const reply = await connection.run((client) => client.set(full, 'pending', { condition: 'NX', expiration: { type: 'PX', value: pendingTtl } }));
      if (reply === 'OK') return 'claimed';
      const state = await connection.run((client) => client.get(full));
      // Gone between the two commands: it was released or expired, so this delivery is not a
      // replay of anything handed on; let the vendor retry rather than guess.
      return state === 'pending' || state === null ? 'pending' : 'seen';
    },
    async confirm(key: string, ttlMs?: number): Promise<void> {
      const full = keyPrefix + checkKey(key);
      const ttl = positiveTtl(ttlMs, defaultTtl);
      await connection.run((client) => client.set(full, 'seen', { expiration: { type: 'PX', value: ttl } }));
    },
    async release(key: string): Promise<void> {
      const full = keyPrefix + checkKey(key);
      await connection.run((client) => client.del(full));
    },
    close: () => connection.close(),
  };
}
