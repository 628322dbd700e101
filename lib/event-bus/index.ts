/**
 * The event bus's public surface: the interface, both implementations, the places that pick
 * one from configuration (Redis with a URL, memory without; for a process following another's
 * bus, Redis or that process's bus over HTTP), the HTTP host and remote client through which
 * another process follows an in-memory bus, and a resilient follower of one topic.
 */
import { createMemoryEventBus } from './memory';
import { createRedisEventBus } from './redis';
import { createRemoteEventBus } from './remote';
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
export { followTopic } from './follow';
export type { FollowTopicOptions, TopicFollower } from './follow';

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

export interface SharedEventBusConfig extends Omit<EventBusConfig, 'maxEventsPerTopic'> {
  /** Follow the bus another process serves over HTTP (./http-host.ts) here, with `token`. */
  remote?: { url: string; token: string };
}

/**
 * The bus a process shares with others but does not own: Redis Streams with a URL, else the bus
 * another process serves over HTTP (the sync service's, in the embedded default); undefined
 * with neither, since an in-process bus of its own would hear from nobody.
 */
export async function connectSharedEventBus(config: SharedEventBusConfig): Promise<EventBus | undefined> {
  if (config.redisUrl) return createEventBus(config);
  if (config.remote) return createRemoteEventBus(config.remote);
  return undefined;
}
