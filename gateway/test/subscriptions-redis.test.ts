/**
 * With Redis, every gateway replica delivers to its own subscribers: two gateways follow the
 * same stream, each serves the clients connected to it, and each resolves events itself.
 */
import crypto from 'node:crypto';
import { createClient } from 'redis';
import { createRedisEventBus } from '../../lib/event-bus/redis';
import type { EventBus } from '../../lib/event-bus/types';
import { collect, startSubscriptionRig, waitForSubscribers } from './subscription-fixtures';
import type { SubscriptionRig } from './subscription-fixtures';

const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

describe('two gateway replicas sharing Redis', () => {
  const keyPrefix = `pg:test:${process.pid}:${crypto.randomBytes(4).toString('hex')}:`;
  const buses: EventBus[] = [];
  const rigs: SubscriptionRig[] = [];

  afterAll(async () => {
    for (const rig of rigs) await rig.stop();
    for (const bus of buses) await bus.close();
    const redis = createClient({ url: REDIS_URL });
    await redis.connect();
    for await (const keys of redis.scanIterator({ MATCH: `${keyPrefix}*` })) if (keys.length) await redis.del(keys);
    await redis.quit();
  });

  it('both deliver every event to their own subscribers, resumable with `after` on either', async () => {
    // Each replica has its own bus connection, as separate processes would.
    for (let i = 0; i < 2; i++) {
      const bus = await createRedisEventBus({ url: REDIS_URL, keyPrefix });
      buses.push(bus);
      rigs.push(await startSubscriptionRig(bus));
    }
    const [a, b] = rigs as [SubscriptionRig, SubscriptionRig];
    const query = 'subscription ($after: String) { itemEvents(after: $after) { id kind product { name } } }';
    const onA = collect(a.client(), query);
    const onB = collect(b.client(), query);
    await waitForSubscribers(a.gateway, 1);
    await waitForSubscribers(b.gateway, 1);

    const cursors = [await a.publish('one', 'p1'), await b.publish('two', 'p2'), await a.publish('three', 'p1')];
    for (const sub of [onA, onB]) {
      const results = await sub.waitFor(3);
      expect(results.map((r) => r.data.itemEvents.id)).toEqual(cursors);
      expect(results.map((r) => r.data.itemEvents.product.name)).toEqual(['Stethoscope', 'Otoscope', 'Stethoscope']);
    }
    // A client that drops from replica A resumes on replica B from its last cursor.
    const resumed = collect(b.client(), query, { after: cursors[0] });
    expect((await resumed.waitFor(2)).map((r) => r.data.itemEvents.id)).toEqual(cursors.slice(1));
  });
});
