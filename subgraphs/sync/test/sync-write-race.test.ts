/**
 * Known bug, found by the sync simulation (sync-simulation.test.ts): the sync's writes are blind.
 * It reads both systems, plans, then writes; an edit a person makes in between is overwritten by
 * a value planned without it, and nothing records that (no conflict, no rejection, no event).
 * A vendor's 429 with Retry-After on the write widens the window to a second or more.
 *
 * Here, deterministically: Semble's first name changes; the sync reads and plans to write it to
 * HubSpot, whose upsert answers 429 (Retry-After: 1); meanwhile a CRM user changes the first name
 * (the later write, beyond the clock-skew allowance); the retried upsert then replaces it with
 * Semble's older value. By the README's rules the later edit must win.
 *
 * Not fixed yet: a fix needs either conditional writes (neither vendor offers them here) or
 * recognising, from HubSpot's property history, a person's change that our own later write
 * replaced (with care for the two clocks), and nothing can recover it on the Semble side, which
 * keeps no history. So this test runs only with SYNC_KNOWN_BUGS=1 (README, Sync).
 */
import { waitFor } from '../../../lib/event-bus/test/wait-for';
import { startLiveSync } from './live-sync-harness';
import type { LiveSync } from './live-sync-harness';

const knownBug = process.env.SYNC_KNOWN_BUGS === '1' ? it : it.skip;

let live: LiveSync | undefined;
afterAll(() => live?.stop());

knownBug('a CRM edit made while the sync is writing the same field to HubSpot is not lost', async () => {
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
  await sync.editInHubSpot(contactId, { firstname: 'Crm-Later' });
  await waitFor('the retried upsert', () => sync.crmWrites() > upserts + 1, 15_000);
  await sync.deliveriesSettled('hubspot');
  await sync.deliveriesSettled('semble');
  await waitFor('the CRM edit handled', async () => (await sync.syncEvents()).filter((event) => event.patientId === patientId && event.source === 'CRM').length >= 2, 15_000);

  expect({ semble: sync.semble.store.patients.get(patientId)!.firstName, crm: sync.contactOf(patientId).properties.firstname }).toEqual({ semble: 'Crm-Later', crm: 'Crm-Later' });
});
