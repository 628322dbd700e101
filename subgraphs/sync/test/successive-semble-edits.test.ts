/**
 * The issue "successive Semble edits are dropped": a first-name edit, then a last-name edit of
 * the same patient moments later (well inside the 10 s window the ingress used to de-duplicate
 * Semble bodies in). Semble's two webhooks have identical bodies; both must be handed to the
 * worker, and HubSpot must end up with both names. The sweep is off: only webhooks carry changes.
 * A duplicated delivery, on the other hand, must write nothing twice: the worker re-reads the
 * patient and the shadow copy says there is nothing to do.
 */
import { waitFor } from '../../../lib/event-bus/test/wait-for';
import { startLiveSync } from './live-sync-harness';
import type { LiveSync } from './live-sync-harness';

let live: LiveSync;
beforeAll(async () => {
  live = await startLiveSync({ sweepIntervalMs: false });
});
afterAll(() => live?.stop());

const sembleHints = async (patientId: string) =>
  (await live.inbox()).filter((event) => event.type === 'webhook.semble').flatMap((event) => event.payload.items).filter((item) => item.vendor === 'semble' && item.id === patientId);

it('carries two successive Semble edits with identical webhook bodies to HubSpot, both of them', async () => {
  expect(live.server.sweep).toBeNull();
  const patientId = live.takeGoodPatient();
  const contactId = live.contactOf(patientId).id;

  await live.editInSemble(patientId, { firstName: 'Rowena' });
  await waitFor('the first name in HubSpot', () => live.contactOf(patientId).properties.firstname === 'Rowena', 15_000);
  // Everything settles first, as in the issue (6 s apart): HubSpot's echo of our write has come
  // back and been handled (its re-read of Semble must not be what carries the second edit).
  await live.deliveriesSettled('hubspot');
  await waitFor('the echo of the first write to be handled', async () =>
    (await live.syncEvents()).some((event) => event.patientId === patientId && event.source === 'CRM' && event.outcome === 'SKIPPED'),
  15_000);

  // Seconds later, well inside the old window: the same body again, for a different change.
  await live.editInSemble(patientId, { lastName: 'Okafor-Beck' });
  await waitFor('the last name in HubSpot', () => live.contactOf(patientId).properties.lastname === 'Okafor-Beck', 15_000);

  expect(live.hubspot.objects.contacts.get(contactId)!.properties).toMatchObject({ firstname: 'Rowena', lastname: 'Okafor-Beck' });
  // Two hints with the same content, both published: nothing on the wire told them apart.
  expect(await sembleHints(patientId)).toEqual([
    { vendor: 'semble', eventType: 'PATIENT_UPDATED', id: patientId },
    { vendor: 'semble', eventType: 'PATIENT_UPDATED', id: patientId },
  ]);
  const deliveries = (await live.deliveriesSettled('semble')).filter((delivery) => delivery.event === 'PATIENT_UPDATED');
  expect(deliveries.map((delivery) => delivery.status)).toEqual(['delivered', 'delivered']);
  const synced = (await live.syncEvents()).filter((event) => event.patientId === patientId && event.type === 'CONTACT_SYNCED');
  // The first sync also fills what the contact lacked (date of birth); the second is the last name alone.
  expect(synced).toHaveLength(2);
  expect(synced[0]!.fields).toContain('firstName');
  expect(synced[1]!.fields).toEqual(['lastName']);
  expect(await live.graphql(`{ _entities(representations: [{ __typename: "Patient", id: "${patientId}" }]) { ... on Patient { syncStatus { state } } } }`)).toEqual({
    data: { _entities: [{ syncStatus: { state: 'IN_SYNC' } }] },
  });
});

it('writes nothing twice when one Semble delivery arrives twice (a retry after a lost acknowledgement)', async () => {
  const patientId = live.takeGoodPatient();
  const writesBefore = live.crmWrites();
  const eventsBefore = (await live.syncEvents()).length;

  await live.editInSemble(patientId, { firstName: 'Idris' });
  await waitFor('the first name in HubSpot', () => live.contactOf(patientId).properties.firstname === 'Idris', 15_000);
  // The vendor sends the very same request again, as it does when our 200 did not reach it.
  const retry = await fetch(`${live.server.url}/webhooks/semble`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-semble-webhook-secret': 'semble-live-secret' },
    body: JSON.stringify({ eventType: 'PATIENT_UPDATED', data: { id: patientId } }),
  });
  expect(retry.status).toBe(200);
  expect(await retry.json()).toEqual({ duplicate: false, accepted: 1, duplicates: 0 });

  // The repeat is re-read and found in step: a sync event that wrote nothing.
  const after = async () => (await live.syncEvents()).slice(eventsBefore).filter((event) => event.patientId === patientId);
  await waitFor('the repeat to be handled', async () => (await after()).some((event) => event.type === 'PATIENT_SYNCED' && event.source === 'SEMBLE' && event.outcome === 'SKIPPED'), 15_000);
  expect(await sembleHints(patientId)).toHaveLength(2);
  expect((await after()).filter((event) => event.type === 'CONTACT_SYNCED')).toHaveLength(1);
  expect(live.crmWrites()).toBe(writesBefore + 1);
});
