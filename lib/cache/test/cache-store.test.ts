/** The cache store against memory and a real Redis, and what each backend adds to the contract. */
import { randomBytes } from 'node:crypto';
import { createClient } from 'redis';
import { createCacheStore } from '../store';
import { REDIS_URL, deleteKeys } from '../../event-bus/test/redis-keys';
import { describeCacheStore } from './cache-store.behaviour';

const namespace = `pg:test:cache:${process.pid}:${randomBytes(4).toString('hex')}`;
const sharedSecret = randomBytes(32);
afterAll(() => deleteKeys(namespace));

describeCacheStore('memory', (options) => createCacheStore({ namespace, secret: options?.secret }));
describeCacheStore('redis', (options) =>
  createCacheStore({ namespace, redisUrl: REDIS_URL, secret: options?.secret ?? sharedSecret, timeoutMs: 2000 }),
);

describe('memory cache store bounds', () => {
  it('drops the least recently used entry beyond its entry limit, and its tags with it', async () => {
    const store = createCacheStore({ namespace, memory: { maxEntries: 3, maxBytes: 1_000_000 } });
    const entry = (n: number) => ({ key: `k${n}`, value: n, ttlMs: 60_000, tags: [`T:${n}`, 'T:all'] });
    await store.setMany([entry(1), entry(2), entry(3)]);
    await store.getMany(['k1']); // k1 is now the most recently used
    await store.setMany([entry(4)]);
    expect(await store.getMany(['k1', 'k2', 'k3', 'k4'])).toEqual([1, undefined, 3, 4]);
    expect((await store.invalidate(['T:all'])).total).toBe(3);
    await store.close();
  });

  it('drops entries beyond its byte limit', async () => {
    const store = createCacheStore({ namespace, memory: { maxEntries: 1000, maxBytes: 4000 } });
    const big = 'x'.repeat(1500);
    await store.setMany([1, 2, 3, 4].map((n) => ({ key: `b${n}`, value: big, ttlMs: 60_000, tags: [] })));
    const kept = (await store.getMany(['b1', 'b2', 'b3', 'b4'])).filter((value) => value !== undefined);
    expect(kept.length).toBeLessThanOrEqual(2);
    expect(await store.getMany(['b4'])).toEqual([big]);
    await store.close();
  });
});

describe('redis cache store at rest', () => {
  it('keeps no key, tag or value in clear text in Redis', async () => {
    const ownNamespace = `${namespace}:at-rest`;
    const store = createCacheStore({ namespace: ownNamespace, redisUrl: REDIS_URL, secret: sharedSecret, timeoutMs: 2000 });
    const email = 'ada.lovelace@example.org';
    const nhsNumber = '9434765919';
    await store.setMany([
      { key: `Patient:${nhsNumber}:${email}`, value: { email, nhsNumber, phone: '+447700900123' }, ttlMs: 60_000, tags: [`Patient:${nhsNumber}`] },
    ]);
    expect(await store.getMany([`Patient:${nhsNumber}:${email}`])).toEqual([{ email, nhsNumber, phone: '+447700900123' }]);

    const client = createClient({ url: REDIS_URL });
    await client.connect();
    try {
      const dump: string[] = [];
      for await (const keys of client.scanIterator({ MATCH: `${ownNamespace}*`, COUNT: 500 })) {
        for (const key of keys) {
          dump.push(key);
          const type = await client.type(key);
          if (type === 'string') dump.push((await client.get(key)) ?? '');
          if (type === 'set') dump.push(...(await client.sMembers(key)));
        }
      }
      expect(dump.length).toBeGreaterThanOrEqual(3); // the entry, its value, its tag index
      const everything = dump.join('\n');
      for (const secret of [email, nhsNumber, '7700900123', 'Patient']) expect(everything).not.toContain(secret);
    } finally {
      client.destroy();
    }
    await store.close();
  });

  it('refuses to be created without a secret, since replicas must hash keys alike', () => {
    expect(() => createCacheStore({ namespace, redisUrl: REDIS_URL })).toThrow(/secret/);
  });
});
