/**
 * The cascade's reconciliation sweep (src/sweep.ts) against the real Semble emulator, with the
 * step store in memory and in Redis: it hands the engine each patient created since the cascade
 * first started, as the webhook's `patient.created` event; never a patient from before; one run
 * at a time across replicas (the store lock); and a checkpoint that waits for the engine to take
 * every event.
 */
import { randomUUID } from 'node:crypto';
import { createClient } from 'redis';
import { startEmulator } from '../../../lib/emulator-main';
import type { Listening } from '../../../lib/listen';
import { createLogger } from '../../../lib/logger';
import { createSeedWorld } from '../../../lib/seed';
import { loadCascadeConfig } from '../src/config';
import { createSembleClient } from '../../../lib/vendors/semble';
import { entrypoint as sembleEntrypoint } from '../../semble/emulator/main';
import type { CascadeEvent } from '../src/events';
import { createMemoryCascadeStore } from '../src/store/memory';
import { createRedisCascadeStore } from '../src/store/redis';
import type { CascadeStore } from '../src/store/types';
import { CASCADE_SWEEP_LOCK, startCascadeSweep } from '../src/sweep';
import type { CascadeSweepOptions } from '../src/sweep';

const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const TOKEN = 'cascade-sweep-test-token';
const logger = createLogger('cascade-sweep-test', 'silent');

let semble: Listening;
beforeAll(async () => {
  semble = await startEmulator(sembleEntrypoint, { PORT: '0', SEMBLE_TOKEN: TOKEN }, { world: createSeedWorld({ patients: 20 }) });
});
afterAll(async () => {
  await semble?.stop();
});

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function storeOf(variant: 'memory' | 'redis'): Promise<CascadeStore> {
  if (variant === 'memory') return createMemoryCascadeStore();
  const prefix = `pg-test:cascade-sweep:${randomUUID()}:`;
  const store = createRedisCascadeStore({ url: REDIS_URL, keyPrefix: prefix });
  cleanups.push(async () => {
    await store.close();
    const client = createClient({ url: REDIS_URL });
    await client.connect();
    for await (const keys of client.scanIterator({ MATCH: `${prefix}*`, COUNT: 500 })) if (keys.length) await client.del(keys);
    await client.quit();
  });
  return store;
}

const json = async <T>(response: Response): Promise<T> => {
  if (!response.ok) throw new Error(`${response.status} ${await response.text()}`);
  return (await response.json()) as T;
};
const createPatient = (firstName: string) =>
  fetch(`${semble.url}/__admin/patients`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ firstName, lastName: 'Sweepwell' }) }).then((r) =>
    json<{ id: string; createdAt: string }>(r),
  );
const updatePatient = (id: string) =>
  fetch(`${semble.url}/__admin/patients/${id}`, { method: 'PATCH', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ city: 'Scarborough' }) }).then((r) =>
    json<{ updatedAt: string }>(r),
  );
/** Waits (polling, no fixed sleep) until the wall clock is past `iso`: what follows happens strictly later. */
async function pastInstant(iso: string): Promise<void> {
  while (Date.now() <= Date.parse(iso) + 1) await new Promise((resolve) => setTimeout(resolve, 2));
}

describe.each(['memory', 'redis'] as const)('the cascade sweep with the store in %s', (variant) => {
  async function sweepOf(options: Partial<CascadeSweepOptions> & { store: CascadeStore; accept: CascadeSweepOptions['accept'] }) {
    const sweep = await startCascadeSweep({
      semble: createSembleClient({ baseUrl: semble.url, token: TOKEN }),
      logger,
      owner: 'replica-a',
      // Runs only when the test asks.
      intervalMs: 3_600_000,
      ...options,
    });
    cleanups.push(() => sweep.stop());
    return sweep;
  }

  it('hands the engine each patient created since the cascade started, as the webhook would, and none from before', async () => {
    const before = await createPatient('Earlier');
    await pastInstant(before.createdAt);
    const taken: CascadeEvent[] = [];
    // A wide overlap reaches back past the start: only the floor keeps `Earlier` out.
    const sweep = await sweepOf({ store: await storeOf(variant), accept: async (event) => void taken.push(event), overlapMs: 600_000 });
    await updatePatient(before.id);
    const after = await createPatient('Later');

    const run = await sweep.runOnce();
    expect(run).toMatchObject({ outcome: 'completed', report: { found: 1, accepted: 1, retried: 0 } });
    expect(run.outcome === 'completed' && run.report.listed).toBeGreaterThanOrEqual(2);
    expect(taken.map((event) => [event.id, event.type, event.patientId, event.fields.firstName])).toEqual([[`semble:patient:${after.id}:created`, 'patient.created', after.id, 'Later']]);
  });

  it('skips a run while another replica holds the sweep lock', async () => {
    const store = await storeOf(variant);
    const taken: CascadeEvent[] = [];
    const sweep = await sweepOf({ store, accept: async (event) => void taken.push(event) });
    const made = await createPatient('Locked');
    expect(await store.tryLock(CASCADE_SWEEP_LOCK, 'replica-b', 60_000)).toBe(true);
    expect(await sweep.runOnce()).toEqual({ outcome: 'skipped' });
    expect(taken).toEqual([]);
    await store.unlock(CASCADE_SWEEP_LOCK, 'replica-b');
    expect(await sweep.runOnce()).toMatchObject({ outcome: 'completed', report: { accepted: 1 } });
    expect(taken.map((event) => event.patientId)).toEqual([made.id]);
  });

  it('lists a patient again when the engine could not take its event, and moves on once it has', async () => {
    const store = await storeOf(variant);
    let refuse = true;
    const taken: string[] = [];
    // No overlap: only a checkpoint held back to the patient brings it into the next window.
    const sweep = await sweepOf({
      store,
      overlapMs: 0,
      accept: async (event) => {
        if (refuse) throw new Error('store unavailable');
        taken.push(event.id);
      },
    });
    const made = await createPatient('Retried');
    // Changed since created: a checkpoint at its updatedAt would leave its creation behind.
    await pastInstant(made.createdAt);
    await updatePatient(made.id);

    expect(await sweep.runOnce()).toMatchObject({ outcome: 'completed', report: { found: 1, accepted: 0, retried: 1 } });
    refuse = false;
    expect(await sweep.runOnce()).toMatchObject({ outcome: 'completed', report: { found: 1, accepted: 1, retried: 0 } });
    expect(taken).toEqual([`semble:patient:${made.id}:created`]);
    // Taken: the checkpoint moved past its creation.
    expect(await sweep.runOnce()).toMatchObject({ outcome: 'completed', report: { found: 0 } });
  });
});

describe('the sweep and metrics settings', () => {
  const SECRET = { INTERNAL_TOKEN_SECRET: 'cascade-sweep-settings-internal-secret-012345' };

  it('sweeps every minute from 30 s before its checkpoint unless told otherwise, and 0 turns it off', () => {
    expect(loadCascadeConfig(SECRET)).toMatchObject({ sweepIntervalMs: 60_000, sweepOverlapMs: 30_000 });
    expect(loadCascadeConfig(SECRET).adminToken).toBeUndefined();
    expect(loadCascadeConfig({ ...SECRET, CASCADE_SWEEP_INTERVAL_MS: '0', CASCADE_SWEEP_OVERLAP_MS: '5000' })).toMatchObject({ sweepIntervalMs: 0, sweepOverlapMs: 5000 });
  });

  it('names the variable of a bad value and never echoes the admin token', () => {
    expect(() => loadCascadeConfig({ ...SECRET, CASCADE_SWEEP_INTERVAL_MS: '-1' })).toThrow(/CASCADE_SWEEP_INTERVAL_MS/);
    expect(() => loadCascadeConfig({ ...SECRET, CASCADE_SWEEP_OVERLAP_MS: 'soon' })).toThrow(/CASCADE_SWEEP_OVERLAP_MS/);
    let message = '';
    try {
      loadCascadeConfig({ ...SECRET, CASCADE_ADMIN_TOKEN: 'short-secret' });
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toContain('CASCADE_ADMIN_TOKEN');
    expect(message).not.toContain('short-secret');
  });
});
