/**
 * The gateway's entity cache, put together from configuration: the store (memory, or Redis
 * shared by every replica), the pipeline stage that reads and fills it, and the bus follower
 * that evicts entities named by events. Absent when CACHE_ENABLED=false.
 */
import crypto from 'node:crypto';
import { CACHE_SECRET_BYTES, decodeCacheSecret } from '../../../lib/cache/sealing';
import { createCacheStore } from '../../../lib/cache/store';
import type { CacheBreakerState, CacheStore } from '../../../lib/cache/store';
import type { EventBus } from '../../../lib/event-bus/types';
import type { Logger } from '../../../lib/logger';
import type { SubgraphStage } from '../pipeline/call';
import type { CacheConfig } from './config';
import { entityCacheStage } from './entity-cache-stage';
import { startCacheInvalidation } from './invalidation';
import type { CacheInvalidation } from './invalidation';

export interface EntityCache {
  stage: SubgraphStage;
  store: CacheStore;
  /** Started by follow() when the configuration names invalidation topics. */
  invalidation(): CacheInvalidation | undefined;
  /** Follow the invalidation topics on `bus`. */
  follow(bus: EventBus): Promise<void>;
  describe(): { backend: CacheStore['backend']; breaker: CacheBreakerState; invalidation?: { applied: Record<string, string> } };
  stop(): Promise<void>;
}

export interface EntityCacheDeps {
  logger: Logger;
  metrics: {
    lookup(subgraph: string, type: string, outcome: 'hit' | 'miss', count: number): void;
    /** An event was applied; `byLabel` counts the entries it evicted by `subgraph/type`. */
    applied(topic: string, byLabel: ReadonlyMap<string, number>): void;
    error(operation: string): void;
    breaker(state: CacheBreakerState): void;
  };
}

export function createEntityCache(config: CacheConfig, deps: EntityCacheDeps): EntityCache | undefined {
  if (!config.enabled) return undefined;
  const { logger, metrics } = deps;
  let secret = config.secret ? decodeCacheSecret(config.secret) : undefined;
  if (config.redisUrl && !secret) {
    // Production refuses this (config.ts); in development the cache still works, unshared.
    logger.warn('CACHE_ENCRYPTION_KEY is not set: this replica seals its Redis entries with a key of its own, so replicas do not share them');
    secret = crypto.randomBytes(CACHE_SECRET_BYTES);
  }
  const store = createCacheStore({
    namespace: config.keyPrefix,
    ...(config.redisUrl ? { redisUrl: config.redisUrl } : {}),
    ...(secret ? { secret } : {}),
    memory: config.memory,
    timeoutMs: config.timeoutMs,
    onError: (operation, error) => {
      metrics.error(operation);
      logger.debug({ operation, err: error.message }, 'cache operation failed; served as a miss');
    },
    onBreakerChange: (state) => metrics.breaker(state),
  });
  const stage = entityCacheStage({ store, config, observer: { onLookup: metrics.lookup }, logger });
  let invalidation: CacheInvalidation | undefined;
  return {
    stage,
    store,
    invalidation: () => invalidation,
    async follow(bus) {
      if (config.invalidation.length === 0) return;
      invalidation = await startCacheInvalidation({
        bus,
        store,
        rules: config.invalidation,
        redeleteAfterMs: config.redeleteAfterMs,
        logger,
        onApplied: (topic, evicted) => metrics.applied(topic, evicted.byLabel),
      });
    },
    describe: () => ({
      backend: store.backend,
      breaker: store.breakerState(),
      ...(invalidation ? { invalidation: { applied: invalidation.applied() } } : {}),
    }),
    async stop() {
      await invalidation?.stop();
      await store.close();
    },
  };
}
