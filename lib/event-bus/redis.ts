/**
 * The Redis Streams event bus (with REDIS_URL): one stream per topic at `${keyPrefix}${topic}`,
 * consumer groups for work sharing, and blocking reads on dedicated connections so a waiting
 * reader never delays a publish. Requires Redis >= 6.2 (XAUTOCLAIM, exclusive XRANGE starts);
 * tested on 7.0.
 *
 * Retention: publishing runs a small script (XADD, then trimming in batches) that records the
 * newest trimmed id in `${keyPrefix}${topic}:trimmed-through`. That marker is what tells a
 * cursor whose successors were trimmed (expired) from one that merely predates the stream or
 * sits exactly at the trim boundary (nothing missed). XADD's own `MAXLEN ~` cannot do this:
 * it drops entries silently, and Redis 7.0 does not count trimming in max-deleted-entry-id.
 */
import { compareCursors, formatCursor, isLastPossibleCursor, parseCursor } from './cursor';
import type { CursorPosition } from './cursor';
import {
  busClosedError,
  checkHandler,
  checkPublishInput,
  checkTopic,
  resolveConsumeOptions,
  resolveMaxEventsPerTopic,
  resolveReadLimit,
  pause,
} from './inputs';
import { setAside } from './dead-letter';
import { createRedisConnection } from './redis-connection';
import type { RedisClient } from './redis-connection';
import { CursorExpiredError } from './types';
import type {
  BusEvent,
  ConsumeOptions,
  EventBus,
  EventBusOptions,
  PublishInput,
  ReadOptions,
  SubscribeOptions,
  Unsubscribe,
} from './types';

export interface RedisEventBusOptions extends EventBusOptions {
  /** `redis://` or `rediss://` URL. */
  url: string;
  /** Prefix of every key the bus writes. @default 'pg:bus:' */
  keyPrefix?: string;
  /**
   * Limit for connecting to Redis (TCP connect plus handshake). While Redis is unreachable,
   * each publish/read/ping makes one connection attempt and rejects within this (a refused
   * connection at once). @default 1000
   */
  connectTimeoutMs?: number;
  /**
   * Limit for one reply (blocking reads get their BLOCK time on top). A command past it
   * rejects and its connection is dropped, as it is probably half-open. @default 2000
   */
  commandTimeoutMs?: number;
}

/** Entries per replay page (XRANGE COUNT) and per live read (XREAD COUNT). */
const PAGE_SIZE = 100;
/** Longest a live read blocks before looping; bounds how long a dead socket goes unnoticed. */
const SUBSCRIBE_BLOCK_MS = 5000;
/** Longest a consumer blocks; it also looks for stale pending entries at least this often. */
const CONSUME_BLOCK_MAX_MS = 5000;
/** Back-off between attempts while Redis is unreachable. */
const RETRY_MIN_MS = 100;
const RETRY_MAX_MS = 2000;

interface StreamEntry {
  id: string;
  message: Record<string, string>;
}

interface StreamInfo {
  'last-generated-id': string;
}

/**
 * XADD, then trim to maxEventsPerTopic once the stream is `batch` over it, remembering the
 * newest trimmed id. Trimming in batches keeps the cost per publish O(1) amortised, as
 * `MAXLEN ~` does; the stream holds between max and max + batch - 1 entries.
 * KEYS: stream, marker. ARGV: max, batch, type, time, payload.
 */
const PUBLISH_SCRIPT = `
local id = redis.call('XADD', KEYS[1], '*', 'type', ARGV[3], 'time', ARGV[4], 'payload', ARGV[5])
local max = tonumber(ARGV[1])
local excess = redis.call('XLEN', KEYS[1]) - max
if excess >= tonumber(ARGV[2]) then
  local dropped = redis.call('XRANGE', KEYS[1], '-', '+', 'COUNT', excess)
  redis.call('XTRIM', KEYS[1], 'MAXLEN', '=', max)
  redis.call('SET', KEYS[2], dropped[#dropped][1])
end
return id
`;

/** Ordered stream reads as node-redis returns them with RESP2 (its default). */
type StreamsReply = Array<{ name: string; messages: StreamEntry[] }> | null;

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function checkUrl(url: unknown): string {
  let protocol: string | undefined;
  try {
    protocol = typeof url === 'string' ? new URL(url).protocol : undefined;
  } catch {
    protocol = undefined;
  }
  if (protocol !== 'redis:' && protocol !== 'rediss:') {
    // The URL may hold a password: say what is wrong, never echo it.
    throw new TypeError(`url: expected a redis:// or rediss:// URL, got ${typeof url === 'string' ? 'another string' : typeof url}`);
  }
  return url as string;
}

function positiveMs(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value < 1) throw new RangeError(`${name}: expected a positive integer, got ${value}`);
  return value;
}

/**
 * Creates the bus. It does not fail when Redis is unreachable: it tries once, then every
 * command tries again (ping() is false meanwhile), so a replica can start before Redis and
 * report itself unready instead of crash-looping.
 */
export async function createRedisEventBus(options: RedisEventBusOptions): Promise<EventBus> {
  const url = checkUrl(options?.url);
  const keyPrefix = options.keyPrefix ?? 'pg:bus:';
  if (typeof keyPrefix !== 'string') throw new TypeError(`keyPrefix: expected a string, got ${typeof keyPrefix}`);
  const maxEventsPerTopic = resolveMaxEventsPerTopic(options);
  // 1% of retention per trim: rare trims, and never more than 1% over the configured size.
  const trimBatch = Math.max(1, Math.floor(maxEventsPerTopic / 100));
  const connectionOptions = {
    url,
    connectTimeoutMs: positiveMs('connectTimeoutMs', options.connectTimeoutMs, 1000),
    commandTimeoutMs: positiveMs('commandTimeoutMs', options.commandTimeoutMs, 2000),
  };
  // Publishes, ranges, acks and claims share this one; blocking reads each get their own.
  const main = createRedisConnection(connectionOptions);
  const loops = new Set<{ stop(): Promise<void> }>();
  let closed = false;

  await main.ready().catch(() => undefined);

  function assertOpen(): void {
    if (closed) throw busClosedError();
  }

  const keyOf = (topic: string) => `${keyPrefix}${topic}`;

  function toBusEvent(topic: string, entry: StreamEntry): BusEvent {
    const fields = entry.message;
    let payload: unknown;
    try {
      payload = JSON.parse(fields.payload ?? 'null');
    } catch {
      // Not written by this bus; hand over the raw text rather than wedge every reader on it.
      payload = fields.payload;
    }
    return { cursor: entry.id, topic, type: fields.type ?? '', time: fields.time ?? '', payload };
  }

  /** XINFO STREAM, or undefined when the stream does not exist yet. */
  async function streamInfo(client: RedisClient, key: string): Promise<StreamInfo | undefined> {
    try {
      return (await client.xInfoStream(key)) as unknown as StreamInfo;
    } catch (error) {
      if (/no such key/i.test(errorMessage(error))) return undefined;
      throw error;
    }
  }

  const markerOf = (topic: string) => `${keyOf(topic)}:trimmed-through`;

  async function oldestId(key: string): Promise<string | undefined> {
    const [first] = (await main.run((client) => client.xRange(key, '-', '+', { COUNT: 1 }))) as unknown as StreamEntry[];
    return first?.id;
  }

  async function readRange(topic: string, after: CursorPosition | undefined, limit: number): Promise<BusEvent[]> {
    const key = keyOf(topic);
    if (!after) {
      const entries = (await main.run((client) => client.xRange(key, '-', '+', { COUNT: limit }))) as unknown as StreamEntry[];
      return entries.map((entry) => toBusEvent(topic, entry));
    }
    if (isLastPossibleCursor(after)) return []; // Redis rejects an exclusive start past the end
    const [entries, trimmedThrough] = await main.run((client) =>
      // Issued together, so they are pipelined and run in this order. The marker is read
      // after the range: a trim in between can only make the check stricter, never hide a gap.
      Promise.all([
        client.xRange(key, `(${formatCursor(after)}`, '+', { COUNT: limit }) as unknown as Promise<StreamEntry[]>,
        client.get(markerOf(topic)),
      ]),
    );
    // A reader at `after` missed events exactly when an event newer than `after` was trimmed.
    if (trimmedThrough && compareCursors(after, parseCursor(trimmedThrough)) < 0) {
      throw new CursorExpiredError(topic, formatCursor(after), await oldestId(key).catch(() => undefined));
    }
    return entries.map((entry) => toBusEvent(topic, entry));
  }

  function register(stop: () => Promise<void>): Unsubscribe {
    let stopping: Promise<void> | undefined;
    const loop = {
      stop: () => (stopping ??= stop().finally(() => loops.delete(loop))),
    };
    loops.add(loop);
    return () => loop.stop();
  }

  const bus: EventBus = {
    async publish<Payload>(input: PublishInput<Payload>): Promise<BusEvent<Payload>> {
      assertOpen();
      const { topic, type, payloadJson } = checkPublishInput(input);
      const time = new Date().toISOString();
      const cursor = (await main.run((client) =>
        client.eval(PUBLISH_SCRIPT, {
          keys: [keyOf(topic), markerOf(topic)],
          arguments: [String(maxEventsPerTopic), String(trimBatch), type, time, payloadJson],
        }),
      )) as string;
      return { cursor, topic, type, time, payload: JSON.parse(payloadJson) as Payload };
    },

    async read(topic: string, readOptions: ReadOptions = {}): Promise<BusEvent[]> {
      assertOpen();
      checkTopic(topic);
      const limit = resolveReadLimit(readOptions.limit);
      const after = readOptions.after === undefined ? undefined : parseCursor(readOptions.after);
      return readRange(topic, after, limit);
    },

    async subscribe(
      topic: string,
      subscribeOptions: SubscribeOptions,
      onEvent: (event: BusEvent) => void | Promise<void>,
      onError?: (error: Error) => void,
    ): Promise<Unsubscribe> {
      assertOpen();
      checkTopic(topic);
      checkHandler('onEvent', onEvent);
      const after = subscribeOptions?.after === undefined ? undefined : parseCursor(subscribeOptions.after);
      const key = keyOf(topic);
      // Without `after`, "from now" is the stream's last id at this moment: anything published
      // once subscribe() resolves is newer, whenever the first blocking read reaches Redis.
      let last = after ? formatCursor(after) : '0-0';
      if (!after) {
        const info = await main.run((client) => streamInfo(client, key));
        if (info) last = info['last-generated-id'];
      }
      const reader = createRedisConnection(connectionOptions);
      try {
        await reader.ready();
      } catch (error) {
        await reader.close({ abort: true });
        throw error;
      }
      const controller = new AbortController();
      const signal = controller.signal;
      const liveCount = Math.min(PAGE_SIZE, maxEventsPerTopic);

      const deliver = async (event: BusEvent) => {
        last = event.cursor;
        try {
          await onEvent(event);
        } catch (error) {
          // A subscriber's own failure is reported, not retried: redelivery is consume()'s job.
          onError?.(error instanceof Error ? error : new Error(String(error)));
        }
      };

      const done = (async () => {
        // Replay pages go through readRange, which checks for trimmed events; once caught up,
        // blocking reads continue from the last delivered id, so the seam has no gap and no
        // duplicate.
        let catchingUp = after !== undefined;
        let retryMs = RETRY_MIN_MS;
        let reportedOutage = false;
        while (!signal.aborted) {
          try {
            if (catchingUp) {
              const page = await readRange(topic, parseCursor(last), PAGE_SIZE);
              reportedOutage = false;
              retryMs = RETRY_MIN_MS;
              for (const event of page) {
                if (signal.aborted) return;
                await deliver(event);
              }
              if (page.length < PAGE_SIZE) catchingUp = false;
              continue;
            }
            const reply = (await reader.run(
              (client) => client.xRead({ key, id: last }, { BLOCK: SUBSCRIBE_BLOCK_MS, COUNT: liveCount }),
              SUBSCRIBE_BLOCK_MS,
            )) as unknown as StreamsReply;
            reportedOutage = false;
            retryMs = RETRY_MIN_MS;
            const entries = reply?.[0]?.messages ?? [];
            // A full batch means this reader fell behind, maybe past retention; a gap hidden
            // in it would show as a full batch (the stream keeps >= maxEventsPerTopic >=
            // liveCount entries), so re-read it through the checked path instead.
            if (entries.length >= liveCount) {
              catchingUp = true;
              continue;
            }
            for (const entry of entries) {
              if (signal.aborted) return;
              await deliver(toBusEvent(topic, entry));
            }
          } catch (error) {
            if (signal.aborted) return;
            if (error instanceof CursorExpiredError) {
              onError?.(error);
              return; // cannot continue without a gap
            }
            // Lost connection: report once per outage, then keep trying from the last
            // delivered id, through the checked path in case retention moved meanwhile.
            if (!reportedOutage) onError?.(error instanceof Error ? error : new Error(String(error)));
            reportedOutage = true;
            catchingUp = true;
            await pause(retryMs, signal);
            retryMs = Math.min(retryMs * 2, RETRY_MAX_MS);
          }
        }
      })();

      return register(async () => {
        controller.abort();
        // Aborting the dedicated connection unblocks a waiting XREAD at once.
        await reader.close({ abort: true });
        await done;
      });
    },

    async consume(
      topic: string,
      consumeOptions: ConsumeOptions,
      handler: (event: BusEvent) => Promise<void>,
    ): Promise<Unsubscribe> {
      assertOpen();
      checkTopic(topic);
      checkHandler('handler', handler);
      const { group, consumer, startAt, batchSize, claimAfterMs, deadLetter } = resolveConsumeOptions(topic, consumeOptions);
      const key = keyOf(topic);
      const blockMs = Math.min(claimAfterMs, CONSUME_BLOCK_MAX_MS);

      const createGroup = async () => {
        try {
          await main.run((client) => client.xGroupCreate(key, group, startAt, { MKSTREAM: true }));
        } catch (error) {
          if (!/BUSYGROUP/.test(errorMessage(error))) throw error;
        }
      };
      await createGroup();
      const reader = createRedisConnection(connectionOptions);
      try {
        await reader.ready();
      } catch (error) {
        await reader.close({ abort: true });
        throw error;
      }
      const controller = new AbortController();
      const signal = controller.signal;

      /** Times the group has handed this entry out, this time included (XAUTOCLAIM counts its claims). */
      const deliveriesOf = async (id: string): Promise<number> => {
        const [pending] = await main.run((client) => client.xPendingRange(key, group, id, id, 1));
        return pending ? Number(pending.deliveriesCounter) : 1;
      };

      const handle = async (entry: StreamEntry, redelivered: boolean) => {
        if (deadLetter && redelivered) {
          const deliveries = await deliveriesOf(entry.id);
          if (deliveries > deadLetter.maxDeliveries) {
            await setAside(bus, deadLetter, group, toBusEvent(topic, entry), deliveries - 1);
            await main.run((client) => client.xAck(key, group, entry.id));
            return;
          }
        }
        try {
          await handler(toBusEvent(topic, entry));
        } catch {
          return; // left pending: XAUTOCLAIM hands it out again once idle for claimAfterMs
        }
        // If this XACK fails the entry stays pending and is handled again: at least once.
        await main.run((client) => client.xAck(key, group, entry.id));
      };

      const done = (async () => {
        let claimFrom = '0-0';
        let retryMs = RETRY_MIN_MS;
        while (!signal.aborted) {
          try {
            // Stale pending entries first (a handler threw, or a consumer died holding them).
            const claimed = await main.run((client) =>
              client.xAutoClaim(key, group, consumer, claimAfterMs, claimFrom, { COUNT: batchSize }),
            );
            claimFrom = claimed.nextId;
            let entries = claimed.messages.filter((message) => message !== null) as unknown as StreamEntry[];
            const redelivered = entries.length > 0;
            if (entries.length === 0) {
              const reply = (await reader.run(
                (client) => client.xReadGroup(group, consumer, { key, id: '>' }, { BLOCK: blockMs, COUNT: batchSize }),
                blockMs,
              )) as unknown as StreamsReply;
              entries = reply?.[0]?.messages ?? [];
            }
            retryMs = RETRY_MIN_MS;
            for (const entry of entries) {
              // Entries not handled here stay pending and are claimed later, as after a crash.
              if (signal.aborted) return;
              await handle(entry, redelivered);
            }
          } catch (error) {
            if (signal.aborted) return;
            // The stream or group was deleted under us: recreate it and carry on.
            if (/NOGROUP/.test(errorMessage(error))) await createGroup().catch(() => undefined);
            // No onError in consume(): a worker keeps trying until Redis is back.
            await pause(retryMs, signal);
            retryMs = Math.min(retryMs * 2, RETRY_MAX_MS);
          }
        }
      })();

      return register(async () => {
        controller.abort();
        await reader.close({ abort: true });
        await done;
      });
    },

    async ping(): Promise<boolean> {
      if (closed) return false;
      try {
        return (await main.run((client) => client.ping())) === 'PONG';
      } catch {
        return false;
      }
    },

    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      await Promise.all([...loops].map((loop) => loop.stop()));
      await main.close();
    },
  };
  return bus;
}
