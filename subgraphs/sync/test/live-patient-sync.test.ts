/**
 * The worker's patient sync against the real emulators: a non-critical Semble change reaches
 * HubSpot; the echo of our own write is a no-op (no ping-pong); low-quality data is held with
 * nothing written; a vendor outage leaves the inbox event pending until the bus redelivers it;
 * a patient that does not exist is given up with a FAILED event.
 */
import { waitFor } from '../../../lib/event-bus/test/wait-for';
import { createLogger } from '../../../lib/logger';
import { INBOX_TOPIC } from '../src/inbox';
import type { InboxPayload } from '../src/inbox';
import { startSyncWorker } from '../src/worker';
import { startSyncHarness } from './sync-harness';
import type { SyncHarness } from './sync-harness';

let h: SyncHarness;
let good: string[];

beforeAll(async () => {
  h = await startSyncHarness({ patients: 40 });
  good = h.goodPatientsWithContact();
});
afterAll(() => h.stop());

const changed = (id: string): InboxPayload => ({ receivedAt: new Date().toISOString(), items: [{ vendor: 'semble', eventType: 'PATIENT_UPDATED', id }] });
const upserts = () => h.hubspot.counts().byRoute['POST /crm/v3/objects/contacts/batch/upsert'] ?? 0;

async function requests(url: string): Promise<number> {
  return ((await (await fetch(`${url}/__admin/requests`)).json()) as { total: number }).total;
}

it('carries a first-name change made in Semble to the HubSpot contact', async () => {
  const patientId = good[0]!;
  await h.handler.handle(changed(patientId));
  await h.deliverWebhooks();
  const before = (await h.syncEvents()).length;

  const response = await fetch(`${h.semble.url}/__admin/patients/${patientId}`, {
    method: 'PATCH',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ firstName: 'Augusta' }),
  });
  expect(response.status).toBe(200);
  await h.deliverWebhooks();

  expect(h.contactOf(patientId).properties.firstname).toBe('Augusta');
  const events = (await h.syncEvents()).slice(before);
  expect(events).toContainEqual(expect.objectContaining({ type: 'CONTACT_SYNCED', patientId, source: 'SEMBLE', target: 'CRM', fields: ['firstName'], outcome: 'APPLIED' }));
  expect((await h.store.getStatus(patientId))?.state).toBe('IN_SYNC');
});

it('treats the webhook of its own write as a no-op, so nothing bounces back and forth', async () => {
  const patientId = good[0]!;
  const writesBefore = upserts();
  const sembleChangedAt = h.semble.store.patients.get(patientId)!.updatedAt;
  const before = (await h.syncEvents()).length;

  // The HubSpot echo of the first-name write (changeSource INTEGRATION) reaches the worker.
  const echoes = await h.deliverWebhooks();
  expect(echoes.length).toBeGreaterThan(0);
  expect(echoes.every((item) => item.vendor === 'hubspot' && item.changeSource === 'INTEGRATION')).toBe(true);

  const events = (await h.syncEvents()).slice(before);
  expect(events.length).toBeGreaterThan(0);
  expect(events.every((event) => event.outcome === 'SKIPPED')).toBe(true);
  expect(upserts()).toBe(writesBefore);
  expect(h.semble.store.patients.get(patientId)!.updatedAt).toBe(sembleChangedAt);
  // Nothing was written, so nothing more comes back.
  expect(await h.deliverWebhooks()).toEqual([]);
});

it('holds a patient whose data scores below 60: nothing written, status and event say HELD_FOR_REVIEW', async () => {
  const patientId = good[1]!;
  // Three issues (invalid email, phone and NHS number) give a score of 40.
  const patient = h.semble.store.patients.get(patientId)!;
  patient.email = 'not-an-email';
  patient.phones = [{ phoneId: `${patientId}-phone-1`, phoneType: 'Mobile', phoneNumber: '12345' }];
  patient.numbers = [{ id: `${patientId}-nhs`, name: 'NHS_UK', value: '943 476 5910' }];
  // The CRM holds the same values: a critical field that differed would be a conflict instead (see sync-rules-live).
  Object.assign(h.contactOf(patientId).properties, { email: 'not-an-email', phone: '12345' });
  const contactBefore = structuredClone(h.contactOf(patientId));
  const writesBefore = upserts();

  await h.handler.handle(changed(patientId));

  expect(upserts()).toBe(writesBefore);
  expect(h.contactOf(patientId)).toEqual(contactBefore);
  expect(await h.store.getStatus(patientId)).toMatchObject({ state: 'HELD_FOR_REVIEW', lastSyncedAt: null });
  expect(await h.store.getShadow(patientId)).toBeNull();
  const held = (await h.syncEvents()).filter((event) => event.type === 'HELD_FOR_REVIEW' && event.patientId === patientId);
  expect(held).toHaveLength(1);
  expect(held[0]).toMatchObject({ outcome: 'HELD', target: 'CRM' });
  // What the first sync would have filled in on the contact.
  expect(held[0]!.fields).toEqual(expect.arrayContaining(['dateOfBirth', 'address']));
});

it('leaves the inbox event pending while HubSpot is down and syncs it when the bus redelivers it', async () => {
  const patientId = good[2]!;
  const worker = await startSyncWorker({ bus: h.bus, store: h.store, clients: h.clients, logger: createLogger('sync-test'), consumer: 'retry-test', claimAfterMs: 100 });
  try {
    // Every attempt of the first handling fails (the client retries twice itself).
    await fetch(`${h.hubspot.url}/__admin/faults`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ status: 503, times: 3 }) });
    const hubspotRequests = await requests(h.hubspot.url);
    await h.bus.publish({ topic: INBOX_TOPIC, type: 'test', payload: changed(patientId) });

    let synced = false;
    const poll = setInterval(() => {
      void h.syncEvents().then((events) => {
        synced = events.some((event) => event.patientId === patientId && event.type === 'CONTACT_SYNCED');
      });
    }, 20);
    try {
      await waitFor('the patient to be synced after redelivery', () => synced);
    } finally {
      clearInterval(poll);
    }
    expect(await requests(h.hubspot.url)).toBeGreaterThan(hubspotRequests + 3);
    expect((await h.syncEvents()).filter((event) => event.patientId === patientId && event.type === 'FAILED')).toEqual([]);
    expect(h.contactOf(patientId).properties.date_of_birth).toBe(h.semble.store.patients.get(patientId)!.dob);
  } finally {
    await fetch(`${h.hubspot.url}/__admin/faults`, { method: 'DELETE' });
    await worker.stop();
  }
});

it('gives up on a patient Semble does not have, with a FAILED event, instead of retrying forever', async () => {
  await expect(h.handler.handle(changed('000000000000000000000000'))).resolves.toBeUndefined();
  const failed = (await h.syncEvents()).filter((event) => event.type === 'FAILED');
  expect(failed).toEqual([expect.objectContaining({ patientId: '000000000000000000000000', outcome: 'FAILED', source: 'SEMBLE' })]);
});
