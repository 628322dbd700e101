/**
 * A tagged key-value cache behind Keyv: in-process memory (a bounded LRU, the embedded
 * default) or Redis through @keyv/redis (shared by every replica). Used by the gateway's entity
 * cache and by the subgraphs' vendor-response caches.
 *
 * What it guarantees, whatever the backend does:
 * - Keys and tags are hashed with a keyed hash before they reach the backend (no patient data
 *   in a key), and values stored in Redis are sealed with AES-256-GCM (sealing.ts).
 * - Every entry carries tags (e.g. `Patient:123`); invalidate(tags) removes every entry with
 *   one of them through a per-tag index, without scanning the cache.
 * - A cache that is down, slow or broken is a miss: no method throws, reads give up after
 *   `timeoutMs`, and after `breaker.failures` consecutive failures a breaker answers "miss" at
 *   once until a probe after `breaker.halfOpenAfterMs` succeeds.
 */
import crypto from 'node:crypto';
import { ConsecutiveBreaker, TimeoutStrategy, circuitBreaker, handleAll, timeout, wrap } from 'cockatiel';
import type { IPolicy } from 'cockatiel';
import { Keyv } from 'keyv';
import KeyvRedis from '@keyv/redis';
import type { RedisClientType } from '@keyv/redis';
import { LRUCache } from 'lru-cache';
import { CACHE_SECRET_BYTES, createSealer } from './sealing';
import type { Sealer } from './sealing';

export interface CacheEntry<V> {
  /** The logical key (it may hold anything: it is hashed before use). */
  key: string;
  value: V;
  /** Milliseconds; an entry with ttlMs <= 0 is not stored. */
  ttlMs: number;
  /** Logical tags (hashed before use), e.g. `Patient:123`. */
  tags: readonly string[];
  /**
   * What the entry is, for counting evictions (e.g. `notes/Person`); kept in clear beside the
   * tag index, so never anything that identifies a patient. @default ''
   */
  label?: string;
}

/** What an invalidation removed: entries in all, and per label. */
export interface Evicted {
  total: number;
  byLabel: Map<string, number>;
}

export type CacheBackend = 'memory' | 'redis';
export type CacheBreakerState = 'closed' | 'open' | 'half-open';

export interface CacheStore {
  readonly backend: CacheBackend;
  /** One value (or undefined: absent, expired, unreadable, or the cache failed) per key, in order. */
  getMany<V>(keys: readonly string[]): Promise<Array<V | undefined>>;
  /** Stores the entries and indexes them by tag. Resolves when done or given up; never rejects. */
  setMany<V>(entries: ReadonlyArray<CacheEntry<V>>): Promise<void>;
  /** Removes every entry tagged with one of `tags`; resolves with what was removed. */
  invalidate(tags: readonly string[]): Promise<Evicted>;
  /** The breaker around the backend (always closed for memory). */
  breakerState(): CacheBreakerState;
  close(): Promise<void>;
}

export interface CacheStoreOptions {
  /** Redis URL (`redis://` or `rediss://`); in-process memory when absent. */
  redisUrl?: string;
  /** Prefix of every Redis key, e.g. `pg:cache:gateway` (keys become `<namespace>::<hash>`). */
  namespace: string;
  /**
   * Secret (32+ bytes) for hashing keys and sealing values. Required with Redis, where replicas
   * must agree on it; memory makes a random one per process when absent.
   */
  secret?: Buffer;
  /** Bounds of the in-memory LRU. @default { maxEntries: 50000, maxBytes: 64 MiB } */
  memory?: { maxEntries: number; maxBytes: number };
  /** A Redis operation that takes longer is given up (a miss, or a write not made). @default 50 */
  timeoutMs?: number;
  /** @default { failures: 5, halfOpenAfterMs: 5000 } */
  breaker?: { failures: number; halfOpenAfterMs: number };
  /** A backend operation failed (it was treated as a miss). Never given values or keys. */
  onError?: (operation: 'get' | 'set' | 'invalidate', error: Error) => void;
  onBreakerChange?: (state: CacheBreakerState) => void;
}

const DEFAULT_MEMORY = { maxEntries: 50_000, maxBytes: 64 * 1024 * 1024 };
const DEFAULT_BREAKER = { failures: 5, halfOpenAfterMs: 5000 };
/** Longest a tag index lives without being written to again; entries it points at expire sooner. */
const TAG_INDEX_SLACK_MS = 60_000;
const NO_EVICTION = (): Evicted => ({ total: 0, byLabel: new Map() });

function countLabels(labels: Iterable<string>): Evicted {
  const evicted = NO_EVICTION();
  for (const label of labels) {
    evicted.total += 1;
    evicted.byLabel.set(label, (evicted.byLabel.get(label) ?? 0) + 1);
  }
  return evicted;
}

/**
 * How values are written to and read from the backend: sealed in Redis; in memory as they are
 * (Keyv's own JSON serialisation then hands every reader a copy of its own to change).
 */
interface Codec {
  encode(hashedKey: string, value: unknown): unknown;
  decode(hashedKey: string, stored: unknown): unknown;
}

const plainCodec: Codec = {
  encode: (_key, value) => value,
  decode: (_key, stored) => stored,
};

function sealedCodec(sealer: Sealer): Codec {
  return {
    encode: (key, value) => sealer.seal(key, JSON.stringify(value)),
    decode: (key, stored) => {
      if (typeof stored !== 'string') return undefined;
      const opened = sealer.open(key, stored);
      return opened === undefined ? undefined : (JSON.parse(opened) as unknown);
    },
  };
}

/** The backend-specific half: raw strings under hashed keys, and the tag index. */
interface Backend {
  kind: CacheBackend;
  keyv: Keyv<unknown>;
  index(entries: Array<{ key: string; tags: string[]; ttlMs: number; label: string }>): Promise<void>;
  evict(tags: string[]): Promise<Evicted>;
  close(): Promise<void>;
}

/** A Map-shaped LRU for Keyv that keeps Keyv's TTL and reports what it drops. */
class LruStore {
  private readonly lru: LRUCache<string, string | { value: unknown }>;

  constructor(bounds: { maxEntries: number; maxBytes: number }, onDrop: (key: string) => void) {
    this.lru = new LRUCache({
      max: bounds.maxEntries,
      maxSize: bounds.maxBytes,
      sizeCalculation: (stored) => (typeof stored === 'string' ? stored.length : JSON.stringify(stored).length) + 64,
      // 'set' replaces a value under the same key, which keeps the tags just indexed for it.
      dispose: (_value, key, reason) => {
        if (reason !== 'set') onDrop(key);
      },
    });
  }

  get(key: string) {
    return this.lru.get(key);
  }
  set(key: string, value: string, ttl?: number) {
    this.lru.set(key, value, ttl ? { ttl } : undefined);
    return true;
  }
  delete(key: string) {
    return this.lru.delete(key);
  }
  has(key: string) {
    return this.lru.has(key);
  }
  clear() {
    this.lru.clear();
  }
}

/**
 * Entries are JSON (GraphQL answers, sealed strings): plain JSON.parse reads them several times
 * faster than Keyv's default, whose reviver looks at every string for its Buffer encoding.
 */
const PLAIN_JSON = {
  serialize: (data: unknown) => JSON.stringify(data),
  deserialize: <T>(data: string | undefined) => (data === undefined ? undefined : (JSON.parse(data) as T)),
};

function memoryBackend(bounds: { maxEntries: number; maxBytes: number }): Backend {
  const keysByTag = new Map<string, Set<string>>();
  const tagsByKey = new Map<string, { tags: string[]; label: string }>();
  const forget = (key: string) => {
    for (const tag of tagsByKey.get(key)?.tags ?? []) {
      const keys = keysByTag.get(tag);
      keys?.delete(key);
      if (keys?.size === 0) keysByTag.delete(tag);
    }
    tagsByKey.delete(key);
  };
  const store = new LruStore(bounds, forget);
  return {
    kind: 'memory',
    keyv: new Keyv<unknown>({ store, useKeyPrefix: false, ...PLAIN_JSON }),
    async index(entries) {
      for (const { key, tags, label } of entries) {
        forget(key);
        tagsByKey.set(key, { tags, label });
        for (const tag of tags) {
          let keys = keysByTag.get(tag);
          if (!keys) keysByTag.set(tag, (keys = new Set()));
          keys.add(key);
        }
      }
    },
    async evict(tags) {
      const keys = new Set(tags.flatMap((tag) => [...(keysByTag.get(tag) ?? [])]));
      const labels = [...keys].map((key) => tagsByKey.get(key)?.label ?? '');
      for (const key of keys) store.delete(key); // dispose → forget
      return countLabels(labels);
    },
    async close() {
      store.clear();
    },
  };
}

const MEMBER_SEPARATOR = '|';

function redisBackend(url: string, namespace: string, connectTimeoutMs: number): Backend {
  const adapter = new KeyvRedis<string>(
    {
      url,
      // A command sent while Redis is away fails at once (a miss) instead of waiting in a queue.
      disableOfflineQueue: true,
      socket: { connectTimeout: connectTimeoutMs, reconnectStrategy: (retries: number) => Math.min(100 * 2 ** retries, 2000) },
    },
    // No connectionTimeout here: its timer outlives the connect; the socket option and the
    // operation timeout around every call bound a connect already.
    { namespace, throwOnErrors: true, throwOnConnectError: true },
  );
  // node-redis reports socket errors as events too; the failed commands are where they count.
  adapter.on('error', () => undefined);
  const keyv = new Keyv<unknown>({ store: adapter, namespace, useKeyPrefix: false, throwOnErrors: true, ...PLAIN_JSON });
  keyv.on('error', () => undefined);
  const redisKey = (hashedKey: string) => adapter.createKeyPrefix(hashedKey, namespace);
  const tagKey = (hashedTag: string) => adapter.createKeyPrefix(`tag:${hashedTag}`, namespace);
  const client = async () => (await adapter.getClient()) as RedisClientType;
  return {
    kind: 'redis',
    keyv,
    async index(entries) {
      const byTag = new Map<string, { keys: string[]; ttlMs: number }>();
      for (const { key, tags, ttlMs, label } of entries) {
        for (const tag of tags) {
          const slot = byTag.get(tag) ?? { keys: [], ttlMs: 0 };
          // A member is the entry's key and its label: eviction counts by label without reading entries.
          slot.keys.push(`${key}${MEMBER_SEPARATOR}${label}`);
          slot.ttlMs = Math.max(slot.ttlMs, ttlMs);
          byTag.set(tag, slot);
        }
      }
      if (byTag.size === 0) return;
      const multi = (await client()).multi();
      for (const [tag, { keys, ttlMs }] of byTag) {
        const at = tagKey(tag);
        multi.sAdd(at, keys);
        // The index outlives its longest entry a little; NX sets a first expiry, GT only extends.
        multi.pExpire(at, ttlMs + TAG_INDEX_SLACK_MS, 'NX');
        multi.pExpire(at, ttlMs + TAG_INDEX_SLACK_MS, 'GT');
      }
      await multi.exec();
    },
    async evict(tags) {
      const redis = await client();
      const members = await Promise.all(tags.map((tag) => redis.sMembers(tagKey(tag))));
      const entries = [...new Map(members.flat().map((member) => member.split(MEMBER_SEPARATOR) as [string, string | undefined]))];
      if (entries.length === 0) return NO_EVICTION();
      const multi = redis.multi();
      // One DEL per entry: an index can still list an entry another tag already evicted (or
      // that expired), and only what was there counts.
      for (const [key] of entries) multi.del(redisKey(key));
      // Only the members read: an entry indexed meanwhile keeps its tag.
      tags.forEach((tag, index) => {
        if (members[index]!.length > 0) multi.sRem(tagKey(tag), members[index]!);
      });
      const replies = (await multi.exec()) as unknown[];
      return countLabels(entries.filter((_, index) => Number(replies[index]) === 1).map(([, label]) => label ?? ''));
    },
    async close() {
      await adapter.disconnect(true).catch(() => undefined);
    },
  };
}

export function createCacheStore(options: CacheStoreOptions): CacheStore {
  if (options.redisUrl && !options.secret) throw new Error('a cache in Redis needs a secret (replicas must hash keys alike)');
  const sealer = createSealer(options.secret ?? crypto.randomBytes(CACHE_SECRET_BYTES));
  const timeoutMs = options.timeoutMs ?? 50;
  const backend = options.redisUrl
    ? redisBackend(options.redisUrl, options.namespace, Math.max(timeoutMs, 250))
    : memoryBackend(options.memory ?? DEFAULT_MEMORY);
  const codec = backend.kind === 'redis' ? sealedCodec(sealer) : plainCodec;

  // Memory cannot be slow or down; only Redis gets the timeout and the breaker.
  let breakerState: CacheBreakerState = 'closed';
  let guard: IPolicy | undefined;
  if (backend.kind === 'redis') {
    const settings = options.breaker ?? DEFAULT_BREAKER;
    const breaker = circuitBreaker(handleAll, {
      halfOpenAfter: settings.halfOpenAfterMs,
      breaker: new ConsecutiveBreaker(settings.failures),
    });
    breaker.onStateChange((state) => {
      breakerState = state === 0 ? 'closed' : state === 2 ? 'half-open' : 'open';
      options.onBreakerChange?.(breakerState);
    });
    guard = wrap(breaker, timeout(timeoutMs, TimeoutStrategy.Aggressive));
  }
  const run = <T>(operation: 'get' | 'set' | 'invalidate', task: () => Promise<T>, fallback: T): Promise<T> => {
    const attempt = guard ? guard.execute(() => task()) : task();
    return attempt.catch((error: Error) => {
      options.onError?.(operation, error);
      return fallback;
    });
  };

  return {
    backend: backend.kind,
    async getMany<V>(keys: readonly string[]) {
      if (keys.length === 0) return [];
      const hashed = keys.map((key) => sealer.hash(key));
      const misses = keys.map(() => undefined);
      const stored = await run('get', () => backend.keyv.get(hashed) as Promise<unknown[]>, misses);
      return stored.map((raw, index) => {
        if (raw === undefined || raw === null) return undefined;
        try {
          return codec.decode(hashed[index]!, raw) as V | undefined;
        } catch {
          return undefined;
        }
      });
    },
    async setMany<V>(entries: ReadonlyArray<CacheEntry<V>>) {
      const kept = entries.filter((entry) => entry.ttlMs > 0);
      if (kept.length === 0) return;
      const prepared = kept.map((entry) => {
        const key = sealer.hash(entry.key);
        return {
          key,
          value: codec.encode(key, entry.value),
          ttlMs: Math.ceil(entry.ttlMs),
          tags: entry.tags.map((tag) => sealer.hash(tag)),
          label: (entry.label ?? '').replaceAll(MEMBER_SEPARATOR, '/'),
        };
      });
      await run(
        'set',
        async () => {
          // Index first: an entry that exists is always findable by its tags.
          await backend.index(prepared);
          await backend.keyv.setMany(prepared.map(({ key, value, ttlMs }) => ({ key, value, ttl: ttlMs })));
        },
        undefined,
      );
    },
    async invalidate(tags) {
      if (tags.length === 0) return NO_EVICTION();
      return run('invalidate', () => backend.evict([...new Set(tags)].map((tag) => sealer.hash(tag))), NO_EVICTION());
    },
    breakerState: () => breakerState,
    close: () => backend.close(),
  };
}
