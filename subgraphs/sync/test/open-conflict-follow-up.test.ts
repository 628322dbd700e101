/**
 * What happens to an open conflict when the systems keep changing: the field stays untouched on
 * both sides while it waits for review (even when only one side changes again), its values follow
 * the systems, and once both systems hold the same value the conflict closes itself
 * (SOURCES_AGREE, recorded as resolved by the sync engine) and the patient is in sync again.
 */
import { CONFLICTS_TOPIC } from '../src/inbox';
import { startSyncHarness } from './sync-harness';
import type { SyncHarness } from './sync-harness';

let h: SyncHarness;
let patientId: string;
let agreedPhone: string;

beforeAll(async () => {
  h = await startSyncHarness({ server: true });
  patientId = h.goodPatientsWithContact()[1]!;
  await h.handler.handle({ receivedAt: new Date().toISOString(), items: [{ vendor: 'semble', eventType: 'PATIENT_UPDATED', id: patientId }] });
  await h.deliverWebhooks();
  const phone = h.semble.store.patients.get(patientId)!.phones![0]!.phoneNumber;
  if (!phone) throw new Error('the chosen seed patient has no phone');
  agreedPhone = phone;
});
afterAll(() => h.stop());

async function adminPatch(url: string, body: unknown): Promise<void> {
  const response = await fetch(url, { method: 'PATCH', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  expect(response.status).toBe(200);
}
const setSemblePhone = (phone: string) => adminPatch(`${h.semble.url}/__admin/patients/${patientId}`, { phone });
const setCrmPhone = (phone: string) => adminPatch(`${h.hubspot.url}/__admin/contacts/${h.contactOf(patientId).id}`, { properties: { phone } });

it('keeps both sides untouched while the conflict is open, even when Semble goes back to the old phone', async () => {
  await setSemblePhone('07911 555111');
  await setCrmPhone('+447922555222');
  await h.deliverWebhooks();
  const [open] = await h.store.conflictsOfPatient(patientId, 'OPEN');
  expect(open).toMatchObject({ field: 'phone', crmValue: '+447922555222' });

  // Semble's user restores the phone both systems last agreed on. Outside review this would
  // count as "only the CRM changed" and overwrite the CRM's phone.
  await setSemblePhone(agreedPhone);
  await h.deliverWebhooks();

  expect(h.contactOf(patientId).properties.phone).toBe('+447922555222');
  expect(h.semble.store.patients.get(patientId)!.phones![0]!.phoneNumber).toBe(agreedPhone);
  const stillOpen = await h.store.conflictsOfPatient(patientId, 'OPEN');
  expect(stillOpen).toHaveLength(1);
  expect(stillOpen[0]!.id).toBe(open!.id);
  expect(stillOpen[0]!.crmValue).toBe('+447922555222');
  expect((await h.store.getStatus(patientId))?.state).toBe('CONFLICT');
});

it('closes the conflict itself once both systems hold the same phone, and the patient is in sync again', async () => {
  const [open] = await h.store.conflictsOfPatient(patientId, 'OPEN');
  const before = (await h.syncEvents()).length;

  // Written differently, the same number once normalised.
  await setCrmPhone('+44 7911 123457');
  await setSemblePhone('07911 123457');
  await h.deliverWebhooks();

  expect(await h.store.conflictsOfPatient(patientId, 'OPEN')).toEqual([]);
  const closed = await h.store.getConflict(open!.id);
  expect(closed).toMatchObject({ status: 'RESOLVED', resolution: 'SOURCES_AGREE', resolvedValue: '+447911123457', resolvedBy: 'sync' });
  expect((await h.store.getStatus(patientId))?.state).toBe('IN_SYNC');
  const resolvedEvents = (await h.syncEvents()).slice(before).filter((event) => event.type === 'CONFLICT_RESOLVED');
  expect(resolvedEvents).toEqual([expect.objectContaining({ patientId, fields: ['phone'], outcome: 'APPLIED', conflictId: open!.id })]);
  const conflictEvents = (await h.bus.read(CONFLICTS_TOPIC)).map((event) => event.payload);
  expect(conflictEvents).toContainEqual({ id: open!.id, patientId, status: 'RESOLVED' });

  // The API shows who closed it; a person can no longer pick a side for it.
  const answer = (await h.graphql(`{ conflict(id: "${open!.id}") { status resolution resolvedBy resolvedValue } }`)) as { data: unknown };
  expect(answer.data).toEqual({ conflict: { status: 'RESOLVED', resolution: 'SOURCES_AGREE', resolvedBy: 'sync', resolvedValue: '+447911123457' } });
  const late = (await h.graphql(`mutation { resolveConflict(id: "${open!.id}", resolution: KEEP_CRM) { id } }`)) as { errors?: Array<{ extensions: { code: string } }> };
  expect(late.errors?.[0]?.extensions.code).toBe('CONFLICT_ALREADY_RESOLVED');
});

it('refuses SOURCES_AGREE from a person: it is recorded by the sync engine only', async () => {
  await setSemblePhone('07911 777111');
  await setCrmPhone('+447922777222');
  await h.deliverWebhooks();
  const [open] = await h.store.conflictsOfPatient(patientId, 'OPEN');
  const answer = (await h.graphql(`mutation { resolveConflict(id: "${open!.id}", resolution: SOURCES_AGREE) { id } }`)) as {
    errors?: Array<{ message: string; extensions: { code: string } }>;
  };
  expect(answer.errors?.[0]?.extensions.code).toBe('BAD_USER_INPUT');
  expect(answer.errors?.[0]?.message).toContain('KEEP_SEMBLE, KEEP_CRM, CUSTOM');
  expect(await h.store.conflictsOfPatient(patientId, 'OPEN')).toHaveLength(1);
});
