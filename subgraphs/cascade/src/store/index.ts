/** The step store: Redis with a URL (shared by replicas), memory otherwise. */
import { createMemoryCascadeStore } from './memory';
import { createRedisCascadeStore } from './redis';
import type { CascadeStore } from './types';

export type { CascadeStore, QueueCounts, StepRecord, StepState, StepError } from './types';

export function createCascadeStore(options: { redisUrl?: string; keyPrefix?: string }): CascadeStore {
  return options.redisUrl ? createRedisCascadeStore({ url: options.redisUrl, ...(options.keyPrefix ? { keyPrefix: options.keyPrefix } : {}) }) : createMemoryCascadeStore();
}
