/**
 * The cache store's contract, as one suite run against every backend (memory, real Redis):
 * values come back as they went in, expire, and leave with their tags; failures are misses.
 */
import { randomBytes } from 'node:crypto';
import type { CacheStore } from '../store';
import { waitFor } from '../../event-bus/test/wait-for';

export type CreateStore = (options?: { secret?: Buffer }) => CacheStore;

export function describeCacheStore(name: string, createStore: CreateStore): void {
  describe(`${name} cache store`, () => {
    const stores: CacheStore[] = [];
    const open = (options?: { secret?: Buffer }) => {
      const store = createStore(options);
      stores.push(store);
      return store;
    };
    afterEach(async () => {
      for (const store of stores.splice(0)) await store.close();
    });
    // Keys of one test never meet another's, also on a shared Redis.
    const unique = () => randomBytes(6).toString('hex');

    it('returns what was stored, in the order of the keys asked for, and undefined for the rest', async () => {
      const store = open();
      const run = unique();
      await store.setMany([
        { key: `${run}:a`, value: { id: 'a', names: ['Ada'] }, ttlMs: 60_000, tags: [] },
        { key: `${run}:b`, value: { id: 'b', nested: { n: 2 } }, ttlMs: 60_000, tags: [] },
      ]);
      expect(await store.getMany([`${run}:b`, `${run}:missing`, `${run}:a`])).toEqual([
        { id: 'b', nested: { n: 2 } },
        undefined,
        { id: 'a', names: ['Ada'] },
      ]);
    });

    it('hands every reader its own copy, so changing a result does not change the cache', async () => {
      const store = open();
      const key = `${unique()}:copy`;
      await store.setMany([{ key, value: { list: [1, 2] }, ttlMs: 60_000, tags: [] }]);
      const [first] = await store.getMany<{ list: number[] }>([key]);
      first!.list.push(3);
      expect(await store.getMany([key])).toEqual([{ list: [1, 2] }]);
    });

    it('does not keep an entry whose time to live is zero', async () => {
      const store = open();
      const key = `${unique()}:zero`;
      await store.setMany([{ key, value: 1, ttlMs: 0, tags: [`Zero:${key}`] }]);
      expect(await store.getMany([key])).toEqual([undefined]);
    });

    it('forgets an entry once its time to live has passed', async () => {
      const store = open();
      const key = `${unique()}:short`;
      await store.setMany([{ key, value: 'soon gone', ttlMs: 200, tags: [] }]);
      expect(await store.getMany([key])).toEqual(['soon gone']);
      await waitFor('the entry to expire', async () => (await store.getMany([key]))[0] === undefined, 5000);
    });

    it('removes every entry tagged with an invalidated tag and nothing else', async () => {
      const store = open();
      const run = unique();
      await store.setMany([
        { key: `${run}:patient-1 in semble`, value: 1, ttlMs: 60_000, tags: [`Patient:${run}-1`] },
        { key: `${run}:patient-1 in crm`, value: 2, ttlMs: 60_000, tags: [`Patient:${run}-1`, `CrmContact:${run}-c1`] },
        { key: `${run}:patient-2`, value: 3, ttlMs: 60_000, tags: [`Patient:${run}-2`] },
      ]);
      const evicted = await store.invalidate([`Patient:${run}-1`]);
      expect(evicted.total).toBe(2);
      expect(await store.getMany([`${run}:patient-1 in semble`, `${run}:patient-1 in crm`, `${run}:patient-2`])).toEqual([undefined, undefined, 3]);
      // The tag is spent: invalidating it again finds nothing.
      expect((await store.invalidate([`Patient:${run}-1`, `CrmContact:${run}-c1`])).total).toBe(0);
    });

    it('keeps an entry stored again after an invalidation findable by its tag', async () => {
      const store = open();
      const run = unique();
      const entry = { key: `${run}:again`, value: 'v1', ttlMs: 60_000, tags: [`Invoice:${run}`] };
      await store.setMany([entry]);
      await store.invalidate([`Invoice:${run}`]);
      await store.setMany([{ ...entry, value: 'v2' }]);
      expect(await store.getMany([entry.key])).toEqual(['v2']);
      expect((await store.invalidate([`Invoice:${run}`])).total).toBe(1);
      expect(await store.getMany([entry.key])).toEqual([undefined]);
    });

    it('replacing an entry replaces its tags', async () => {
      const store = open();
      const run = unique();
      await store.setMany([{ key: `${run}:k`, value: 1, ttlMs: 60_000, tags: [`A:${run}`] }]);
      await store.setMany([{ key: `${run}:k`, value: 2, ttlMs: 60_000, tags: [`A:${run}`, `B:${run}`] }]);
      expect((await store.invalidate([`B:${run}`])).total).toBe(1);
      expect(await store.getMany([`${run}:k`])).toEqual([undefined]);
    });

    it('counts what an invalidation removed by the labels the entries were stored with', async () => {
      const store = open();
      const run = unique();
      const tag = `Patient:${run}`;
      await store.setMany([
        { key: `${run}:a`, value: 1, ttlMs: 60_000, tags: [tag], label: 'semble/Patient' },
        { key: `${run}:b`, value: 2, ttlMs: 60_000, tags: [tag], label: 'crm/Patient' },
        { key: `${run}:c`, value: 3, ttlMs: 60_000, tags: [tag], label: 'crm/Patient' },
      ]);
      const evicted = await store.invalidate([tag]);
      expect(evicted.total).toBe(3);
      expect(Object.fromEntries(evicted.byLabel)).toEqual({ 'semble/Patient': 1, 'crm/Patient': 2 });
    });

    it('treats a value stored under another secret as a miss', async () => {
      const run = unique();
      const writer = open({ secret: randomBytes(32) });
      await writer.setMany([{ key: `${run}:secret`, value: 'sealed', ttlMs: 60_000, tags: [] }]);
      expect(await writer.getMany([`${run}:secret`])).toEqual(['sealed']);
      const stranger = open({ secret: randomBytes(32) });
      expect(await stranger.getMany([`${run}:secret`])).toEqual([undefined]);
    });
  });
}
