/**
 * The review queues over the sync subgraph's API, after real syncs against the emulators: a
 * low-quality patient is listed by `heldPatients` with its issues and shows HELD_FOR_REVIEW —
 * also when there is nothing to write — and leaves the list once fixed; a patient in the 60–79
 * band is listed by `flaggedPatients` and shows FLAGGED; one with an open conflict shows
 * CONFLICT. Counts and pages match the lists. The oracle is written by hand from the scoring rule
 * (20 points per issue; < 60 held, 60–79 flagged).
 *
 * Email and phone are critical: whenever Semble and the CRM hold different values, the field is a
 * conflict and neither side is written. So a poor email or phone that should hold a patient
 * (rather than open a conflict) is one both systems hold — staff enter it in Semble and a CRM user
 * types the same on the contact — and fixing it means fixing it in both. Poor data only Semble
 * holds (a second phone, the NHS number) is not critical: entered and fixed in Semble alone.
 */
import { assessDataQuality } from '../../../lib/data-quality';
import { sembleToRecord } from '../src/records';
import { startSyncHarness } from './sync-harness';
import type { SyncHarness } from './sync-harness';

const INVALID_NHS = '943 476 5910';
const VALID_NHS = '943 476 5919';
// An Ofcom drama number: it parses but is not valid.
const DRAMA_PHONE = '07700 900123';

let h: SyncHarness;
/** Patients with a CRM contact and no data-quality issue at all (score 100), so each issue a test adds is the only one. */
let clean: string[];

beforeAll(async () => {
  h = await startSyncHarness({ patients: 40, server: true });
  clean = h.goodPatientsWithContact().filter((id) => {
    const record = sembleToRecord(h.semble.store.patients.get(id)!);
    return assessDataQuality({ email: record.email, phones: [record.phone, ...(record.otherPhones ?? [])], nhsNumber: record.nhsNumber ?? null }).score === 100;
  });
});
afterAll(() => h.stop());

async function adminPatch(url: string, body: unknown): Promise<void> {
  const response = await fetch(url, { method: 'PATCH', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  expect(response.status).toBe(200);
}

/** A change made by staff in Semble (its webhook reaches the worker with deliverWebhooks). */
const changeInSemble = (patientId: string, changes: { firstName?: string; lastName?: string; email?: string; phone?: string }) => adminPatch(`${h.semble.url}/__admin/patients/${patientId}`, changes);

/** A change made by a CRM user on the patient's contact (its webhook reaches the worker with deliverWebhooks). */
const changeInCrm = (patientId: string, properties: Record<string, string>) => adminPatch(`${h.hubspot.url}/__admin/contacts/${h.contactOf(patientId).id}`, { properties });

/** The NHS number has no admin route: it is set on the emulator's record, and the next change carries it. */
function setNhsNumber(patientId: string, value: string): void {
  h.semble.store.patients.get(patientId)!.numbers = [{ id: `${patientId}-nhs`, name: 'NHS_UK', value }];
}

/**
 * Nor has a second phone (null removes it): set on the emulator's record, carried by the next
 * change. The CRM gets the first phone only, so this one is scored but never synced.
 */
function setSecondPhone(patientId: string, value: string | null): void {
  const patient = h.semble.store.patients.get(patientId)!;
  const first = patient.phones![0]!;
  patient.phones = value === null ? [first] : [first, { phoneId: `${patientId}-phone-2`, phoneType: 'Home', phoneNumber: value }];
}

async function syncFromSemble(patientId: string): Promise<void> {
  await h.handler.handle({ receivedAt: new Date().toISOString(), items: [{ vendor: 'semble', eventType: 'PATIENT_UPDATED', id: patientId }] });
  // The echoes of whatever was written, as in production.
  await h.deliverWebhooks();
}

interface QueueAnswer {
  totalCount: number;
  nodes: Array<{ patient: { id: string }; score: number; issues: string[]; heldAt?: string; flaggedAt?: string; lastSyncedAt: string | null }>;
  pageInfo: { hasNextPage: boolean; endCursor: string | null };
}

async function heldPatients(args: { first?: number; after?: string | null } = {}): Promise<QueueAnswer> {
  const answer = await h.graphql<{ heldPatients: QueueAnswer }>(
    `query ($first: Int, $after: String) { heldPatients(first: $first, after: $after) {
      totalCount nodes { patient { id } score issues heldAt lastSyncedAt } pageInfo { hasNextPage endCursor } } }`,
    args,
  );
  expect(answer.errors).toBeUndefined();
  return answer.data!.heldPatients;
}

async function flaggedPatients(): Promise<QueueAnswer> {
  const answer = await h.graphql<{ flaggedPatients: QueueAnswer }>(
    `{ flaggedPatients { totalCount nodes { patient { id } score issues flaggedAt lastSyncedAt } pageInfo { hasNextPage endCursor } } }`,
  );
  expect(answer.errors).toBeUndefined();
  return answer.data!.flaggedPatients;
}

async function syncStatus(patientId: string): Promise<{ state: string; openConflicts: number }> {
  const answer = await h.graphql<{ _entities: Array<{ syncStatus: { state: string; openConflicts: number } }> }>(
    `query ($representations: [_Any!]!) { _entities(representations: $representations) { ... on Patient { syncStatus { state openConflicts } } } }`,
    { representations: [{ __typename: 'Patient', id: patientId }] },
  );
  expect(answer.errors).toBeUndefined();
  return answer.data!._entities[0]!.syncStatus;
}

const ids = (queue: QueueAnswer) => queue.nodes.map((node) => node.patient.id);
const upserts = () => h.hubspot.counts().byRoute['POST /crm/v3/objects/contacts/batch/upsert'] ?? 0;

describe('review queues', () => {
  let heldA: string;
  let heldWithNothingToWrite: string;
  let flagged: string;
  let conflicted: string;

  beforeAll(async () => {
    expect(clean.length).toBeGreaterThanOrEqual(4);
    [heldA, heldWithNothingToWrite, flagged, conflicted] = clean as [string, string, string, string];
    // A first sync of each agrees the values; clean records are in neither queue.
    for (const id of [heldA, heldWithNothingToWrite, flagged, conflicted]) await syncFromSemble(id);
  });

  it('starts empty: clean, synced patients are in neither queue', async () => {
    expect(await heldPatients()).toEqual({ totalCount: 0, nodes: [], pageInfo: { hasNextPage: false, endCursor: null } });
    expect((await flaggedPatients()).totalCount).toBe(0);
    expect(await syncStatus(heldA)).toEqual({ state: 'IN_SYNC', openConflicts: 0 });
  });

  it('lists a patient made low-quality (score 40) as held, with its issues, and writes nothing for it', async () => {
    const before = new Date().toISOString();
    const eventsBefore = (await h.syncEvents()).length;
    // The same poor email in both systems (no conflict), a second phone and an NHS number that do
    // not validate in Semble, and a first-name change in Semble that the hold keeps from the CRM.
    await changeInCrm(heldA, { email: 'not-an-email' });
    const contactBefore = structuredClone(h.contactOf(heldA));
    setNhsNumber(heldA, INVALID_NHS);
    setSecondPhone(heldA, '12345');
    await changeInSemble(heldA, { email: 'not-an-email', firstName: 'Augusta' });
    await h.deliverWebhooks();
    const after = new Date().toISOString();

    expect(h.contactOf(heldA)).toEqual(contactBefore);
    const events = (await h.syncEvents()).slice(eventsBefore).filter((event) => event.patientId === heldA);
    expect(events.length).toBeGreaterThan(0);
    expect(events.every((event) => event.type === 'HELD_FOR_REVIEW' && event.target === 'CRM')).toBe(true);
    expect(events[0]!.fields).toEqual(['firstName']);
    const held = await heldPatients();
    expect(held.totalCount).toBe(1);
    expect(held.nodes).toEqual([{ patient: { id: heldA }, score: 40, issues: ['EMAIL_INVALID', 'PHONE_INVALID', 'NHS_NUMBER_INVALID'], heldAt: expect.any(String), lastSyncedAt: expect.any(String) }]);
    const heldAt = held.nodes[0]!.heldAt!;
    expect(heldAt >= before && heldAt <= after).toBe(true);
    expect(await syncStatus(heldA)).toEqual({ state: 'HELD_FOR_REVIEW', openConflicts: 0 });
  });

  it('holds a score-40 patient even when there is nothing to write (both systems came to hold the same poor values)', async () => {
    const patientId = heldWithNothingToWrite;
    // Staff enter the same poor email and phone in both systems: the sync has nothing to write.
    setNhsNumber(patientId, INVALID_NHS);
    const semble = h.semble.store.patients.get(patientId)!;
    semble.email = 'no-domain@';
    semble.phones = [{ phoneId: `${patientId}-phone-1`, phoneType: 'Mobile', phoneNumber: '12345' }];
    const writes = upserts();
    const sembleChangedAt = semble.updatedAt;
    const eventsBefore = (await h.syncEvents()).length;

    await changeInCrm(patientId, { email: 'no-domain@', phone: '12345' });
    await h.deliverWebhooks();

    expect(upserts()).toBe(writes);
    expect(h.semble.store.patients.get(patientId)!.updatedAt).toBe(sembleChangedAt);
    const events = (await h.syncEvents()).slice(eventsBefore).filter((event) => event.patientId === patientId);
    expect(events.map((event) => [event.type, event.outcome])).toEqual([['PATIENT_SYNCED', 'SKIPPED']]);
    expect(await syncStatus(patientId)).toEqual({ state: 'HELD_FOR_REVIEW', openConflicts: 0 });
    const held = await heldPatients();
    expect(ids(held)).toEqual([heldA, patientId]);
    expect(held.nodes[1]).toMatchObject({ score: 40, issues: ['EMAIL_INVALID', 'PHONE_INVALID', 'NHS_NUMBER_INVALID'] });
  });

  it('lists a patient in the 60–79 band as flagged: synced, and FLAGGED', async () => {
    // Two issues in data only Semble holds, so nothing critical differs from the CRM.
    setNhsNumber(flagged, INVALID_NHS);
    setSecondPhone(flagged, DRAMA_PHONE);
    await changeInSemble(flagged, { firstName: 'Grace' });
    await h.deliverWebhooks();

    // Flagged is written all the same.
    expect(h.contactOf(flagged).properties.firstname).toBe('Grace');
    const list = await flaggedPatients();
    expect(list.totalCount).toBe(1);
    expect(list.nodes).toEqual([{ patient: { id: flagged }, score: 60, issues: ['PHONE_INVALID', 'NHS_NUMBER_INVALID'], flaggedAt: expect.any(String), lastSyncedAt: expect.any(String) }]);
    expect(await syncStatus(flagged)).toEqual({ state: 'FLAGGED', openConflicts: 0 });
    expect((await heldPatients()).totalCount).toBe(2);
  });

  it('pages through the held queue with the same count on every page', async () => {
    const first = await heldPatients({ first: 1 });
    expect({ ids: ids(first), totalCount: first.totalCount, hasNextPage: first.pageInfo.hasNextPage }).toEqual({ ids: [heldA], totalCount: 2, hasNextPage: true });
    const second = await heldPatients({ first: 1, after: first.pageInfo.endCursor });
    expect({ ids: ids(second), totalCount: second.totalCount, hasNextPage: second.pageInfo.hasNextPage }).toEqual({
      ids: [heldWithNothingToWrite],
      totalCount: 2,
      hasNextPage: false,
    });
    const bad = await h.graphql(`{ heldPatients(after: "nope") { totalCount } }`);
    expect(bad.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  });

  it('moves a patient partly fixed to the flagged queue, and off both once fixed, syncing what was held', async () => {
    // The email fixed in both systems (fixed in Semble alone, it would differ from the CRM's: a
    // conflict): two issues left (score 60), so it syncs, flagged.
    await changeInCrm(heldA, { email: 'ada.fixed@example.com' });
    await changeInSemble(heldA, { email: 'ada.fixed@example.com' });
    await h.deliverWebhooks();
    expect(ids(await heldPatients())).toEqual([heldWithNothingToWrite]);
    expect((await flaggedPatients()).nodes).toEqual([
      expect.objectContaining({ patient: { id: flagged } }),
      expect.objectContaining({ patient: { id: heldA }, score: 60, issues: ['PHONE_INVALID', 'NHS_NUMBER_INVALID'] }),
    ]);
    expect(await syncStatus(heldA)).toEqual({ state: 'FLAGGED', openConflicts: 0 });
    // The first-name change the hold kept back.
    expect(h.contactOf(heldA).properties.firstname).toBe('Augusta');

    // The rest fixed in Semble alone, as only Semble holds it (with a surname corrected there too):
    // in neither queue, and in sync.
    setNhsNumber(heldA, VALID_NHS);
    setSecondPhone(heldA, null);
    await changeInSemble(heldA, { lastName: 'King' });
    await h.deliverWebhooks();
    expect(await heldPatients()).toMatchObject({ totalCount: 1, nodes: [{ patient: { id: heldWithNothingToWrite } }] });
    expect(ids(await flaggedPatients())).toEqual([flagged]);
    expect(await syncStatus(heldA)).toEqual({ state: 'IN_SYNC', openConflicts: 0 });
    expect(h.contactOf(heldA).properties).toMatchObject({ email: 'ada.fixed@example.com', firstname: 'Augusta', lastname: 'King' });
  });

  it('shows CONFLICT while a conflict is open, counted by conflicts(status: OPEN), and IN_SYNC once it is resolved', async () => {
    await changeInSemble(conflicted, { phone: '07911 123457' });
    await changeInCrm(conflicted, { phone: '+447922111222' });
    await h.deliverWebhooks();

    expect(await syncStatus(conflicted)).toEqual({ state: 'CONFLICT', openConflicts: 1 });
    const open = await h.graphql<{ conflicts: { totalCount: number; nodes: Array<{ id: string; patient: { id: string } }> } }>(
      `{ conflicts(status: OPEN) { totalCount nodes { id patient { id } } } }`,
    );
    expect(open.data!.conflicts.totalCount).toBe(1);
    expect(open.data!.conflicts.nodes[0]!.patient.id).toBe(conflicted);

    const resolved = await h.graphql(`mutation ($id: ID!) { resolveConflict(id: $id, resolution: KEEP_SEMBLE) { status } }`, { id: open.data!.conflicts.nodes[0]!.id }, { subject: 'staff-1' });
    expect(resolved.errors).toBeUndefined();
    await h.deliverWebhooks();
    expect(await syncStatus(conflicted)).toEqual({ state: 'IN_SYNC', openConflicts: 0 });
  });
});
