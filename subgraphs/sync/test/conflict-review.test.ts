/**
 * A critical field changed on both sides becomes one conflict for review, with neither system
 * overwritten; resolving it writes the chosen value to both systems, records who and when,
 * publishes the resolution, and the echoes of those writes change nothing.
 */
import { CONFLICTS_TOPIC } from '../src/inbox';
import type { ConflictEventPayload } from '../src/inbox';
import { startSyncHarness } from './sync-harness';
import type { SyncHarness } from './sync-harness';

const SEMBLE_PHONE = '07911 123456';
const CRM_PHONE = '+447922654321';

let h: SyncHarness;
let patientId: string;

beforeAll(async () => {
  h = await startSyncHarness({ server: true });
  patientId = h.goodPatientsWithContact()[0]!;
  // A first sync agrees the values (the shadow), and its echoes are handled.
  await h.handler.handle({ receivedAt: new Date().toISOString(), items: [{ vendor: 'semble', eventType: 'PATIENT_UPDATED', id: patientId }] });
  await h.deliverWebhooks();
});
afterAll(() => h.stop());

async function adminPatch(url: string, body: unknown): Promise<void> {
  const response = await fetch(url, { method: 'PATCH', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  expect(response.status).toBe(200);
}

const sembleFirstPhone = () => h.semble.store.patients.get(patientId)!.phones![0]!.phoneNumber;

it('opens exactly one conflict when the phone changed in Semble and in HubSpot, and overwrites neither', async () => {
  const contactId = h.contactOf(patientId).id;
  await adminPatch(`${h.semble.url}/__admin/patients/${patientId}`, { phone: SEMBLE_PHONE });
  await adminPatch(`${h.hubspot.url}/__admin/contacts/${contactId}`, { properties: { phone: CRM_PHONE } });
  const before = (await h.syncEvents()).length;

  // Both webhooks reach the worker: each re-syncs the patient, the second re-detects the same conflict.
  const items = await h.deliverWebhooks();
  expect(items.map((item) => item.vendor).sort()).toEqual(['hubspot', 'semble']);

  const open = await h.store.conflictsOfPatient(patientId, 'OPEN');
  expect(open).toHaveLength(1);
  expect(open[0]).toMatchObject({ field: 'phone', sembleValue: '+447911123456', crmValue: CRM_PHONE, status: 'OPEN' });
  expect(sembleFirstPhone()).toBe(SEMBLE_PHONE);
  expect(h.contactOf(patientId).properties.phone).toBe(CRM_PHONE);
  expect((await h.store.getStatus(patientId))?.state).toBe('CONFLICT');

  const events = (await h.syncEvents()).slice(before);
  const opened = events.filter((event) => event.type === 'CONFLICT_OPENED');
  expect(opened).toHaveLength(1);
  expect(opened[0]).toMatchObject({ patientId, fields: ['phone'], outcome: 'CONFLICT', conflictId: open[0]!.id });
  // Field names only, never values.
  expect(JSON.stringify(events)).not.toContain('7922654321');
  const conflictEvents = await h.bus.read(CONFLICTS_TOPIC);
  expect(conflictEvents.map((event) => event.payload)).toEqual([{ id: open[0]!.id, patientId, status: 'OPEN' }]);
  expect(open[0]!.cursor).toBe(conflictEvents[0]!.cursor);
});

it('resolves KEEP_CRM by writing the CRM value to Semble, recording who and when, and publishing the resolution', async () => {
  const [conflict] = await h.store.conflictsOfPatient(patientId, 'OPEN');
  const mutation = /* GraphQL */ `
    mutation ($id: ID!, $resolution: ConflictResolution!) {
      resolveConflict(id: $id, resolution: $resolution) { id status resolution resolvedValue resolvedBy resolvedAt cursor patient { id } }
    }`;
  // Who resolved it is the subject the gateway signed for, the only identity the subgraph takes.
  const answer = await h.graphql<{ resolveConflict: Record<string, unknown> }>(mutation, { id: conflict!.id, resolution: 'KEEP_CRM' }, { subject: 'staff-42', roles: ['admin'] });
  expect(answer.errors).toBeUndefined();
  const resolved = answer.data!.resolveConflict;
  expect(resolved).toMatchObject({ id: conflict!.id, status: 'RESOLVED', resolution: 'KEEP_CRM', resolvedValue: CRM_PHONE, resolvedBy: 'staff-42', patient: { id: patientId } });
  expect(typeof resolved.resolvedAt).toBe('string');

  expect(sembleFirstPhone()).toBe(CRM_PHONE);
  expect(h.contactOf(patientId).properties.phone).toBe(CRM_PHONE);
  expect((await h.store.getShadow(patientId))?.values.phone).toBe(CRM_PHONE);

  const resolvedEvents = (await h.syncEvents()).filter((event) => event.type === 'CONFLICT_RESOLVED');
  expect(resolvedEvents).toEqual([expect.objectContaining({ patientId, conflictId: conflict!.id, fields: ['phone'], outcome: 'APPLIED', source: 'CRM', target: 'SEMBLE' })]);
  const conflictEvents = await h.bus.read(CONFLICTS_TOPIC);
  const last = conflictEvents[conflictEvents.length - 1]!;
  expect(last.payload as ConflictEventPayload).toEqual({ id: conflict!.id, patientId, status: 'RESOLVED' });
  expect(resolved.cursor).toBe(last.cursor);

  // The Semble write comes back as a webhook: a no-op, and no conflict reappears.
  const sembleWrites = h.semble.store.patients.get(patientId)!.updatedAt;
  await h.deliverWebhooks();
  expect(await h.store.conflictsOfPatient(patientId, 'OPEN')).toEqual([]);
  expect(h.semble.store.patients.get(patientId)!.updatedAt).toBe(sembleWrites);
  expect((await h.store.getStatus(patientId))?.state).toBe('IN_SYNC');
});

it('answers a repeated resolution with the stored one and refuses a different one', async () => {
  const [conflict] = await h.store.conflictsOfPatient(patientId, 'RESOLVED');
  const mutation = /* GraphQL */ `
    mutation ($id: ID!, $resolution: ConflictResolution!) { resolveConflict(id: $id, resolution: $resolution) { resolvedBy resolvedAt } }`;
  const again = await h.graphql<{ resolveConflict: { resolvedBy: string; resolvedAt: string } }>(mutation, { id: conflict!.id, resolution: 'KEEP_CRM' });
  expect(again.data!.resolveConflict).toEqual({ resolvedBy: 'staff-42', resolvedAt: conflict!.resolvedAt });

  const different = await h.graphql(mutation, { id: conflict!.id, resolution: 'KEEP_SEMBLE' });
  expect(different.errors?.[0]?.extensions?.code).toBe('CONFLICT_ALREADY_RESOLVED');
  const unknown = await h.graphql(mutation, { id: 'no-such-conflict', resolution: 'KEEP_SEMBLE' });
  expect(unknown.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
  expect((await h.syncEvents()).filter((event) => event.type === 'CONFLICT_RESOLVED')).toHaveLength(1);
});
