/**
 * The reconciliation sweep repairs what a lost webhook left behind. The vendors are told to lose
 * their next webhook (emulator admin switch); the change is then seen by nobody but the sweep,
 * which finds it by `updatedAt` (Semble) or `lastmodifieddate` (HubSpot's search), runs the
 * patient through the same sync as a webhook would, and reports the repair: in its run report,
 * in Query.syncSweep and on /metrics. Runs are started by hand (the interval is long) so each
 * report can be checked; the last test checks the sweep also runs on its own.
 */
import { waitFor } from '../../../lib/event-bus/test/wait-for';
import { loadSyncConfig } from '../src/config';
import { startLiveSync } from './live-sync-harness';
import type { LiveSync } from './live-sync-harness';

let live: LiveSync;
beforeAll(async () => {
  live = await startLiveSync({ sweepIntervalMs: 3_600_000 });
});
afterAll(() => live?.stop());

it('is on by default, every minute', () => {
  const config = loadSyncConfig({ INTERNAL_TOKEN_SECRET: 'x'.repeat(32) });
  expect(config).toMatchObject({ sweepEnabled: true, sweepIntervalMs: 60_000, sweepOverlapMs: 30_000 });
  expect(loadSyncConfig({ INTERNAL_TOKEN_SECRET: 'x'.repeat(32), SYNC_SWEEP_ENABLED: 'false' }).sweepEnabled).toBe(false);
  expect(loadSyncConfig({ INTERNAL_TOKEN_SECRET: 'x'.repeat(32), SYNC_SWEEP_INTERVAL_MS: '0' }).sweepIntervalMs).toBe(0);
  expect(() => loadSyncConfig({ INTERNAL_TOKEN_SECRET: 'x'.repeat(32), SYNC_SWEEP_INTERVAL_MS: 'soon' })).toThrow(/SYNC_SWEEP_INTERVAL_MS/);
});

it('repairs a Semble change whose webhook was lost, and reports one repair', async () => {
  const sweep = live.server.sweep!;
  expect(sweep).not.toBeNull();
  // A first run sets the checkpoints; nothing has changed yet.
  expect(await sweep.runOnce()).toMatchObject({ outcome: 'completed', report: { scanned: 0, repaired: 0 } });
  expect(await live.graphql('{ syncSweep { scanned repaired } }')).toEqual({ data: { syncSweep: { scanned: 0, repaired: 0 } } });

  const patientId = live.takeGoodPatient();
  const lastNameBefore = live.contactOf(patientId).properties.lastname;
  await live.dropNextWebhook('semble');
  await live.editInSemble(patientId, { lastName: 'Lost-Webhook' });
  const [lost] = (await live.deliveriesSettled('semble')).filter((delivery) => delivery.event === 'PATIENT_UPDATED');
  expect(lost).toMatchObject({ status: 'failed', lastError: 'DROPPED', attempts: 0 });
  // No hint reached the service, so nothing carried the change.
  expect((await live.inbox()).filter((event) => event.type === 'webhook.semble')).toEqual([]);
  expect(live.contactOf(patientId).properties.lastname).toBe(lastNameBefore);

  const run = await sweep.runOnce();
  expect(run).toMatchObject({ outcome: 'completed', report: { scanned: 1, repaired: 1, retried: 0, failed: 0, held: 0, conflictsOpened: 0 } });
  expect(live.contactOf(patientId).properties.lastname).toBe('Lost-Webhook');
  const synced = (await live.syncEvents()).filter((event) => event.patientId === patientId && event.type === 'CONTACT_SYNCED');
  expect(synced).toHaveLength(1);
  expect(synced[0]!.fields).toContain('lastName');

  const reported = await live.graphql<{ syncSweep: Record<string, unknown> }>('{ syncSweep { lastRunAt startedAt scanned repaired retried conflictsOpened held failed } }');
  expect(reported.data!.syncSweep).toEqual({
    lastRunAt: run.outcome === 'completed' ? run.report.finishedAt : null,
    startedAt: expect.any(String),
    scanned: 1,
    repaired: 1,
    retried: 0,
    conflictsOpened: 0,
    held: 0,
    failed: 0,
  });
  expect(await live.metric('sync_sweep_runs_total{outcome="completed"}')).toBe(2);
  expect(await live.metric('sync_sweep_records_scanned_total')).toBe(1);
  expect(await live.metric('sync_sweep_records_repaired_total')).toBe(1);
  expect(await live.graphql(`{ _entities(representations: [{ __typename: "Patient", id: "${patientId}" }]) { ... on Patient { syncStatus { state } } } }`)).toEqual({
    data: { _entities: [{ syncStatus: { state: 'IN_SYNC' } }] },
  });

  // Once repaired, the patient is in step: the next run (its own write's echo included) writes nothing.
  await live.deliveriesSettled('hubspot');
  const writes = live.crmWrites();
  const again = await sweep.runOnce();
  expect(again).toMatchObject({ outcome: 'completed', report: { repaired: 0 } });
  expect(live.crmWrites()).toBe(writes);
  expect(await live.metric('sync_sweep_records_repaired_total')).toBe(1);
});

it('finds a HubSpot change whose webhook was lost through lastmodifieddate, and syncs that patient', async () => {
  const sweep = live.server.sweep!;
  await sweep.runOnce();
  const patientId = live.takeGoodPatient();
  const contact = live.contactOf(patientId);
  await live.dropNextWebhook('hubspot');
  await live.editInHubSpot(contact.id, { lifecyclestage: 'customer' });
  expect((await live.deliveriesSettled('hubspot')).at(-1)).toMatchObject({ status: 'failed', lastError: 'DROPPED' });
  const status = async () =>
    ((await live.graphql<{ _entities: Array<{ syncStatus: { state: string } }> }>(
      `{ _entities(representations: [{ __typename: "Patient", id: "${patientId}" }]) { ... on Patient { syncStatus { state } } } }`,
    )).data!._entities[0]!.syncStatus.state);
  // Nothing but the lost webhook would have brought this patient to the sync engine.
  expect(await status()).toBe('NEVER_SYNCED');
  const before = (await live.syncEvents()).length;

  const run = await sweep.runOnce();
  // The listings start at the checkpoints inclusively, so the previous test's patient is listed again (and found in step).
  expect(run).toMatchObject({ outcome: 'completed', report: { retried: 0, failed: 0 } });
  const events = (await live.syncEvents()).slice(before).filter((event) => event.patientId === patientId);
  expect(events.length).toBeGreaterThan(0);
  expect(events.filter((event) => event.type === 'FAILED')).toEqual([]);
  expect(await status()).toBe('IN_SYNC');
  expect(live.contactOf(patientId).properties.lifecyclestage).toBe('customer');
});

it('runs by itself at its interval', async () => {
  const quick = await startLiveSync({ sweepIntervalMs: 50 });
  try {
    await waitFor('two sweep runs', async () => (await quick.metric('sync_sweep_runs_total{outcome="completed"}')) >= 2, 15_000);
    expect(await quick.graphql('{ syncSweep { scanned repaired } }')).toEqual({ data: { syncSweep: { scanned: 0, repaired: 0 } } });
  } finally {
    await quick.stop();
  }
});
