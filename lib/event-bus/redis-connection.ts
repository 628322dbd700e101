/**
 * One Redis connection that fails fast and reconnects on demand: the bus's commands reject
 * within a bounded time when Redis is down (so a webhook is not acknowledged), and no
 * background reconnect timer outlives close().
 *
 * Why not node-redis's own reconnect loop: with it, commands issued during an outage either
 * queue (the offline queue; a publish would hang until Redis returns) or, with
 * `disableOfflineQueue`, reject while a timer keeps retrying in the background — a timer that
 * can outlive close(). Here `reconnectStrategy: false` ends the client on the first socket
 * error, and the next command opens a fresh one (one attempt, bounded by connectTimeoutMs).
 */
import { createClient } from 'redis';

export type RedisClient = ReturnType<typeof createClient>;

export interface RedisConnectionOptions {
  url: string;
  /** Limit for connecting: the TCP connect and node-redis's handshake together. */
  connectTimeoutMs: number;
  /** Limit for one command's reply, on top of a blocking command's own BLOCK time. */
  commandTimeoutMs: number;
}

export interface RedisConnection {
  /**
   * Runs `command` on a ready client, connecting first if needed. Rejects when Redis cannot be
   * reached within connectTimeoutMs or the reply takes longer than commandTimeoutMs +
   * `extraMs` (then the connection is dropped, since it is probably half-open).
   */
  run<T>(command: (client: RedisClient) => Promise<T>, extraMs?: number): Promise<T>;
  /** Connects now (so a caller can fail early); same errors as run(). */
  ready(): Promise<void>;
  /** Graceful for the connection's own commands; aborts a blocking read in progress. */
  close(options?: { abort?: boolean }): Promise<void>;
}

export class RedisTimeoutError extends Error {
  readonly code = 'REDIS_TIMEOUT';
  constructor(ms: number) {
    super(`Redis did not answer within ${ms} ms`);
    this.name = 'RedisTimeoutError';
  }
}

function drop(client: RedisClient | undefined): void {
  // destroy() throws ClientClosedError on a client that already ended itself after a socket
  // error (reconnectStrategy: false), which is exactly the case being cleaned up here.
  if (client?.isOpen) client.destroy();
}

export function createRedisConnection(options: RedisConnectionOptions): RedisConnection {
  let current: RedisClient | undefined;
  let connecting: Promise<RedisClient> | undefined;
  let closed = false;

  async function connect(): Promise<RedisClient> {
    const client = createClient({
      url: options.url,
      // Commands sent while the socket is down reject at once instead of waiting for it.
      disableOfflineQueue: true,
      socket: { connectTimeout: options.connectTimeoutMs, reconnectStrategy: false },
    });
    // node-redis reports socket errors as events as well as by rejecting the affected
    // commands; the commands are where they are handled. Without a listener Node would throw.
    client.on('error', () => undefined);
    // connectTimeout covers only the TCP connect; a peer that accepts and then never answers
    // would hang node-redis's handshake, so the whole connect gets the same deadline.
    const limit = options.connectTimeoutMs;
    let timer: NodeJS.Timeout | undefined;
    const connected = client.connect();
    connected.catch(() => undefined);
    try {
      await Promise.race([
        connected,
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => {
            drop(client);
            reject(new RedisTimeoutError(limit));
          }, limit);
        }),
      ]);
    } finally {
      clearTimeout(timer);
    }
    if (closed) {
      drop(client);
      throw new Error('event bus is closed');
    }
    return client;
  }

  async function ready(): Promise<RedisClient> {
    if (closed) throw new Error('event bus is closed');
    if (current?.isReady) return current;
    if (!connecting) {
      drop(current);
      current = undefined;
      connecting = connect()
        .then((client) => (current = client))
        .finally(() => (connecting = undefined));
    }
    return connecting;
  }

  return {
    async run<T>(command: (client: RedisClient) => Promise<T>, extraMs = 0): Promise<T> {
      const client = await ready();
      const pending = command(client);
      const limit = options.commandTimeoutMs + extraMs;
      let timer: NodeJS.Timeout | undefined;
      const deadline = new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          // A reply this late means a dead or half-open socket: start afresh next time.
          if (current === client) current = undefined;
          drop(client);
          reject(new RedisTimeoutError(limit));
        }, limit);
      });
      // The losing side of the race must not become an unhandled rejection.
      pending.catch(() => undefined);
      try {
        return await Promise.race([pending, deadline]);
      } finally {
        clearTimeout(timer);
      }
    },

    async ready(): Promise<void> {
      await ready();
    },

    async close(closeOptions?: { abort?: boolean }): Promise<void> {
      if (closed) return;
      closed = true;
      await connecting?.catch(() => undefined);
      const client = current;
      current = undefined;
      if (!client?.isOpen) return;
      if (closeOptions?.abort || !client.isReady) {
        client.destroy();
        return;
      }
      // Waits for replies already on the way (e.g. an XACK), then closes the socket.
      await client.close().catch(() => drop(client));
    },
  };
}
