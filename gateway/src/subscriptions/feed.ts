/**
 * Events of one topic for many subscribers of one gateway replica: a single live bus
 * subscription per topic, shared by every subscriber; a subscriber that resumes `after` a
 * cursor is first served the events it missed (read from the bus), then joins the live feed
 * with no gap and no duplicate at the seam.
 */
import { compareCursors, parseCursor } from '../../../lib/event-bus/cursor';
import type { BusEvent, EventBus, Unsubscribe } from '../../../lib/event-bus/types';

interface Listener {
  event(event: BusEvent): void;
  /** The shared live subscription ended (it fell behind retention): the stream must end. */
  fail(error: Error): void;
}

class TopicFeed {
  private readonly listeners = new Set<Listener>();
  private stopBus: Promise<Unsubscribe> | undefined;

  constructor(
    private readonly bus: EventBus,
    private readonly topic: string,
    private readonly onError: (error: Error) => void,
  ) {}

  async add(listener: Listener): Promise<void> {
    this.listeners.add(listener);
    this.stopBus ??= this.bus.subscribe(
      this.topic,
      {},
      (event) => {
        for (const each of this.listeners) each.event(event);
      },
      (error) => {
        this.onError(error);
        // Transient errors (a lost connection) are retried by the bus with no gap; an expired
        // cursor ends the bus subscription, so every stream ends and clients resume with `after`.
        if ((error as { code?: string }).code !== 'CURSOR_EXPIRED') return;
        const listeners = [...this.listeners];
        this.listeners.clear();
        this.stopBus = undefined;
        for (const each of listeners) each.fail(error);
      },
    );
    await this.stopBus;
  }

  async remove(listener: Listener): Promise<void> {
    this.listeners.delete(listener);
    if (this.listeners.size === 0 && this.stopBus) {
      const stopping = this.stopBus;
      this.stopBus = undefined;
      await (await stopping)();
    }
  }

  get size(): number {
    return this.listeners.size;
  }
}

export interface EventStream {
  /** Next event, in cursor order; undefined once closed. */
  next(): Promise<BusEvent | undefined>;
  close(): Promise<void>;
}

export class TopicFeeds {
  private readonly feeds = new Map<string, TopicFeed>();

  constructor(
    private readonly bus: EventBus,
    private readonly onError: (topic: string, error: Error) => void,
  ) {}

  /** Subscribers across all topics (for metrics). */
  get subscribers(): number {
    let total = 0;
    for (const feed of this.feeds.values()) total += feed.size;
    return total;
  }

  /**
   * A stream of the topic's events: live ones, preceded (with `after`) by every retained event
   * after that cursor. Replay errors (an expired cursor) reject `next()`.
   */
  async open(topic: string, after: string | undefined): Promise<EventStream> {
    let feed = this.feeds.get(topic);
    if (!feed) {
      feed = new TopicFeed(this.bus, topic, (error) => this.onError(topic, error));
      this.feeds.set(topic, feed);
    }
    const queue: BusEvent[] = [];
    let waiting: ((event: BusEvent | undefined) => void) | undefined;
    let closed = false;
    let failure: Error | undefined;
    let failed: ((error: Error) => void) | undefined;
    /** Highest cursor handed out; the seam between replay and live is deduplicated against it. */
    let last = after;

    const push = (event: BusEvent) => {
      if (closed || (last !== undefined && compareCursors(parseCursor(event.cursor), parseCursor(last)) <= 0)) return;
      last = event.cursor;
      if (waiting) {
        const resolve = waiting;
        waiting = undefined;
        resolve(event);
      } else queue.push(event);
    };

    // Live events that arrive during the replay wait here, so the replay stays in order.
    let buffering = after !== undefined;
    const buffered: BusEvent[] = [];
    const fail = (error: Error) => {
      failure = error;
      failed?.(error);
    };
    const listener: Listener = { event: (event) => (buffering ? buffered.push(event) : push(event)), fail };
    await feed.add(listener);

    if (after !== undefined) {
      void (async () => {
        try {
          let cursor = after;
          for (;;) {
            const page = await this.bus.read(topic, { after: cursor, limit: 200 });
            for (const event of page) push(event);
            if (page.length < 200) break;
            cursor = page.at(-1)!.cursor;
          }
          for (const event of buffered) push(event);
          buffered.length = 0;
          buffering = false;
        } catch (error) {
          fail(error as Error);
        }
      })();
    }

    const theFeed = feed;
    return {
      next: () =>
        new Promise<BusEvent | undefined>((resolve, reject) => {
          if (failure) return reject(failure);
          const event = queue.shift();
          if (event) return resolve(event);
          if (closed) return resolve(undefined);
          waiting = resolve;
          failed = reject;
        }),
      close: async () => {
        if (closed) return;
        closed = true;
        waiting?.(undefined);
        waiting = undefined;
        await theFeed.remove(listener);
        if (theFeed.size === 0) this.feeds.delete(topic);
      },
    };
  }
}
