/**
 * What a cache user notices when Redis goes away or hangs: nothing but misses. No call throws,
 * none waits past the cache timeout, the breaker stops asking a dead Redis, and the cache
 * works again once Redis is back. Redis is cut off through a TCP forwarder, so the shared
 * server keeps running for other tests.
 */
import { randomBytes } from 'node:crypto';
import { createCacheStore } from '../store';
import type { CacheBreakerState, CacheStore } from '../store';
import { REDIS_URL, deleteKeys } from '../../event-bus/test/redis-keys';
import { startSilentServer, startTcpProxy, unusedPort } from '../../event-bus/test/tcp-proxy';
import { settlesWithin, waitFor } from '../../event-bus/test/wait-for';

const namespace = `pg:test:cache-outage:${process.pid}:${randomBytes(4).toString('hex')}`;
const secret = randomBytes(32);
/** Generous for a loaded machine; the store itself gives up after TIMEOUT_MS. */
const SETTLE_MS = 3000;
const TIMEOUT_MS = 100;

const disposers: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const dispose of disposers.splice(0).reverse()) await dispose();
});
afterAll(() => deleteKeys(namespace));

function openStore(url: string, observe?: { errors: string[]; states: CacheBreakerState[] }): CacheStore {
  const store = createCacheStore({
    namespace,
    redisUrl: url,
    secret,
    timeoutMs: TIMEOUT_MS,
    breaker: { failures: 3, halfOpenAfterMs: 300 },
    onError: (operation) => observe?.errors.push(operation),
    onBreakerChange: (state) => observe?.states.push(state),
  });
  disposers.push(() => store.close());
  return store;
}

const entry = (key: string) => ({ key, value: { ok: true }, ttlMs: 60_000, tags: [`T:${key}`] });

it('answers misses, and never throws, when nothing listens at the Redis address', async () => {
  const observed = { errors: [] as string[], states: [] as CacheBreakerState[] };
  const store = openStore(`redis://127.0.0.1:${await unusedPort()}`, observed);
  expect(await settlesWithin('getMany', store.getMany(['a', 'b']), SETTLE_MS)).toEqual([undefined, undefined]);
  await settlesWithin('setMany', store.setMany([entry('a')]), SETTLE_MS);
  expect((await settlesWithin('invalidate', store.invalidate(['T:a']), SETTLE_MS)).total).toBe(0);
  expect(observed.errors).toEqual(['get', 'set', 'invalidate']);
  // Three failures in a row open the breaker: the next call is a miss without asking Redis.
  expect(store.breakerState()).toBe('open');
  expect(observed.states).toEqual(['open']);
  expect(await store.getMany(['a'])).toEqual([undefined]);
  expect(observed.errors).toHaveLength(4);
});

it('gives up on a Redis that accepts connections but never answers', async () => {
  const silent = await startSilentServer();
  disposers.push(() => silent.stop());
  const store = openStore(`redis://127.0.0.1:${silent.port}`);
  expect(await settlesWithin('getMany', store.getMany(['a']), SETTLE_MS)).toEqual([undefined]);
  await settlesWithin('setMany', store.setMany([entry('a')]), SETTLE_MS);
});

it('serves misses while the connection is cut, and hits again once Redis is back', async () => {
  const redis = new URL(REDIS_URL);
  const proxy = await startTcpProxy(Number(redis.port || 6379), redis.hostname);
  disposers.push(() => proxy.cut());
  const store = openStore(`redis://127.0.0.1:${proxy.port}`);
  const key = `cut:${randomBytes(4).toString('hex')}`;
  await store.setMany([entry(key)]);
  expect(await store.getMany([key])).toEqual([{ ok: true }]);

  await proxy.cut();
  for (let i = 0; i < 5; i++) expect(await settlesWithin('getMany while cut', store.getMany([key]), SETTLE_MS)).toEqual([undefined]);
  expect(store.breakerState()).toBe('open');

  await proxy.restore();
  await waitFor('the cache to answer again', async () => (await store.getMany([key]))[0] !== undefined, 15_000);
  expect(store.breakerState()).toBe('closed');
});
