/**
 * Replay de-duplication stores, memory and Redis, against one set of behaviours: a key is
 * claimed once within its window, a released key can be claimed again, and a key is free
 * again once its window is over.
 */
import { createClient } from 'redis';
import { REDIS_URL, deleteKeys, uniqueKeyPrefix } from '../../../lib/event-bus/test/redis-keys';
import { sleep } from '../../../lib/event-bus/test/wait-for';
import { unusedPort } from '../../../lib/event-bus/test/tcp-proxy';
import { createMemoryWebhookDedupe, createRedisWebhookDedupe, PENDING_TTL_MS } from '../src/webhooks';
import type { WebhookDedupe } from '../src/webhooks';

const keyPrefix = uniqueKeyPrefix();
afterAll(() => deleteKeys(keyPrefix));

const stores: Array<[string, () => WebhookDedupe]> = [
  ['memory', () => createMemoryWebhookDedupe()],
  ['redis', () => createRedisWebhookDedupe({ url: REDIS_URL, keyPrefix })],
];

describe.each(stores)('%s webhook dedupe', (_name, create) => {
  let dedupe: WebhookDedupe;
  let run = 0;
  const key = (label: string) => `test:${label}:${process.pid}:${(run += 1)}`;
  beforeEach(() => {
    dedupe = create();
  });
  afterEach(() => dedupe.close());

  it('claims a key the first time only; a second delivery sees it pending, then seen once confirmed', async () => {
    const id = key('once');
    expect(await dedupe.claim(id)).toBe('claimed');
    expect(await dedupe.claim(id)).toBe('pending');
    await dedupe.confirm(id);
    expect(await dedupe.claim(id)).toBe('seen');
    expect(await dedupe.claim(key('other'))).toBe('claimed');
  });

  it('lets exactly one of concurrent claims of the same key win', async () => {
    const id = key('race');
    const results = await Promise.all(Array.from({ length: 10 }, () => dedupe.claim(id)));
    expect(results.filter((result) => result === 'claimed')).toHaveLength(1);
    expect(results.filter((result) => result === 'pending')).toHaveLength(9);
  });

  it('claims a released key again', async () => {
    const id = key('released');
    expect(await dedupe.claim(id)).toBe('claimed');
    await dedupe.release(id);
    expect(await dedupe.claim(id)).toBe('claimed');
    await dedupe.confirm(id);
    expect(await dedupe.claim(id)).toBe('seen');
  });

  it('frees a key once its window is over', async () => {
    const id = key('window');
    expect(await dedupe.claim(id, 50)).toBe('claimed');
    await dedupe.confirm(id, 50);
    expect(await dedupe.claim(id, 50)).toBe('seen');
    // Polls until the key is free (a deadline, not a timing assertion).
    let claimedAgain = false;
    const deadline = Date.now() + 5000;
    while (!claimedAgain && Date.now() < deadline) {
      claimedAgain = (await dedupe.claim(id, 50)) === 'claimed';
      if (!claimedAgain) await sleep(20);
    }
    expect(claimedAgain).toBe(true);
  });
});

describe('memory webhook dedupe', () => {
  it('uses its clock for windows, and forgets the oldest keys beyond its capacity', async () => {
    let now = 1_000_000;
    const dedupe = createMemoryWebhookDedupe({ now: () => now, maxEntries: 3, ttlMs: 1000 });
    expect(await dedupe.claim('a')).toBe('claimed');
    await dedupe.confirm('a');
    now += 999;
    expect(await dedupe.claim('a')).toBe('seen');
    now += 1;
    expect(await dedupe.claim('a')).toBe('claimed');
    for (const id of ['b', 'c', 'd']) expect(await dedupe.claim(id)).toBe('claimed');
    expect(await dedupe.claim('a')).toBe('claimed'); // evicted as the oldest
    expect(await dedupe.claim('d')).toBe('pending');
  });

  it('lets a retry through when a pending claim was never confirmed (the receiver died)', async () => {
    let now = 5_000_000;
    const dedupe = createMemoryWebhookDedupe({ now: () => now });
    expect(await dedupe.claim('x')).toBe('claimed');
    now += PENDING_TTL_MS - 1;
    expect(await dedupe.claim('x')).toBe('pending');
    now += 1;
    expect(await dedupe.claim('x')).toBe('claimed');
  });
});

describe('redis webhook dedupe', () => {
  it('writes its keys under its prefix with the window as their expiry', async () => {
    const dedupe = createRedisWebhookDedupe({ url: REDIS_URL, keyPrefix: `${keyPrefix}ttl:` });
    try {
      await dedupe.claim('stripe:evt_1', 120_000);
      await dedupe.confirm('stripe:evt_1', 120_000);
      const client = createClient({ url: REDIS_URL });
      await client.connect();
      try {
        const ttl = await client.pTTL(`${keyPrefix}ttl:stripe:evt_1`);
        expect(ttl).toBeGreaterThan(0);
        expect(ttl).toBeGreaterThan(60_000); // the confirmed window, not the pending one
        expect(ttl).toBeLessThanOrEqual(120_000);
      } finally {
        client.destroy();
      }
    } finally {
      await dedupe.close();
    }
  });

  it('rejects a claim when Redis cannot be reached, so the delivery is not acknowledged', async () => {
    const dedupe = createRedisWebhookDedupe({ url: `redis://127.0.0.1:${await unusedPort()}`, keyPrefix });
    try {
      await expect(dedupe.claim('stripe:evt_2')).rejects.toThrow();
    } finally {
      await dedupe.close();
    }
  });
});
