/**
 * What callers of the Redis bus notice when Redis goes away: publishing fails fast (so a
 * webhook is not acknowledged), ping turns false, and work resumes without a gap once it is
 * back. Redis is cut off through a TCP forwarder, so the shared server keeps running.
 */
import { createRedisEventBus } from '../redis';
import type { BusEvent, EventBus } from '../types';
import { REDIS_URL, deleteKeys, uniqueKeyPrefix } from './redis-keys';
import { startSilentServer, startTcpProxy, unusedPort } from './tcp-proxy';
import type { TcpProxy } from './tcp-proxy';
import { settlesWithin, waitFor } from './wait-for';

const keyPrefix = uniqueKeyPrefix();
const redisPort = Number(new URL(REDIS_URL).port || 6379);
const redisHost = new URL(REDIS_URL).hostname;
/** Generous: the bus is configured to give up within about a second. */
const FAIL_FAST_DEADLINE_MS = 5000;

const disposers: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const dispose of disposers.splice(0).reverse()) await dispose();
});
afterAll(() => deleteKeys(keyPrefix));

async function openBus(url: string): Promise<EventBus> {
  const bus = await createRedisEventBus({ url, keyPrefix });
  disposers.push(() => bus.close());
  return bus;
}

async function openProxy(): Promise<TcpProxy> {
  const proxy = await startTcpProxy(redisPort, redisHost);
  disposers.push(() => proxy.cut());
  return proxy;
}

it('rejects a publish when nothing listens at the Redis address', async () => {
  const bus = await openBus(`redis://127.0.0.1:${await unusedPort()}`);
  const publishing = bus.publish({ topic: 'outage.nothing-listens', type: 'test', payload: {} });
  await expect(settlesWithin('publish', publishing, FAIL_FAST_DEADLINE_MS)).rejects.toThrow(/ECONNREFUSED/);
  expect(await bus.ping()).toBe(false);
});

it('rejects a publish when Redis accepts the connection but never answers', async () => {
  const silent = await startSilentServer();
  disposers.push(() => silent.stop());
  const bus = await settlesWithin('createRedisEventBus', openBus(`redis://127.0.0.1:${silent.port}`), FAIL_FAST_DEADLINE_MS);
  const publishing = bus.publish({ topic: 'outage.silent', type: 'test', payload: {} });
  await expect(settlesWithin('publish', publishing, FAIL_FAST_DEADLINE_MS)).rejects.toThrow(/did not answer/);
  expect(await settlesWithin('ping', bus.ping(), FAIL_FAST_DEADLINE_MS)).toBe(false);
});

it('rejects a publish once the connection to Redis is gone, and publishes again when Redis is back', async () => {
  const proxy = await openProxy();
  const bus = await openBus(`redis://127.0.0.1:${proxy.port}`);
  const topic = 'outage.connection-lost';
  const before = await bus.publish({ topic, type: 'test', payload: { n: 1 } });

  await proxy.cut();
  const publishing = bus.publish({ topic, type: 'test', payload: { n: 2 } });
  await expect(settlesWithin('publish', publishing, FAIL_FAST_DEADLINE_MS)).rejects.toThrow();
  expect(await bus.ping()).toBe(false);

  await proxy.restore();
  expect(await bus.ping()).toBe(true);
  const after = await bus.publish({ topic, type: 'test', payload: { n: 3 } });
  expect(await bus.read(topic, { after: before.cursor })).toEqual([after]);
});

it('tells a subscriber the connection was lost, then resumes without a gap when Redis is back', async () => {
  const proxy = await openProxy();
  const subscriberBus = await openBus(`redis://127.0.0.1:${proxy.port}`);
  const publisherBus = await openBus(REDIS_URL);
  const topic = 'outage.subscriber';
  const received: BusEvent[] = [];
  const errors: Error[] = [];
  disposers.push(
    await subscriberBus.subscribe(topic, {}, (event) => void received.push(event), (error) => errors.push(error)),
  );
  const published = [await publisherBus.publish({ topic, type: 'test', payload: { n: 0 } })];
  await waitFor('the first event', () => received.length === 1);

  await proxy.cut();
  await waitFor('the lost connection to be reported', () => errors.length > 0);
  for (let n = 1; n <= 5; n += 1) published.push(await publisherBus.publish({ topic, type: 'test', payload: { n } }));
  await proxy.restore();

  await waitFor('the events published during the outage', () => received.length >= published.length);
  expect(received).toEqual(published);
  expect(errors).toHaveLength(1);
});

it('keeps a consumer working through an outage, handling every event once Redis is back', async () => {
  const proxy = await openProxy();
  const workerBus = await openBus(`redis://127.0.0.1:${proxy.port}`);
  const publisherBus = await openBus(REDIS_URL);
  const topic = 'outage.consumer';
  const handled: string[] = [];
  disposers.push(
    await workerBus.consume(topic, { group: 'workers', consumer: 'a' }, async (event) => void handled.push(event.cursor)),
  );
  const published = [(await publisherBus.publish({ topic, type: 'test', payload: { n: 0 } })).cursor];
  await waitFor('the first event', () => handled.length === 1);

  await proxy.cut();
  for (let n = 1; n <= 5; n += 1) published.push((await publisherBus.publish({ topic, type: 'test', payload: { n } })).cursor);
  await proxy.restore();

  await waitFor('the events published during the outage', () => handled.length >= published.length);
  expect(handled).toEqual(published);
});
