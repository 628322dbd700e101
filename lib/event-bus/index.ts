/**
 * The event bus's public surface: the interface, both implementations, the one place that
 * picks between them from configuration (Redis with a URL, memory without), and the HTTP host
 * and remote client through which another process follows an in-memory bus.
 */
import { createMemoryEventBus } from './memory';
import { createRedisEventBus } from './redis';
import type { EventBus } from './types';

export * from './types';
export { createMemoryEventBus } from './memory';
export { createRedisEventBus } from './redis';
export type { RedisEventBusOptions } from './redis';
export { RedisTimeoutError } from './redis-connection';
export { createBusHost, MAX_POLL_WAIT_MS } from './http-host';
export type { BusHost, BusHostOptions } from './http-host';
export { createRemoteEventBus, RemoteEventBusError, REMOTE_CONSUME_UNAVAILABLE } from './remote';
export type { RemoteEventBusOptions, RemoteFetch } from './remote';

export interface EventBusConfig {
  /** Use Redis Streams at this URL; in-process memory when absent. */
  redisUrl?: string;
  /** Prefix of the bus's Redis keys. @default 'pg:bus:' */
  keyPrefix?: string;
  /** Events kept per topic. @default 100000 */
  maxEventsPerTopic?: number;
}

export async function createEventBus(config: EventBusConfig): Promise<EventBus> {
  const options = config.maxEventsPerTopic === undefined ? {} : { maxEventsPerTopic: config.maxEventsPerTopic };
  if (config.redisUrl) {
    return createRedisEventBus({
      ...options,
      url: config.redisUrl,
      ...(config.keyPrefix === undefined ? {} : { keyPrefix: config.keyPrefix }),
    });
  }
  return createMemoryEventBus(options);
}
