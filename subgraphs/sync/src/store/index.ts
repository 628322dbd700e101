/** The sync store's public surface, and the one place that picks Redis (with a URL) or memory. */
import { createMemorySyncStore } from './memory';
import { createRedisSyncStore } from './redis';
import type { SyncStore } from './types';

export * from './types';
export { createMemorySyncStore } from './memory';
export { createRedisSyncStore } from './redis';
export type { RedisSyncStoreOptions } from './redis';

export function createSyncStore(config: { redisUrl?: string; keyPrefix?: string }): SyncStore {
  return config.redisUrl ? createRedisSyncStore({ url: config.redisUrl, keyPrefix: config.keyPrefix }) : createMemorySyncStore();
}
