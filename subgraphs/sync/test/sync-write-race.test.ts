/**
 * Found by the sync simulation (sync-simulation.test.ts), now closed as far as the vendors allow:
 * the sync reads both systems, plans, then writes, and neither vendor offers conditional writes,
 * so an edit made in between used to be overwritten by a value planned without it, silently. A
 * vendor's 429 with Retry-After on the write widened the window to a second or more: the HTTP
 * client retried the upsert after the wait with the old plan.
 *
 * Here, deterministically: Semble's first name changes; the sync reads and plans to write it to
 * HubSpot, whose upsert answers 429 (Retry-After: 1); meanwhile a CRM user changes the first name
 * (the later write, beyond the clock-skew allowance). By the README's rules the later edit must
 * win. It does now: the sync's writes are not retried after a throttling wait (the patient is a
 * RETRY, and the inbox's redelivery re-reads and re-plans), and the contacts are re-read just
 * before the upsert (Semble's patient before its update). What remains is the time of one request
 * between that re-read and the write (README, Sync).
 */
import { waitFor } from '../../../lib/event-bus/test/wait-for';
import { startLiveSync } from './live-sync-harness';
import type { LiveSync } from './live-sync-harness';

let live: LiveSync | undefined;
afterAll(() => live?.stop());

/** Inbox events the worker is done with: handled, or set aside after their last try. */
async function handledInboxEvents(): Promise<number> {
  const sample = (series: string) => live!.metric(series).catch(() => 0);
  return (await sample('sync_inbox_events_total{outcome="handled"}')) + (await sample('sync_inbox_events_total{outcome="dead_lettered"}'));
}

it('a CRM edit made while the sync is writing the same field to HubSpot is not lost', async () => {
  live = await startLiveSync({ sweepIntervalMs: false, clockSkewMs: 50 });
  const sync = live;
  const patientId = sync.takeGoodPatient();
  const contactId = sync.contactOf(patientId).id;
  // The first sync, and its echo.
  await sync.editInSemble(patientId, { lastName: 'Baseline' });
  await waitFor('the first sync', () => sync.contactOf(patientId).properties.lastname === 'Baseline', 15_000);
  await sync.deliveriesSettled('hubspot');
  await waitFor('the echo of the first sync', async () => (await sync.syncEvents()).some((event) => event.patientId === patientId && event.source === 'CRM' && event.outcome === 'SKIPPED'), 15_000);

  const upserts = sync.crmWrites();
  await fetch(`${sync.hubspot.url}/__admin/faults`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ status: 429, retryAfterSeconds: 1, times: 1, pathPrefix: '/crm/v3/objects/contacts/batch/upsert' }),
  });
  await sync.editInSemble(patientId, { firstName: 'Semble-Earlier' });
  await waitFor('the upsert answered 429', () => sync.crmWrites() > upserts, 15_000);
  // Well past the clock-skew allowance after the Semble edit (and well inside the 1 s Retry-After).
  await new Promise((resolve) => setTimeout(resolve, 250));
  await sync.editInHubSpot(contactId, { firstname: 'Crm-Later' });
  // Every webhook answered and every inbox event handled (the 429'd one retried included), twice:
  // a handling may write, and its webhooks are new inbox events.
  for (let round = 0; round < 2; round++) {
    await sync.deliveriesSettled('hubspot');
    await sync.deliveriesSettled('semble');
    await waitFor('the inbox to be drained', async () => (await handledInboxEvents()) >= (await sync.inbox()).length, 15_000);
  }
  await waitFor('the CRM edit handled', async () => (await sync.syncEvents()).filter((event) => event.patientId === patientId && event.source === 'CRM').length >= 2, 15_000);

  expect({ semble: sync.semble.store.patients.get(patientId)!.firstName, crm: sync.contactOf(patientId).properties.firstname }).toEqual({ semble: 'Crm-Later', crm: 'Crm-Later' });
});
