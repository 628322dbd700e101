/**
 * followTopic keeps a cache's follower on its topic: after falling behind the bus's retention it
 * follows live events again, a failing handler does not stop the events after it, and a bus that
 * cannot be reached at start is tried again until it can.
 */
import { freePort } from '../../stack/patient-graph';
import { followTopic } from '../follow';
import { createMemoryEventBus } from '../memory';
import { createRemoteEventBus } from '../remote';
import type { BusEvent, EventBus } from '../types';
import { serveBusOverHttp } from './serve-bus';
import { waitFor } from './wait-for';

const disposers: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const dispose of disposers.splice(0).reverse()) await dispose();
});

function quietLogger() {
  const logged: Array<{ level: 'info' | 'warn' | 'error'; message: string }> = [];
  return {
    logged,
    logger: {
      info: (_fields: object, message: string) => logged.push({ level: 'info', message }),
      warn: (_fields: object, message: string) => logged.push({ level: 'warn', message }),
      error: (_fields: object, message: string) => logged.push({ level: 'error', message }),
    } as unknown as Parameters<typeof followTopic>[3]['logger'],
  };
}

const publish = (bus: EventBus, n: number) => bus.publish({ topic: 'changes', type: 'changed', payload: { n } });

it('follows live events again after falling behind the retention, and says what was missed', async () => {
  const bus = createMemoryEventBus({ maxEventsPerTopic: 2 });
  disposers.push(() => bus.close());
  const { logger, logged } = quietLogger();
  const seen: number[] = [];
  let releaseFirst!: () => void;
  const firstHeld = new Promise<void>((resolve) => (releaseFirst = resolve));
  const follower = await followTopic(
    bus,
    'changes',
    async (event: BusEvent) => {
      const { n } = event.payload as { n: number };
      seen.push(n);
      if (n === 1) await firstHeld;
    },
    { logger, purpose: 'test follower' },
  );
  disposers.push(() => follower.stop());

  await publish(bus, 1);
  await waitFor('the first event', () => seen.length === 1);
  // While the first is handled, the bus moves on past what it keeps.
  for (let n = 2; n <= 6; n++) await publish(bus, n);
  releaseFirst();
  await waitFor('the follower to report it fell behind', () => logged.some((line) => line.level === 'error'));

  await waitFor('a live event after the gap', async () => {
    await publish(bus, 100);
    return seen.includes(100);
  });
  expect(seen.slice(0, 1)).toEqual([1]);
  expect(seen).not.toContain(2);
});

it('hands over the next event after a handler failed', async () => {
  const bus = createMemoryEventBus();
  disposers.push(() => bus.close());
  const { logger, logged } = quietLogger();
  const seen: number[] = [];
  const follower = await followTopic(
    bus,
    'changes',
    async (event: BusEvent) => {
      const { n } = event.payload as { n: number };
      if (n === 1) throw new Error('cannot apply');
      seen.push(n);
    },
    { logger, purpose: 'test follower' },
  );
  disposers.push(() => follower.stop());
  await publish(bus, 1);
  await publish(bus, 2);
  await waitFor('the second event', () => seen.includes(2));
  expect(logged).toEqual([{ level: 'error', message: 'test follower: an event could not be applied' }]);
});

it('keeps trying a bus that cannot be reached at start, and follows it once it can; a warning only when it stays away', async () => {
  const port = await freePort();
  const remote = createRemoteEventBus({ url: `http://127.0.0.1:${port}/bus`, token: 'follow-topic-test-token' });
  disposers.push(() => remote.close());
  const { logger, logged } = quietLogger();
  const seen: number[] = [];
  const follower = await followTopic(remote, 'changes', async (event) => void seen.push((event.payload as { n: number }).n), {
    logger,
    purpose: 'test follower',
    retry: { minMs: 20, maxMs: 200 },
  });
  disposers.push(() => follower.stop());
  expect(follower.following()).toBe(false);
  expect(logged).toEqual([{ level: 'info', message: 'test follower cannot follow its topic yet; retrying' }]);
  await waitFor('a warning once the bus has stayed away', () => logged.some((line) => line.level === 'warn'));
  expect(follower.following()).toBe(false);

  const local = createMemoryEventBus();
  disposers.push(() => local.close());
  const served = await serveBusOverHttp(local, { token: 'follow-topic-test-token', port });
  disposers.push(() => served.stop());
  await waitFor('the follower to subscribe', () => follower.following());
  expect(logged.at(-1)).toEqual({ level: 'info', message: 'test follower follows its topic' });
  await waitFor('an event through the bus', async () => {
    await publish(local, 7);
    return seen.includes(7);
  });
});
