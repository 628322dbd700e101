/**
 * The sweep's checkpoints move only over what it handled: a run whose listing fails leaves them
 * where they were, so the next run still finds (and repairs) the change; and only one replica
 * sweeps at a time (the store lock), the others skip the run.
 */
import { SWEEP_CHECKPOINT, SWEEP_LOCK } from '../src/sweep';
import { startLiveSync } from './live-sync-harness';
import type { LiveSync } from './live-sync-harness';

let live: LiveSync;
beforeAll(async () => {
  live = await startLiveSync({ sweepIntervalMs: 3_600_000 });
});
afterAll(() => live?.stop());

it('keeps its checkpoints through a failed run, and repairs the change in the next one', async () => {
  const sweep = live.server.sweep!;
  await sweep.runOnce();
  const checkpoint = await live.server.store.getCheckpoint(SWEEP_CHECKPOINT);
  const patientId = live.takeGoodPatient();
  await live.dropNextWebhook('semble');
  await live.editInSemble(patientId, { firstName: 'Perpetua' });

  // HubSpot fails every attempt of the run's search (the client tries three times).
  await fetch(`${live.hubspot.url}/__admin/faults`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ status: 503, times: 3 }) });
  try {
    expect(await sweep.runOnce()).toMatchObject({ outcome: 'failed' });
  } finally {
    await fetch(`${live.hubspot.url}/__admin/faults`, { method: 'DELETE' });
  }
  expect(await live.server.store.getCheckpoint(SWEEP_CHECKPOINT)).toBe(checkpoint);
  expect(await live.metric('sync_sweep_runs_total{outcome="failed"}')).toBe(1);
  expect(live.contactOf(patientId).properties.firstname).not.toBe('Perpetua');

  expect(await sweep.runOnce()).toMatchObject({ outcome: 'completed', report: { repaired: 1 } });
  expect(live.contactOf(patientId).properties.firstname).toBe('Perpetua');
  expect(await live.server.store.getCheckpoint(SWEEP_CHECKPOINT)).not.toBe(checkpoint);
});

it('skips a run while another replica holds the sweep lock', async () => {
  const sweep = live.server.sweep!;
  const run = await live.server.store.withLock(SWEEP_LOCK, { ttlMs: 10_000, waitMs: 0 }, () => sweep.runOnce());
  expect(run).toEqual({ outcome: 'skipped' });
  expect(await live.metric('sync_sweep_runs_total{outcome="skipped"}')).toBe(1);
  expect(await sweep.runOnce()).toMatchObject({ outcome: 'completed' });
});
