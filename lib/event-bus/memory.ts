/**
 * The in-process event bus (the embedded default): per-topic logs with bounded retention,
 * live subscriptions, and consumer groups with pending entries and redelivery, mirroring the
 * Redis Streams semantics of ./redis.ts so one behaviour suite holds for both.
 */
import { CURSOR_ZERO, compareCursors, formatCursor, parseCursor } from './cursor';
import type { CursorPosition } from './cursor';
import {
  busClosedError,
  checkHandler,
  checkPublishInput,
  checkTopic,
  resolveConsumeOptions,
  resolveMaxEventsPerTopic,
  resolveReadLimit,
} from './inputs';
import type { ResolvedConsumeOptions } from './inputs';
import { setAside } from './dead-letter';
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

interface StoredEvent {
  position: CursorPosition;
  cursor: string;
  type: string;
  time: string;
  // Kept as JSON and parsed per delivery: every reader gets its own copy (no subscriber can
  // mutate what another sees) and payloads behave exactly as they do through Redis.
  payloadJson: string;
}

interface PendingEntry {
  event: StoredEvent;
  consumer: string;
  deliveredAt: number;
  /** Times handed out (Redis: the PEL's delivery counter). */
  deliveries: number;
}

interface ConsumerGroup {
  /** Highest position handed out to any consumer of the group (Redis: last-delivered-id). */
  lastDelivered: CursorPosition;
  /** Taken but not acknowledged, in delivery order (Redis: the PEL). */
  pending: Map<string, PendingEntry>;
}

interface TopicLog {
  /** Retained events are events[head..]; trimming advances head and compacts now and then. */
  events: StoredEvent[];
  head: number;
  /** Last position handed out, kept even when its event is trimmed, so cursors never repeat. */
  last: CursorPosition | undefined;
  /** Newest trimmed position (Redis: max-deleted-entry-id); a reader behind it missed events. */
  trimmedThrough: CursorPosition | undefined;
  groups: Map<string, ConsumerGroup>;
  /** Readers waiting for the next publish. */
  waiters: Set<() => void>;
}

/** One running subscribe/consume loop, so close() can stop it and wait for it. */
interface Loop {
  stop(): void;
  done: Promise<void>;
}

// Compacting only once the dead prefix is large keeps trimming O(1) amortised.
const COMPACT_AT = 1024;

export function createMemoryEventBus(options?: EventBusOptions): EventBus {
  const maxEventsPerTopic = resolveMaxEventsPerTopic(options);
  const topics = new Map<string, TopicLog>();
  const loops = new Set<Loop>();
  let closed = false;

  function assertOpen(): void {
    if (closed) throw busClosedError();
  }

  function topicLog(topic: string): TopicLog {
    let log = topics.get(topic);
    if (!log) {
      log = { events: [], head: 0, last: undefined, trimmedThrough: undefined, groups: new Map(), waiters: new Set() };
      topics.set(topic, log);
    }
    return log;
  }

  function nextPosition(log: TopicLog): CursorPosition {
    const now = BigInt(Date.now());
    // Like Redis: a new millisecond restarts the sequence; a clock that went backwards (or
    // stood still) keeps the last millisecond and bumps the sequence, so cursors only grow.
    if (log.last === undefined || now > log.last.ms) return { ms: now, seq: 0n };
    return { ms: log.last.ms, seq: log.last.seq + 1n };
  }

  function retainedCount(log: TopicLog): number {
    return log.events.length - log.head;
  }

  function trim(log: TopicLog): void {
    while (retainedCount(log) > maxEventsPerTopic) {
      const dropped = log.events[log.head]!;
      log.events[log.head] = undefined as unknown as StoredEvent; // let the payload be collected
      log.head += 1;
      log.trimmedThrough = dropped.position;
    }
    if (log.head >= COMPACT_AT && log.head * 2 >= log.events.length) {
      log.events.splice(0, log.head);
      log.head = 0;
    }
  }

  /** Index of the first retained event strictly after `after`. */
  function indexAfter(log: TopicLog, after: CursorPosition): number {
    let low = log.head;
    let high = log.events.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (compareCursors(log.events[middle]!.position, after) <= 0) low = middle + 1;
      else high = middle;
    }
    return low;
  }

  function oldestCursor(log: TopicLog): string | undefined {
    return log.events[log.head]?.cursor;
  }

  /** A reader at `after` has missed events once something newer than it was trimmed. */
  function checkNotExpired(topic: string, log: TopicLog, after: CursorPosition): void {
    if (log.trimmedThrough && compareCursors(after, log.trimmedThrough) < 0) {
      throw new CursorExpiredError(topic, formatCursor(after), oldestCursor(log));
    }
  }

  function toBusEvent(topic: string, stored: StoredEvent): BusEvent {
    return { cursor: stored.cursor, topic, type: stored.type, time: stored.time, payload: JSON.parse(stored.payloadJson) };
  }

  function wake(log: TopicLog): void {
    const waiters = [...log.waiters];
    log.waiters.clear();
    for (const resolve of waiters) resolve();
  }

  /**
   * Resolves on the next publish to the topic, after `timeoutMs` if given, or when `stopped`
   * fires. The timer is always cleared, so a stopped bus leaves nothing scheduled.
   */
  function waitForChange(log: TopicLog, signal: AbortSignal, timeoutMs?: number): Promise<void> {
    return new Promise<void>((resolve) => {
      if (signal.aborted) return resolve();
      let timer: NodeJS.Timeout | undefined;
      const finish = () => {
        log.waiters.delete(finish);
        signal.removeEventListener('abort', finish);
        if (timer) clearTimeout(timer);
        resolve();
      };
      log.waiters.add(finish);
      signal.addEventListener('abort', finish, { once: true });
      if (timeoutMs !== undefined) timer = setTimeout(finish, Math.max(0, timeoutMs));
    });
  }

  function startLoop(run: (signal: AbortSignal) => Promise<void>): Loop {
    const controller = new AbortController();
    const loop: Loop = {
      stop: () => controller.abort(),
      // Started on a later microtask so no handler runs before subscribe()/consume() returns.
      done: Promise.resolve()
        .then(() => run(controller.signal))
        .finally(() => loops.delete(loop)),
    };
    loops.add(loop);
    return loop;
  }

  function unsubscriber(loop: Loop): Unsubscribe {
    return async () => {
      loop.stop();
      await loop.done;
    };
  }

  /** Claims the group's stale pending entries for `consumer` (Redis: XAUTOCLAIM). */
  function claimStale(log: TopicLog, group: ConsumerGroup, options: ResolvedConsumeOptions): PendingEntry[] {
    const now = Date.now();
    const claimed: PendingEntry[] = [];
    const oldest = log.events[log.head]?.position;
    for (const [cursor, entry] of group.pending) {
      if (claimed.length >= options.batchSize) break;
      // A pending event that retention dropped cannot be handled any more; Redis drops it too.
      if (!oldest || compareCursors(entry.event.position, oldest) < 0) {
        group.pending.delete(cursor);
        continue;
      }
      if (now - entry.deliveredAt < options.claimAfterMs) continue;
      entry.consumer = options.consumer;
      entry.deliveredAt = now;
      entry.deliveries += 1;
      claimed.push(entry);
    }
    return claimed;
  }

  /** Hands out the next never-delivered events of the group (Redis: XREADGROUP `>`). */
  function takeNew(log: TopicLog, group: ConsumerGroup, options: ResolvedConsumeOptions): PendingEntry[] {
    const taken: PendingEntry[] = [];
    const now = Date.now();
    for (let index = indexAfter(log, group.lastDelivered); index < log.events.length; index += 1) {
      if (taken.length >= options.batchSize) break;
      const event = log.events[index]!;
      const entry: PendingEntry = { event, consumer: options.consumer, deliveredAt: now, deliveries: 1 };
      group.pending.set(event.cursor, entry);
      group.lastDelivered = event.position;
      taken.push(entry);
    }
    return taken;
  }

  /** How long until the group's oldest pending entry may be claimed; undefined when none is pending. */
  function msUntilClaimable(group: ConsumerGroup, claimAfterMs: number): number | undefined {
    let earliest: number | undefined;
    for (const entry of group.pending.values()) {
      if (earliest === undefined || entry.deliveredAt < earliest) earliest = entry.deliveredAt;
    }
    return earliest === undefined ? undefined : earliest + claimAfterMs - Date.now();
  }

  const bus: EventBus = {
    async publish<Payload>(input: PublishInput<Payload>): Promise<BusEvent<Payload>> {
      assertOpen();
      const { topic, type, payloadJson } = checkPublishInput(input);
      const log = topicLog(topic);
      const position = nextPosition(log);
      const stored: StoredEvent = {
        position,
        cursor: formatCursor(position),
        type,
        time: new Date().toISOString(),
        payloadJson,
      };
      log.events.push(stored);
      log.last = position;
      trim(log);
      wake(log);
      return toBusEvent(topic, stored) as BusEvent<Payload>;
    },

    async read(topic: string, readOptions: ReadOptions = {}): Promise<BusEvent[]> {
      assertOpen();
      checkTopic(topic);
      const limit = resolveReadLimit(readOptions.limit);
      const after = readOptions.after === undefined ? undefined : parseCursor(readOptions.after);
      const log = topics.get(topic);
      if (!log) return [];
      let start = log.head;
      if (after) {
        checkNotExpired(topic, log, after);
        start = indexAfter(log, after);
      }
      return log.events.slice(start, start + limit).map((stored) => toBusEvent(topic, stored));
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
      const log = topicLog(topic);
      // Without `after`, start at the current end: only events published from now on.
      let position = after ?? log.last ?? CURSOR_ZERO;

      const loop = startLoop(async (signal) => {
        // Replay and live delivery are one walk along the log from `position`, so the seam
        // between them cannot have a gap or a duplicate.
        while (!signal.aborted) {
          try {
            checkNotExpired(topic, log, position);
          } catch (error) {
            onError?.(error as Error);
            return; // an expired cursor cannot continue without a gap
          }
          const index = indexAfter(log, position);
          const next = log.events[index];
          if (!next) {
            await waitForChange(log, signal);
            continue;
          }
          position = next.position;
          try {
            await onEvent(toBusEvent(topic, next));
          } catch (error) {
            // A subscriber's own failure is reported, not retried: redelivery is consume()'s job.
            onError?.(error instanceof Error ? error : new Error(String(error)));
          }
        }
      });
      return unsubscriber(loop);
    },

    async consume(
      topic: string,
      consumeOptions: ConsumeOptions,
      handler: (event: BusEvent) => Promise<void>,
    ): Promise<Unsubscribe> {
      assertOpen();
      checkTopic(topic);
      checkHandler('handler', handler);
      const resolved = resolveConsumeOptions(topic, consumeOptions);
      const log = topicLog(topic);
      let group = log.groups.get(resolved.group);
      if (!group) {
        // Like XGROUP CREATE: the start point is fixed when the group is first created.
        group = { lastDelivered: resolved.startAt === '$' ? (log.last ?? CURSOR_ZERO) : CURSOR_ZERO, pending: new Map() };
        log.groups.set(resolved.group, group);
      }
      const consumerGroup = group;

      const loop = startLoop(async (signal) => {
        while (!signal.aborted) {
          let batch = claimStale(log, consumerGroup, resolved);
          if (batch.length === 0) batch = takeNew(log, consumerGroup, resolved);
          if (batch.length === 0) {
            await waitForChange(log, signal, msUntilClaimable(consumerGroup, resolved.claimAfterMs));
            continue;
          }
          for (const entry of batch) {
            // Entries left unhandled here stay pending and are claimed later, as with Redis.
            if (signal.aborted) break;
            const { deadLetter } = resolved;
            if (deadLetter && entry.deliveries > deadLetter.maxDeliveries) {
              try {
                await setAside(bus, deadLetter, resolved.group, toBusEvent(topic, entry.event), entry.deliveries - 1);
              } catch {
                continue; // the bus is closing: still pending, as it was
              }
              consumerGroup.pending.delete(entry.event.cursor);
              continue;
            }
            try {
              await handler(toBusEvent(topic, entry.event));
            } catch {
              continue; // stays pending; claimable once idle for claimAfterMs
            }
            consumerGroup.pending.delete(entry.event.cursor);
          }
        }
      });
      return unsubscriber(loop);
    },

    async ping(): Promise<boolean> {
      return !closed;
    },

    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      const running = [...loops];
      for (const loop of running) loop.stop();
      await Promise.all(running.map((loop) => loop.done));
      topics.clear();
    },
  };
  return bus;
}
