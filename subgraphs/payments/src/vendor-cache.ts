/**
 * The payments subgraph's upstream cache (design.md, resolver-level caching, layer 2): vendor
 * responses kept for a short TTL in lib/cache's store (in-process memory, or Redis shared by
 * every instance of the subgraph), so that the same question asked again within the TTL costs
 * the vendor nothing and the subgraph stays inside the vendors' rate limits. The loaders decide
 * what is cached under which key and tags; this module owns reading through the store (look
 * every key up, load only the misses, store what loaded without error) and eviction by tag.
 *
 * A load that was in flight while one of its tags was evicted does not store what it loaded:
 * it may have read the vendor before the change the eviction is about, and would otherwise put
 * the old value back for a whole TTL.
 *
 * Turned off (VENDOR_CACHE_ENABLED=false), every read goes to the vendor.
 */
import crypto from 'node:crypto';
import { CACHE_SECRET_BYTES, decodeCacheSecret } from '../../../lib/cache/sealing';
import { createCacheStore } from '../../../lib/cache/store';
import type { CacheEntry } from '../../../lib/cache/store';
import type { Logger } from '../../../lib/logger';
import type { PaymentsConfig } from './config';

/** Where one value is kept: its key (anything: the store hashes it) and the tags that evict it. */
export interface CacheSlot {
  key: string;
  tags: readonly string[];
}

/** Where each item's value is kept: its key, and the tags that evict it (which may name what the value holds). */
export interface CacheSlots<Item, Value> {
  keyOf(item: Item): string;
  tagsOf(item: Item, value: Value): readonly string[];
}

export interface VendorCache {
  /**
   * One value or Error per item, in order: from the cache where it holds one, else from `load`,
   * which is given the misses only (in order) and answers each with a value or an Error. The
   * values are stored before this resolves, so the next request finds them; Errors never are.
   * A `load` that throws stores nothing and rejects this.
   */
  readThrough<Item, Value>(items: readonly Item[], slots: CacheSlots<Item, Value>, load: (misses: Item[]) => Promise<Array<Value | Error>>): Promise<Array<Value | Error>>;
  /** One value, the same way; a `load` that throws stores nothing and rejects this. */
  readOne<Value>(slot: CacheSlot, load: () => Promise<Value>): Promise<Value>;
  /** Removes every entry tagged with one of `tags`; resolves with how many went. Never rejects. */
  evict(tags: readonly string[]): Promise<number>;
  /**
   * Opens the store's connection (Redis) before the subgraph serves: reads sent while it is
   * still opening fail at once, so a new instance's first requests would all be misses. Never
   * rejects; gives up after the cache timeout.
   */
  ready(): Promise<void>;
  close(): Promise<void>;
}

/** The graph entity an entry is about, as a tag: `Patient:123`. */
export const entityTag = (type: string, id: string) => `${type}:${id}`;

/**
 * Which tags were evicted while loads were in flight, by the number of evictions so far. Only
 * what a load in flight could ask about is remembered: nothing while none is.
 */
function createEvictionLog() {
  let evictions = 0;
  const evictedAt = new Map<string, number>();
  /** Loads in flight by the eviction count when they began (keys ascending: each is the latest count). */
  const inFlight = new Map<number, number>();
  return {
    begin(): number {
      inFlight.set(evictions, (inFlight.get(evictions) ?? 0) + 1);
      return evictions;
    },
    evicted(tags: readonly string[]) {
      evictions += 1;
      if (inFlight.size > 0) for (const tag of tags) evictedAt.set(tag, evictions);
    },
    /** No tag of `tags` was evicted after `since`. */
    untouched(since: number, tags: readonly string[]): boolean {
      return tags.every((tag) => (evictedAt.get(tag) ?? 0) <= since);
    },
    end(since: number) {
      const left = (inFlight.get(since) ?? 1) - 1;
      if (left > 0) inFlight.set(since, left);
      else inFlight.delete(since);
      const oldest = inFlight.keys().next().value;
      if (oldest === undefined) evictedAt.clear();
      else for (const [tag, at] of evictedAt) if (at <= oldest) evictedAt.delete(tag);
    },
  };
}

const passThrough: VendorCache = {
  readThrough: (items, _slots, load) => load([...items]),
  readOne: (_slot, load) => load(),
  evict: async () => 0,
  ready: async () => undefined,
  close: async () => undefined,
};

export function createVendorCache(config: PaymentsConfig, logger: Logger): VendorCache {
  if (!config.vendorCacheEnabled) return passThrough;
  let secret = config.vendorCacheKey ? decodeCacheSecret(config.vendorCacheKey) : undefined;
  if (config.redisUrl && !secret) {
    // Production refuses this (config.ts); elsewhere the cache still works, unshared.
    logger.warn('VENDOR_CACHE_KEY is not set: this instance seals its Redis entries with a key of its own, so instances do not share them');
    secret = crypto.randomBytes(CACHE_SECRET_BYTES);
  }
  const store = createCacheStore({
    namespace: config.vendorCacheKeyPrefix,
    ...(config.redisUrl ? { redisUrl: config.redisUrl } : {}),
    ...(secret ? { secret } : {}),
    timeoutMs: config.vendorCacheTimeoutMs,
    onError: (operation, error) => logger.debug({ operation, err: error.message }, 'vendor cache operation failed; served as a miss'),
    onBreakerChange: (state) => logger.warn({ state }, 'vendor cache breaker changed state'),
  });
  const evictions = createEvictionLog();
  const ttlMs = config.vendorCacheTtlMs;

  async function readThrough<Item, Value>(
    items: readonly Item[],
    slots: CacheSlots<Item, Value>,
    load: (misses: Item[]) => Promise<Array<Value | Error>>,
  ): Promise<Array<Value | Error>> {
    const keys = items.map((item) => slots.keyOf(item));
    const since = evictions.begin();
    try {
      const results: Array<Value | Error | undefined> = await store.getMany<Value>(keys);
      const missing = items.flatMap((_, index) => (results[index] === undefined ? [index] : []));
      if (missing.length === 0) return results as Array<Value | Error>;
      const loaded = await load(missing.map((index) => items[index]!));
      const fresh: Array<CacheEntry<Value>> = [];
      missing.forEach((itemIndex, index) => {
        const value = loaded[index];
        results[itemIndex] = value;
        if (value === undefined || value instanceof Error) return;
        const tags = slots.tagsOf(items[itemIndex]!, value);
        if (evictions.untouched(since, tags)) fresh.push({ key: keys[itemIndex]!, value, ttlMs, tags });
      });
      await store.setMany(fresh);
      return results as Array<Value | Error>;
    } finally {
      evictions.end(since);
    }
  }

  return {
    readThrough,
    async readOne<Value>(slot: CacheSlot, load: () => Promise<Value>) {
      // A load that threw has rejected this already: what is left is a value.
      const [value] = await readThrough<CacheSlot, Value>([slot], { keyOf: (same) => same.key, tagsOf: (same) => same.tags }, async () => [await load()]);
      return value as Value;
    },
    async evict(tags) {
      if (tags.length === 0) return 0;
      // Noted before the store is asked: a load that ends meanwhile must not store.
      evictions.evicted(tags);
      return (await store.invalidate(tags)).total;
    },
    async ready() {
      // Any read connects; this key is never stored.
      await store.getMany(['connection check']);
    },
    close: () => store.close(),
  };
}
