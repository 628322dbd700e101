/**
 * The event bus: one interface, two implementations (in-process memory, the embedded default;
 * Redis Streams with REDIS_URL). Every event gets a cursor that orders it within its topic;
 * readers can start after any cursor; consumer groups share work among workers, each event
 * handled once and acknowledged only after its handler succeeded. Retention is bounded.
 *
 * Cursors look like Redis stream ids (`<ms>-<seq>`) in both implementations and compare
 * numerically (ms, then seq). They are opaque to clients.
 */

export interface BusEvent<Payload = unknown> {
  /** Position in the topic; strictly increasing. */
  cursor: string;
  topic: string;
  /** Kind of event, e.g. "sync.step" or "conflict.opened". */
  type: string;
  /** ISO 8601 instant the bus accepted the event. */
  time: string;
  payload: Payload;
}

export interface PublishInput<Payload = unknown> {
  topic: string;
  type: string;
  payload: Payload;
}

export interface ReadOptions {
  /** Only events strictly after this cursor; from the oldest retained event when absent. */
  after?: string;
  /** At most this many. @default 100 */
  limit?: number;
}

export interface SubscribeOptions {
  /**
   * Replay every retained event after this cursor, then continue live, in order, with no gap
   * and no duplicate at the seam. Absent: live events only (from the moment of subscribing).
   */
  after?: string;
}

export interface ConsumeOptions {
  /** Consumer group name: events are shared among the group's consumers. */
  group: string;
  /** This consumer's name within the group. */
  consumer: string;
  /** Where a new group starts: '$' (new events only) or '0' (everything retained). @default '0' */
  startAt?: '$' | '0';
  /** Events handed out per read. @default 10 */
  batchSize?: number;
  /**
   * An event a consumer took but did not acknowledge within this is given to another
   * consumer (its handler threw, or the consumer died). @default 30000
   */
  claimAfterMs?: number;
  /**
   * Set aside an event whose handler keeps failing, instead of redelivering it forever: once it
   * has been handed out `maxDeliveries` times without being acknowledged, it is published to
   * `topic` (type DEAD_LETTER_TYPE, payload DeadLetter) and acknowledged. Absent: redelivered
   * until a handler succeeds or retention drops it.
   */
  deadLetter?: DeadLetterOptions;
}

export interface DeadLetterOptions {
  /** Deliveries, the first included, before the event is set aside. */
  maxDeliveries: number;
  /** Where set-aside events go (on the same bus). */
  topic: string;
  /**
   * Called once the dead letter is on the bus (e.g. to log it or tell someone). A throw here is
   * ignored: the event is already set aside.
   */
  onDeadLetter?: (deadLetter: BusEvent<DeadLetter>) => void | Promise<void>;
}

/** The `type` of every event on a dead-letter topic. */
export const DEAD_LETTER_TYPE = 'bus.dead-letter';

/** What a dead-letter topic holds: the set-aside event, whole, and where it came from. */
export interface DeadLetter<Payload = unknown> {
  /** The topic and cursor the event had; republishing it there gives it a new cursor. */
  topic: string;
  cursor: string;
  type: string;
  time: string;
  payload: Payload;
  /** Deliveries made before it was set aside. */
  deliveries: number;
  group: string;
}

/** Thrown (or delivered as an error) when `after` is older than what the bus still retains. */
export class CursorExpiredError extends Error {
  readonly code = 'CURSOR_EXPIRED';
  constructor(
    readonly topic: string,
    readonly after: string,
    readonly oldest: string | undefined,
  ) {
    super(`cursor ${after} on ${topic} is older than the oldest retained event${oldest ? ` (${oldest})` : ''}`);
    this.name = 'CursorExpiredError';
  }
}

/** A cursor that does not parse as `<ms>-<seq>`. */
export class InvalidCursorError extends Error {
  readonly code = 'INVALID_CURSOR';
  constructor(readonly cursor: string) {
    super(`invalid cursor: expected "<ms>-<seq>", got ${JSON.stringify(cursor.slice(0, 40))}`);
    this.name = 'InvalidCursorError';
  }
}

export type Unsubscribe = () => Promise<void>;

export interface EventBus {
  /** Append an event; resolves once it is durably on the bus (for Redis: XADD acknowledged). */
  publish<Payload>(input: PublishInput<Payload>): Promise<BusEvent<Payload>>;
  /** Events of a topic after a cursor, oldest first. */
  read(topic: string, options?: ReadOptions): Promise<BusEvent[]>;
  /**
   * Deliver events to `onEvent` in order, one at a time (the next waits for the previous
   * handler's promise). Errors (CursorExpiredError, a lost connection) go to `onError`.
   */
  subscribe(
    topic: string,
    options: SubscribeOptions,
    onEvent: (event: BusEvent) => void | Promise<void>,
    onError?: (error: Error) => void,
  ): Promise<Unsubscribe>;
  /**
   * Work-sharing consumption: each event goes to one consumer of the group and is acknowledged
   * only after `handler` resolves; a handler that throws leaves it pending for a retry.
   */
  consume(topic: string, options: ConsumeOptions, handler: (event: BusEvent) => Promise<void>): Promise<Unsubscribe>;
  /** The bus is reachable (for /readyz). */
  ping(): Promise<boolean>;
  close(): Promise<void>;
}

export interface EventBusOptions {
  /** Events kept per topic; older ones are trimmed. @default 100000 */
  maxEventsPerTopic?: number;
}
