/**
 * "No edit lost, no silent overwrite", against the real HTTP emulators: people edit records in
 * Semble's and HubSpot's admin APIs, the emulators send their webhooks, and each webhook request
 * is handled as its own worker batch (deliverWebhooks), so an edit is seen by the worker after
 * the previous one was synced unless a test makes two edits before delivering.
 *
 * The oracle is written out here, by hand: a critical field (email, phone, date of birth) that
 * differs is one conflict and nothing is written; a CRM edit of the Semble-owned address is
 * reverted with a REJECTED_NOT_OWNER event; names are last-write-wins per field using HubSpot's
 * property history; a first sync with a differing critical value writes neither side; an email
 * another patient uses flags the patient (EMAIL_DUPLICATE).
 */
import { assessDataQuality } from '../../../lib/data-quality';
import type { InboxPayload } from '../src/inbox';
import { sembleToRecord } from '../src/records';
import { startSyncHarness } from './sync-harness';
import type { SyncHarness } from './sync-harness';

/** Small, so "later" needs only milliseconds of real time; the default is covered by the planner tests. */
const CLOCK_SKEW_MS = 50;

let h: SyncHarness;
/** Seed patients with a contact, clean data and an email nobody else uses, handed out one per test. */
let fresh: string[];

beforeAll(async () => {
  h = await startSyncHarness({ patients: 60, server: true, clockSkewMs: CLOCK_SKEW_MS });
  const emails = new Map<string, number>();
  for (const patient of h.semble.store.patients.values()) {
    const email = patient.email?.trim().toLowerCase();
    if (email) emails.set(email, (emails.get(email) ?? 0) + 1);
  }
  fresh = h.goodPatientsWithContact().filter((id) => {
    const email = h.semble.store.patients.get(id)!.email?.trim().toLowerCase();
    return email !== undefined && emails.get(email) === 1 && !!h.semble.store.patients.get(id)!.address?.address;
  });
});
afterAll(() => h.stop());

function take(): string {
  const id = fresh.shift();
  if (!id) throw new Error('the seed world ran out of suitable patients');
  return id;
}

const changed = (id: string): InboxPayload => ({ receivedAt: new Date().toISOString(), items: [{ vendor: 'semble', eventType: 'PATIENT_UPDATED', id }] });

async function patch(url: string, body: unknown): Promise<void> {
  const response = await fetch(url, { method: 'PATCH', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  expect(response.status).toBe(200);
}
const editSemble = (patientId: string, changes: Record<string, string>) => patch(`${h.semble.url}/__admin/patients/${patientId}`, changes);
const editCrm = (patientId: string, properties: Record<string, string>) => patch(`${h.hubspot.url}/__admin/contacts/${h.contactOf(patientId).id}`, { properties });
const semblePatient = (patientId: string) => h.semble.store.patients.get(patientId)!;

/** First sync of the patient, then its echoes: afterwards both sides agree and there is a shadow. */
async function baseline(patientId: string): Promise<void> {
  await h.handler.handle(changed(patientId));
  await h.deliverWebhooks();
  expect(await h.store.getShadow(patientId)).not.toBeNull();
  expect(await h.store.conflictsOfPatient(patientId, 'OPEN')).toEqual([]);
}

/** Waits (no fixed sleep) until the wall clock is more than the skew allowance past `iso`, so the next edit is "later". */
async function pastSkew(iso: string): Promise<void> {
  const after = Date.parse(iso) + CLOCK_SKEW_MS;
  while (Date.now() <= after) await new Promise((resolve) => setTimeout(resolve, 5));
}

async function eventsSince(count: number, patientId: string) {
  return (await h.syncEvents()).slice(count).filter((event) => event.patientId === patientId);
}

it('a CRM edit of a critical field (email) opens one conflict and changes neither side, even when edited again', async () => {
  const patientId = take();
  await baseline(patientId);
  const sembleEmail = semblePatient(patientId).email;
  const before = (await h.syncEvents()).length;

  await editCrm(patientId, { email: 'ada.new@elsewhere.example' });
  await h.deliverWebhooks();

  const open = await h.store.conflictsOfPatient(patientId, 'OPEN');
  expect(open).toEqual([expect.objectContaining({ field: 'email', sembleValue: sembleEmail, crmValue: 'ada.new@elsewhere.example', lastSyncedValue: sembleEmail })]);
  expect(h.contactOf(patientId).properties.email).toBe('ada.new@elsewhere.example');
  expect(semblePatient(patientId).email).toBe(sembleEmail);
  expect((await h.store.getStatus(patientId))?.state).toBe('CONFLICT');
  const events = await eventsSince(before, patientId);
  expect(events.filter((event) => event.type === 'CONFLICT_OPENED')).toEqual([expect.objectContaining({ fields: ['email'], outcome: 'CONFLICT' })]);
  expect(events.filter((event) => event.fields.includes('email') && event.type !== 'CONFLICT_OPENED')).toEqual([]);

  // Edited again while under review: still the one conflict, following the CRM's value; still nothing written.
  await editCrm(patientId, { email: 'ada.newer@elsewhere.example' });
  await h.deliverWebhooks();
  const stillOpen = await h.store.conflictsOfPatient(patientId, 'OPEN');
  expect(stillOpen).toHaveLength(1);
  expect(stillOpen[0]).toMatchObject({ id: open[0]!.id, crmValue: 'ada.newer@elsewhere.example' });
  expect(h.contactOf(patientId).properties.email).toBe('ada.newer@elsewhere.example');
  expect(semblePatient(patientId).email).toBe(sembleEmail);
});

it('a CRM edit of the Semble-owned address is reverted, with a visible REJECTED_NOT_OWNER event', async () => {
  const patientId = take();
  await baseline(patientId);
  const address = semblePatient(patientId).address!;
  // The first sync filled the contact's (empty) address from Semble.
  expect(h.contactOf(patientId).properties).toMatchObject({ address: address.address, city: address.city });
  const before = (await h.syncEvents()).length;
  const sembleUpdatedAt = semblePatient(patientId).updatedAt;

  await editCrm(patientId, { address: '1 Elsewhere Road', city: 'Leeds' });
  await h.deliverWebhooks();

  expect(h.contactOf(patientId).properties).toMatchObject({ address: address.address, city: address.city });
  expect(semblePatient(patientId).updatedAt).toBe(sembleUpdatedAt);
  const events = await eventsSince(before, patientId);
  expect(events.filter((event) => event.type === 'REJECTED_NOT_OWNER')).toEqual([
    expect.objectContaining({ source: 'SEMBLE', target: 'CRM', fields: ['address'], outcome: 'APPLIED' }),
  ]);
  // Not dressed up as a normal propagation.
  expect(events.filter((event) => event.type === 'CONTACT_SYNCED')).toEqual([]);
  // The revert's echo is a no-op.
  await h.deliverWebhooks();
  expect(await h.deliverWebhooks()).toEqual([]);

  // And the API shows it.
  const answer = await h.graphql<{ syncEvent: { type: string; fields: string[] } }>(
    'query ($id: ID!) { syncEvent(id: $id) { type fields } }',
    { id: (await h.bus.read('sync-events', { limit: 10_000 })).find((event) => (event.payload as { type: string; patientId: string }).type === 'REJECTED_NOT_OWNER' && (event.payload as { patientId: string }).patientId === patientId)!.cursor },
  );
  expect(answer.errors).toBeUndefined();
  expect(answer.data?.syncEvent).toEqual({ type: 'REJECTED_NOT_OWNER', fields: ['address'] });
});

it('names are last write wins: a later CRM edit reaches Semble, in separate batches and in one', async () => {
  const patientId = take();
  await baseline(patientId);

  // Semble first, synced; then the CRM: the CRM's edit is the later one and must win.
  await editSemble(patientId, { firstName: 'Rowena' });
  await h.deliverWebhooks();
  expect(h.contactOf(patientId).properties.firstname).toBe('Rowena');
  await pastSkew(h.contactOf(patientId).properties.lastmodifieddate!);
  await editCrm(patientId, { firstname: 'Rowan' });
  await h.deliverWebhooks();
  expect(semblePatient(patientId).firstName).toBe('Rowan');
  expect(h.contactOf(patientId).properties.firstname).toBe('Rowan');

  // Both edited before the worker sees either: Semble, then the CRM later: the CRM's wins.
  await h.deliverWebhooks();
  await editSemble(patientId, { lastName: 'Semble-Surname' });
  await pastSkew(semblePatient(patientId).updatedAt);
  await editCrm(patientId, { lastname: 'Crm-Surname' });
  await h.deliverWebhooks();
  expect(semblePatient(patientId).lastName).toBe('Crm-Surname');
  expect(h.contactOf(patientId).properties.lastname).toBe('Crm-Surname');
  expect(await h.store.conflictsOfPatient(patientId, 'OPEN')).toEqual([]);
});

it("last write wins per field: HubSpot's property history, not the contact's last-modified date, dates a CRM name edit", async () => {
  const patientId = take();
  await baseline(patientId);
  await h.deliverWebhooks();

  // CRM edits the last name, then Semble does (later), then the CRM touches another property:
  // the contact as a whole changed last, but its last name did not.
  await editCrm(patientId, { lastname: 'Crm-Surname' });
  await pastSkew(h.contactOf(patientId).properties.lastmodifieddate!);
  await editSemble(patientId, { lastName: 'Semble-Surname' });
  await pastSkew(semblePatient(patientId).updatedAt);
  await editCrm(patientId, { lifecyclestage: 'evangelist' });
  expect(Date.parse(h.contactOf(patientId).properties.lastmodifieddate!)).toBeGreaterThan(Date.parse(semblePatient(patientId).updatedAt));
  await h.deliverWebhooks();

  expect(semblePatient(patientId).lastName).toBe('Semble-Surname');
  expect(h.contactOf(patientId).properties.lastname).toBe('Semble-Surname');
});

it('a first sync with a differing critical value opens a conflict and writes neither side (the rest is filled in)', async () => {
  const patientId = take();
  expect(await h.store.getShadow(patientId)).toBeNull();
  const semblePhone = semblePatient(patientId).phones![0]!.phoneNumber;
  const before = (await h.syncEvents()).length;

  // A CRM user changes the phone of a contact the engine has never synced: the webhook starts the first sync.
  await editCrm(patientId, { phone: '+447911000111' });
  await h.deliverWebhooks();

  expect(await h.store.conflictsOfPatient(patientId, 'OPEN')).toEqual([
    expect.objectContaining({ field: 'phone', crmValue: '+447911000111', lastSyncedValue: null }),
  ]);
  expect(h.contactOf(patientId).properties.phone).toBe('+447911000111');
  expect(semblePatient(patientId).phones![0]!.phoneNumber).toBe(semblePhone);
  // An empty CRM date of birth is not a competing value: it is filled, nothing is lost.
  expect(h.contactOf(patientId).properties.date_of_birth).toBe(semblePatient(patientId).dob);
  expect((await h.store.getShadow(patientId))?.values).not.toHaveProperty('phone');
  const synced = (await eventsSince(before, patientId)).filter((event) => event.type === 'CONTACT_SYNCED');
  expect(synced.flatMap((event) => event.fields)).not.toContain('phone');
});

it('an email another patient already uses is a data-quality issue: the patient is flagged (EMAIL_DUPLICATE), not merged', async () => {
  // A patient with no contact yet (so the first sync creates one) and clean data.
  const withContact = new Set(h.world.contacts.map((contact) => contact.patientId));
  const newcomer = [...h.semble.store.patients.values()].find((patient) => {
    if (withContact.has(patient.id)) return false;
    const record = sembleToRecord(patient);
    return !!patient.email && assessDataQuality({ email: record.email, phones: [record.phone, ...(record.otherPhones ?? [])], nhsNumber: record.nhsNumber ?? null }).route === 'DIRECT';
  });
  if (!newcomer) throw new Error('the seed world has no clean patient without a contact');
  const other = take();
  const otherContact = structuredClone(h.contactOf(other));
  const sharedEmail = semblePatient(other).email!;

  await editSemble(newcomer.id, { email: sharedEmail.toUpperCase() });
  await h.deliverWebhooks();

  expect(await h.store.getStatus(newcomer.id)).toMatchObject({ state: 'FLAGGED', dataQualityIssues: ['EMAIL_DUPLICATE'] });
  // Its own contact, keyed by its Semble id; the other patient's contact is untouched.
  expect(h.contactOf(newcomer.id).id).not.toBe(otherContact.id);
  expect(h.contactOf(other)).toEqual(otherContact);
  const events = (await h.syncEvents()).filter((event) => event.patientId === newcomer.id && event.type === 'CONTACT_SYNCED');
  expect(events).toEqual([expect.objectContaining({ outcome: 'FLAGGED' })]);

  const answer = await h.graphql<{ _entities: Array<{ syncStatus: { state: string; dataQualityIssues: string[] } }> }>(
    'query ($r: [_Any!]!) { _entities(representations: $r) { ... on Patient { syncStatus { state dataQualityIssues } } } }',
    { r: [{ __typename: 'Patient', id: newcomer.id }] },
  );
  expect(answer.errors).toBeUndefined();
  expect(answer.data?._entities).toEqual([{ syncStatus: { state: 'FLAGGED', dataQualityIssues: ['EMAIL_DUPLICATE'] } }]);
});
