/**
 * The backfill syncs every Semble patient to the CRM a page at a time, creating missing contacts
 * and completing existing ones; interrupted after a page, the next run resumes at the next page
 * and the totals add up; a repeated run creates no duplicates and writes nothing new.
 */
import { assessDataQuality } from '../../../lib/data-quality';
import { createLogger } from '../../../lib/logger';
import { BACKFILL_CHECKPOINT, runBackfill } from '../src/backfill';
import { createPatientSync } from '../src/patient-sync';
import { formatProgress } from '../src/progress-line';
import { sembleToRecord } from '../src/records';
import { startSyncHarness } from './sync-harness';
import type { SyncHarness } from './sync-harness';

const PATIENTS = 150;
let h: SyncHarness;
beforeAll(async () => {
  h = await startSyncHarness({ patients: PATIENTS });
});
afterAll(() => h.stop());

const backfill = (options: { maxPages?: number; restart?: boolean } = {}) =>
  runBackfill({
    semble: h.clients.semble,
    store: h.store,
    patientSync: createPatientSync({ clients: h.clients, store: h.store, bus: h.bus, logger: createLogger('sync-test') }),
    ...options,
  });

function contactsPerPatient(): Map<string, number> {
  const counts = new Map<string, number>();
  for (const contact of h.hubspot.objects.contacts.values()) {
    const patientId = contact.properties.semble_patient_id;
    if (patientId) counts.set(patientId, (counts.get(patientId) ?? 0) + 1);
  }
  return counts;
}

function isHeld(patientId: string): boolean {
  const record = sembleToRecord(h.semble.store.patients.get(patientId)!);
  return assessDataQuality({ email: record.email, phones: [record.phone, ...(record.otherPhones ?? [])], nhsNumber: record.nhsNumber ?? null }).route === 'HOLD_FOR_REVIEW';
}

it('stops after the first page when asked, keeping its place in a checkpoint', async () => {
  const first = await backfill({ maxPages: 1 });
  expect(first).toMatchObject({ complete: false, startedAtPage: 1, pages: 1, patients: 100 });
  expect(JSON.parse((await h.store.getCheckpoint(BACKFILL_CHECKPOINT))!)).toMatchObject({ nextPage: 2, pageSize: 100 });
});

it('resumes at the next page, and the totals cover the whole backfill', async () => {
  const progress: number[] = [];
  const summary = await runBackfill({
    semble: h.clients.semble,
    store: h.store,
    patientSync: createPatientSync({ clients: h.clients, store: h.store, bus: h.bus, logger: createLogger('sync-test') }),
    onProgress: (totals) => progress.push(totals.patients),
  });
  expect(summary).toMatchObject({ complete: true, startedAtPage: 2, pages: 2, patients: PATIENTS, conflicts: 0, failed: 0 });
  expect(progress).toEqual([PATIENTS]);
  expect(summary.created + summary.updated + summary.unchanged + summary.heldForReview + summary.failed).toBe(PATIENTS);
  expect(await h.store.getCheckpoint(BACKFILL_CHECKPOINT)).toBeNull();

  const seeded = new Set(h.world.contacts.map((contact) => contact.patientId));
  const patients = h.world.patients.map((patient) => patient.id);
  const expectedCreated = patients.filter((id) => !seeded.has(id) && !isHeld(id));
  expect(summary.created).toBe(expectedCreated.length);
  expect(summary.heldForReview).toBe(patients.filter(isHeld).length);
  expect(summary.created).toBeGreaterThan(0);
  expect(summary.updated).toBeGreaterThan(0);

  const counts = contactsPerPatient();
  for (const id of patients) expect(counts.get(id) ?? 0).toBe(seeded.has(id) || !isHeld(id) ? 1 : 0);
  // A synced contact carries Semble's date of birth.
  const synced = patients.find((id) => !isHeld(id))!;
  const contact = [...h.hubspot.objects.contacts.values()].find((candidate) => candidate.properties.semble_patient_id === synced)!;
  expect(contact.properties.date_of_birth).toBe(h.semble.store.patients.get(synced)!.dob);
  expect(formatProgress({ ...summary })).toContain(`${PATIENTS} patients`);
});

it('creates no duplicates and writes nothing when run again from the start', async () => {
  const contactsBefore = h.hubspot.objects.contacts.size;
  const summary = await backfill({ restart: true });
  expect(summary).toMatchObject({ complete: true, patients: PATIENTS, created: 0, updated: 0, failed: 0 });
  expect(h.hubspot.objects.contacts.size).toBe(contactsBefore);
});
