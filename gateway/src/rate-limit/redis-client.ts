/**
 * The rate limits' Redis connection (node-redis): it never makes a request wait for Redis.
 *
 * - Commands fail at once while the connection is down (no offline queue) and node-redis
 *   reconnects in the background; the caller counts in memory meanwhile.
 * - A Redis that stops answering without closing the connection (half-open, stalled) would keep
 *   every command waiting, and queued: when a command times out, the caller calls stalled() and
 *   the connection is replaced, which fails whatever was still waiting on the old one.
 *
 * `store` is what RateLimiterRedis is given: it always speaks through the current connection.
 */
import { createClient } from 'redis';
import type { Logger } from '../../../lib/logger';

type NodeRedisClient = ReturnType<typeof createClient>;

export interface RateLimitRedis {
  /** The client RateLimiterRedis uses (`useRedisPackage`): `isReady`, `eval` and `multi` of the current connection. */
  store: object;
  /** A command timed out: replace the connection (once per connection). */
  stalled(): void;
  stop(): void;
}

/** How long start-up waits for Redis, and a connection attempt may take. */
const CONNECT_TIMEOUT_MS = 2000;

/** Connects to `url`, waiting at most CONNECT_TIMEOUT_MS for it: counting starts in memory if Redis is not there yet. */
export async function connectRateLimitRedis(url: string, logger: Logger): Promise<RateLimitRedis> {
  let available: boolean | undefined;
  let stopped = false;

  const open = (): { client: NodeRedisClient; settled: Promise<void> } => {
    const client = createClient({
      url,
      disableOfflineQueue: true,
      socket: { connectTimeout: CONNECT_TIMEOUT_MS, reconnectStrategy: (retries: number) => Math.min(100 * 2 ** retries, 2000) },
    });
    const settled = new Promise<void>((resolve) => {
      client.on('ready', () => {
        if (available === false) logger.info('rate limits: Redis is back; the replicas count together again');
        available = true;
        resolve();
      });
      // node-redis reports socket errors as events; the commands they fail are counted in memory.
      client.on('error', (error: Error) => {
        if (available !== false) logger.warn({ err: error.message }, 'rate limits: Redis is unavailable; each replica counts on its own until it is back');
        available = false;
        resolve();
      });
    });
    client.connect().catch(() => undefined);
    return { client, settled };
  };

  const first = open();
  let current = first.client;
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([first.settled, new Promise<void>((resolve) => (timer = setTimeout(resolve, CONNECT_TIMEOUT_MS)))]);
  clearTimeout(timer);

  const drop = (client: NodeRedisClient) => {
    // A client that ended itself has nothing left to destroy (destroy() would throw).
    if (client.isOpen) client.destroy();
  };

  return {
    store: {
      get isReady() {
        return current.isReady;
      },
      eval: (...args: Parameters<NodeRedisClient['eval']>) => current.eval(...args),
      multi: () => current.multi(),
    },
    stalled() {
      // Only a connection that still looks fine is replaced: one that is reconnecting already is left to it.
      if (stopped || !current.isReady) return;
      if (available !== false) logger.warn('rate limits: Redis stopped answering; reconnecting, and each replica counts on its own meanwhile');
      available = false;
      const stale = current;
      current = open().client;
      drop(stale);
    },
    stop() {
      stopped = true;
      drop(current);
    },
  };
}
