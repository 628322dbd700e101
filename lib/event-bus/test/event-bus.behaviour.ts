/**
 * The event bus's behaviour, as a suite run against every implementation (memory, Redis), so
 * both keep the one contract of ../types.ts. Each test uses its own topics.
 */
import { randomBytes } from 'node:crypto';
import { compareCursors, parseCursor } from '../cursor';
import { CursorExpiredError, DEAD_LETTER_TYPE, InvalidCursorError } from '../types';
import type { BusEvent, DeadLetter, EventBus, EventBusOptions } from '../types';
import { sleep, waitFor } from './wait-for';

export type CreateBus = (options?: EventBusOptions) => Promise<EventBus>;

const isAfter = (a: string, b: string) => compareCursors(parseCursor(a), parseCursor(b)) > 0;
const cursors = (events: BusEvent[]) => events.map((event) => event.cursor);

/** Handles that keep a process alive; what close() must leave behind no more of. */
function liveHandles(): number {
  return process
    .getActiveResourcesInfo()
    .filter((kind) => kind === 'TCPSocketWrap' || kind === 'TCPWrap' || kind === 'Timeout').length;
}

export interface EventBusSuiteOptions {
  /**
   * The bus offers consume() (consumer groups). @default true. The remote bus does not (its own
   * test checks that it refuses): the consume tests are not part of its suite, and consume is
   * left out of the argument and close tests.
   */
  consume?: boolean;
}

export function describeEventBus(name: string, createBus: CreateBus, suite: EventBusSuiteOptions = {}): void {
  const consumes = suite.consume !== false;
  // Not registered at all rather than skipped: consumer groups are not a behaviour of that bus.
  const itConsumes = (name: string, test: () => Promise<void>) => {
    if (consumes) it(name, test);
  };
  describe(`${name} event bus`, () => {
    const buses: EventBus[] = [];
    const disposers: Array<() => Promise<void>> = [];
    const run = randomBytes(3).toString('hex');
    let topics = 0;
    const newTopic = (label: string) => `${label}.${run}.${(topics += 1)}`;

    async function openBus(options?: EventBusOptions): Promise<EventBus> {
      const bus = await createBus(options);
      buses.push(bus);
      return bus;
    }

    afterEach(async () => {
      for (const dispose of disposers.splice(0).reverse()) await dispose();
      await Promise.all(buses.splice(0).map((bus) => bus.close()));
    });

    async function publishMany(bus: EventBus, topic: string, count: number, from = 0): Promise<BusEvent[]> {
      const published: BusEvent[] = [];
      for (let index = from; index < from + count; index += 1) {
        published.push(await bus.publish({ topic, type: 'test.counted', payload: { index } }));
      }
      return published;
    }

    it('hands out strictly increasing cursors and returns events in publish order', async () => {
      const bus = await openBus();
      const topic = newTopic('order');
      const sequential = await publishMany(bus, topic, 30);
      // Concurrent publishes still get distinct, increasing cursors, in the order the bus took them.
      const concurrent = await Promise.all(
        Array.from({ length: 20 }, (_, index) => bus.publish({ topic, type: 'test.concurrent', payload: { index } })),
      );
      const published = [...sequential, ...concurrent].sort((a, b) =>
        compareCursors(parseCursor(a.cursor), parseCursor(b.cursor)),
      );
      for (let index = 1; index < published.length; index += 1) {
        expect(isAfter(published[index]!.cursor, published[index - 1]!.cursor)).toBe(true);
      }
      expect(new Set(cursors(published)).size).toBe(50);

      const read = await bus.read(topic, { limit: 1000 });
      expect(read).toEqual(published);
      expect(read[0]).toEqual({
        cursor: expect.stringMatching(/^\d+-\d+$/),
        topic,
        type: 'test.counted',
        time: expect.any(String),
        payload: { index: 0 },
      });
      expect(new Date(read[0]!.time).toISOString()).toBe(read[0]!.time);
    });

    it('makes an event readable by the time publish resolves', async () => {
      const bus = await openBus();
      const topic = newTopic('durable');
      let previous: string | undefined;
      for (let index = 0; index < 10; index += 1) {
        const event = await bus.publish({ topic, type: 'test.durable', payload: { index } });
        const read = await bus.read(topic, previous === undefined ? {} : { after: previous });
        expect(read).toEqual([event]);
        previous = event.cursor;
      }
    });

    it('reads exactly the events after a cursor, up to the limit', async () => {
      const bus = await openBus();
      const topic = newTopic('read');
      const published = await publishMany(bus, topic, 10);
      expect(await bus.read(topic, { after: published[3]!.cursor })).toEqual(published.slice(4));
      expect(await bus.read(topic, { after: published[3]!.cursor, limit: 2 })).toEqual(published.slice(4, 6));
      expect(await bus.read(topic, { after: published[9]!.cursor })).toEqual([]);
      expect(await bus.read(topic, { after: '0-0' })).toEqual(published);
      expect(await bus.read(topic, { limit: 3 })).toEqual(published.slice(0, 3));
      expect(await bus.read(newTopic('never-published'))).toEqual([]);
    });

    it('replays missed events to a subscriber resuming after a cursor, then continues live with no gap or duplicate', async () => {
      const bus = await openBus();
      const topic = newTopic('resume');
      const before = await publishMany(bus, topic, 150); // more than one replay page
      const resumeAfter = before[9]!.cursor;

      const received: BusEvent[] = [];
      const errors: Error[] = [];
      const during: BusEvent[] = [];
      // Publishing runs while the subscription replays (its handler yields on every event).
      const publishing = (async () => {
        for (let index = 0; index < 150; index += 1) {
          during.push(await bus.publish({ topic, type: 'test.during', payload: { index } }));
        }
      })();
      const unsubscribe = await bus.subscribe(
        topic,
        { after: resumeAfter },
        async (event) => {
          received.push(event);
          await new Promise((resolve) => setImmediate(resolve));
        },
        (error) => errors.push(error),
      );
      disposers.push(unsubscribe);
      await publishing;
      const last = await bus.publish({ topic, type: 'test.last', payload: {} });
      await waitFor('the last event', () => received.some((event) => event.cursor === last.cursor));

      expect(cursors(received)).toEqual(cursors([...before.slice(10), ...during, last]));
      expect(errors).toEqual([]);
    });

    it('gives a subscriber without a cursor only the events published after it subscribed', async () => {
      const bus = await openBus();
      const topic = newTopic('live');
      await publishMany(bus, topic, 3);
      const received: BusEvent[] = [];
      disposers.push(await bus.subscribe(topic, {}, (event) => void received.push(event)));
      const after = await publishMany(bus, topic, 3, 3);
      await waitFor('the new events', () => received.length >= 3);
      const last = await bus.publish({ topic, type: 'test.last', payload: {} });
      await waitFor('the last event', () => received.some((event) => event.cursor === last.cursor));
      expect(cursors(received)).toEqual(cursors([...after, last]));
    });

    it('gives a subscriber of a topic nobody has published to yet every event once they start', async () => {
      const bus = await openBus();
      const topic = newTopic('fresh');
      const received: BusEvent[] = [];
      disposers.push(await bus.subscribe(topic, {}, (event) => void received.push(event)));
      const published = await publishMany(bus, topic, 5);
      await waitFor('every event', () => received.length >= 5);
      expect(received).toEqual(published);
    });

    it('delivers every event to each of two subscribers', async () => {
      const bus = await openBus();
      const topic = newTopic('fanout');
      const first: BusEvent[] = [];
      const second: BusEvent[] = [];
      disposers.push(await bus.subscribe(topic, {}, (event) => void first.push(event)));
      disposers.push(await bus.subscribe(topic, {}, (event) => void second.push(event)));
      const published = await publishMany(bus, topic, 20);
      await waitFor('both subscribers', () => first.length >= 20 && second.length >= 20);
      expect(first).toEqual(published);
      expect(second).toEqual(published);
    });

    it('stops delivering to a subscriber once it unsubscribes', async () => {
      const bus = await openBus();
      const topic = newTopic('unsubscribe');
      const stopped: BusEvent[] = [];
      const still: BusEvent[] = [];
      const unsubscribe = await bus.subscribe(topic, {}, (event) => void stopped.push(event));
      disposers.push(await bus.subscribe(topic, {}, (event) => void still.push(event)));
      await publishMany(bus, topic, 2);
      await waitFor('both subscribers', () => stopped.length === 2 && still.length === 2);
      await unsubscribe();
      await publishMany(bus, topic, 2, 2);
      await waitFor('the remaining subscriber', () => still.length === 4);
      expect(stopped).toHaveLength(2);
    });

    itConsumes('has a consumer group of two consumers handle each event exactly once', async () => {
      const bus = await openBus();
      const topic = newTopic('group');
      const handled = new Map<string, string[]>();
      const consumer = (name: string) => async (event: BusEvent) => {
        handled.set(event.cursor, [...(handled.get(event.cursor) ?? []), name]);
        await new Promise((resolve) => setImmediate(resolve));
      };
      // Events retained before the group exists are included (startAt defaults to '0').
      const published = await publishMany(bus, topic, 25);
      disposers.push(await bus.consume(topic, { group: 'workers', consumer: 'a' }, consumer('a')));
      disposers.push(await bus.consume(topic, { group: 'workers', consumer: 'b' }, consumer('b')));
      published.push(...(await publishMany(bus, topic, 25, 25)));
      await waitFor('all 50 events handled', () => handled.size === 50);

      expect([...handled.keys()].sort()).toEqual(cursors(published).sort());
      for (const [cursor, by] of handled) expect({ cursor, by: by.length }).toEqual({ cursor, by: 1 });
    });

    itConsumes('starts a new group at new events only with startAt "$"', async () => {
      const bus = await openBus();
      const topic = newTopic('group-new-only');
      await publishMany(bus, topic, 3);
      const handled: BusEvent[] = [];
      disposers.push(
        await bus.consume(topic, { group: 'tail', consumer: 'a', startAt: '$' }, async (event) => void handled.push(event)),
      );
      const later = await publishMany(bus, topic, 2, 3);
      await waitFor('the new events', () => handled.length >= 2);
      expect(handled).toEqual(later);
    });

    itConsumes('acknowledges only after the handler resolves: an event held by a stuck consumer goes to another', async () => {
      const bus = await openBus();
      const topic = newTopic('stuck');
      let release!: () => void;
      const released = new Promise<void>((resolve) => (release = resolve));
      const takenByA: BusEvent[] = [];
      const takenByB: BusEvent[] = [];
      disposers.push(
        await bus.consume(topic, { group: 'workers', consumer: 'a', claimAfterMs: 200 }, async (event) => {
          takenByA.push(event);
          await released; // never finishes on its own: as if the consumer hung
        }),
      );
      const event = await bus.publish({ topic, type: 'test.stuck', payload: {} });
      await waitFor('consumer a to take the event', () => takenByA.length === 1);
      disposers.push(
        await bus.consume(topic, { group: 'workers', consumer: 'b', claimAfterMs: 200 }, async (taken) => {
          takenByB.push(taken);
        }),
      );
      await waitFor('consumer b to be given the unacknowledged event', () => takenByB.length === 1);
      expect(takenByB[0]!.cursor).toBe(event.cursor);
      release();
      // b acknowledged it: nobody is given it again.
      await sleep(800);
      expect(takenByA).toHaveLength(1);
      expect(takenByB).toHaveLength(1);
    });

    itConsumes('sets aside an event whose handler keeps failing once it was handed out maxDeliveries times, and carries on with the rest', async () => {
      const bus = await openBus();
      const topic = newTopic('poison');
      const deadLetterTopic = newTopic('poison-dead-letters');
      const attempts = new Map<number, number>();
      const told: Array<BusEvent<DeadLetter>> = [];
      disposers.push(
        await bus.consume(
          topic,
          {
            group: 'workers',
            consumer: 'a',
            claimAfterMs: 100,
            deadLetter: { maxDeliveries: 3, topic: deadLetterTopic, onDeadLetter: (letter) => void told.push(letter) },
          },
          async (event) => {
            const { index } = event.payload as { index: number };
            attempts.set(index, (attempts.get(index) ?? 0) + 1);
            if (index === 1) throw new Error('this event can never be handled');
          },
        ),
      );
      const published = await publishMany(bus, topic, 3);
      await waitFor('the failing event to be set aside', () => told.length === 1);
      await sleep(600); // several claim periods: a set-aside event is not handed out again
      expect([0, 1, 2].map((index) => attempts.get(index))).toEqual([1, 3, 1]);

      const deadLetters = await bus.read(deadLetterTopic);
      expect(deadLetters).toHaveLength(1);
      expect(deadLetters[0]!.type).toBe(DEAD_LETTER_TYPE);
      expect(deadLetters[0]!.payload).toEqual({
        topic,
        cursor: published[1]!.cursor,
        type: 'test.counted',
        time: published[1]!.time,
        payload: { index: 1 },
        deliveries: 3,
        group: 'workers',
      });
      expect(told[0]!.cursor).toBe(deadLetters[0]!.cursor);
    });

    itConsumes('redelivers an event whose handler threw, and acknowledges it once handled', async () => {
      const bus = await openBus();
      const topic = newTopic('retry');
      const deliveries = new Map<string, number>();
      let failed = false;
      disposers.push(
        await bus.consume(topic, { group: 'workers', consumer: 'a', claimAfterMs: 200 }, async (event) => {
          deliveries.set(event.cursor, (deliveries.get(event.cursor) ?? 0) + 1);
          if ((event.payload as { index: number }).index === 1 && !failed) {
            failed = true;
            throw new Error('handler failed once');
          }
        }),
      );
      const published = await publishMany(bus, topic, 3);
      await waitFor('the failed event to be redelivered', () => deliveries.get(published[1]!.cursor) === 2);
      await sleep(800); // several claim periods: an acknowledged event is not given out again
      expect(cursors(published).map((cursor) => deliveries.get(cursor))).toEqual([1, 2, 1]);
    });

    it('keeps the newest events within retention and reports a cursor older than retention as expired', async () => {
      const maxEventsPerTopic = 5;
      const bus = await openBus({ maxEventsPerTopic });
      const topic = newTopic('retention');
      const published = await publishMany(bus, topic, 30);
      const retained = await bus.read(topic, { limit: 1000 });
      // Redis trims in batches of 1% of retention (at least one event): exact at this size.
      expect(retained).toEqual(published.slice(-maxEventsPerTopic));

      const tooOld = published[0]!.cursor;
      await expect(bus.read(topic, { after: tooOld })).rejects.toBeInstanceOf(CursorExpiredError);
      await expect(bus.read(topic, { after: '0-0' })).rejects.toMatchObject({
        code: 'CURSOR_EXPIRED',
        topic,
        after: '0-0',
        oldest: retained[0]!.cursor,
      });
      // The newest trimmed event's cursor still resumes with nothing missed.
      const lastTrimmed = published[published.length - retained.length - 1]!.cursor;
      expect(await bus.read(topic, { after: lastTrimmed, limit: 1000 })).toEqual(retained);

      const received: BusEvent[] = [];
      const errors: Error[] = [];
      disposers.push(
        await bus.subscribe(topic, { after: tooOld }, (event) => void received.push(event), (error) => errors.push(error)),
      );
      await waitFor('the expired-cursor error', () => errors.length > 0);
      expect(errors[0]).toBeInstanceOf(CursorExpiredError);
      expect(received).toEqual([]);
    });

    it('rejects a malformed cursor with InvalidCursorError', async () => {
      const bus = await openBus();
      const topic = newTopic('malformed');
      await publishMany(bus, topic, 1);
      for (const cursor of ['', 'abc', '12', '1-2-3', '-1-0', '1-x', '99999999999999999999999-0', '$']) {
        await expect(bus.read(topic, { after: cursor })).rejects.toBeInstanceOf(InvalidCursorError);
      }
      await expect(bus.subscribe(topic, { after: 'nope' }, () => undefined)).rejects.toMatchObject({
        code: 'INVALID_CURSOR',
        message: 'invalid cursor: expected "<ms>-<seq>", got "nope"',
      });
    });

    it('rejects unusable arguments up front, saying what was expected', async () => {
      const bus = await openBus();
      await expect(bus.publish({ topic: '', type: 'x', payload: {} })).rejects.toThrow(
        'topic: expected a non-empty string, got an empty string',
      );
      await expect(bus.publish({ topic: 't', type: 'x', payload: undefined })).rejects.toThrow(
        'payload: expected a JSON-serialisable value, got undefined',
      );
      await expect(bus.read('t', { limit: 0 })).rejects.toThrow('limit: expected a positive integer, got 0');
      if (consumes) {
        await expect(
          bus.consume('t', { group: 'g', consumer: 'c', claimAfterMs: -1 }, async () => undefined),
        ).rejects.toThrow('claimAfterMs: expected a positive integer, got -1');
        await expect(
          bus.consume('t', { group: 'g', consumer: 'c', deadLetter: { maxDeliveries: 0, topic: 't.dead' } }, async () => undefined),
        ).rejects.toThrow('deadLetter.maxDeliveries: expected a positive integer, got 0');
        await expect(
          bus.consume('t', { group: 'g', consumer: 'c', deadLetter: { maxDeliveries: 3, topic: 't' } }, async () => undefined),
        ).rejects.toThrow('deadLetter.topic: expected a topic other than the one consumed, got the same topic');
      }
    });

    it('answers ping while open', async () => {
      const bus = await openBus();
      expect(await bus.ping()).toBe(true);
    });

    it('leaves nothing running after close, and refuses work afterwards', async () => {
      const baseline = liveHandles();
      const bus = await createBus({ maxEventsPerTopic: 50 });
      const topic = newTopic('close');
      const received: BusEvent[] = [];
      await bus.subscribe(topic, {}, (event) => void received.push(event));
      await bus.subscribe(topic, { after: '0-0' }, () => undefined);
      if (consumes) {
        await bus.consume(topic, { group: 'workers', consumer: 'a', claimAfterMs: 200 }, async () => undefined);
        await bus.consume(topic, { group: 'failing', consumer: 'a', claimAfterMs: 200 }, async () => {
          throw new Error('always fails, so a redelivery is always due');
        });
      }
      await bus.publish({ topic, type: 'test.close', payload: {} });
      await waitFor('the subscriber', () => received.length === 1);

      await bus.close();
      await waitFor('sockets and timers to go', () => liveHandles() <= baseline);
      expect(await bus.ping()).toBe(false);
      await expect(bus.publish({ topic, type: 'test.after-close', payload: {} })).rejects.toThrow('event bus is closed');
      await bus.close(); // idempotent
    });
  });
}
