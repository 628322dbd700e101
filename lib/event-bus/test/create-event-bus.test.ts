/** createEventBus picks Redis when a URL is configured and the in-process bus otherwise. */
import { createClient } from 'redis';
import { createEventBus } from '../index';
import { REDIS_URL, deleteKeys, uniqueKeyPrefix } from './redis-keys';

const keyPrefix = uniqueKeyPrefix();
afterAll(() => deleteKeys(keyPrefix));

it('keeps events in Redis when a Redis URL is configured', async () => {
  const bus = await createEventBus({ redisUrl: REDIS_URL, keyPrefix, maxEventsPerTopic: 10 });
  const event = await bus.publish({ topic: 'choice', type: 'test', payload: { n: 1 } });
  await bus.close();

  const client = createClient({ url: REDIS_URL });
  await client.connect();
  try {
    const entries = await client.xRange(`${keyPrefix}choice`, '-', '+');
    expect(entries.map((entry) => entry.id)).toEqual([event.cursor]);
  } finally {
    client.destroy();
  }
});

it('keeps events in memory without a Redis URL', async () => {
  const first = await createEventBus({});
  const second = await createEventBus({});
  await first.publish({ topic: 'choice', type: 'test', payload: {} });
  // Two in-process buses share nothing: the second has never seen the event.
  expect(await first.read('choice')).toHaveLength(1);
  expect(await second.read('choice')).toEqual([]);
  await Promise.all([first.close(), second.close()]);
});
