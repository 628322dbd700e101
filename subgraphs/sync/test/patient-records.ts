/**
 * Records and helpers for the sync-rules tests: a well-formed patient as each side holds it,
 * the shadow copy of a completed sync, and "apply a plan" as the later wiring will (write the
 * values, store the next shadow), so tests can check what a second run decides.
 */
import { normaliseFieldValue } from '../src/rules/normalise';
import { DEFAULT_OWNERSHIP } from '../src/rules/ownership';
import { planPatientSync } from '../src/rules/plan';
import type { FieldDecision, PlanPatientSyncInput, PlanPatientSyncOptions, SyncPlan } from '../src/rules/plan';
import type { FieldValue, PatientRecord, ShadowCopy, SyncField } from '../src/rules/types';

export const PATIENT_ID = 'semble-patient-1';
export const LAST_SYNC = '2025-02-01T10:00:00.000Z';
export const NOW = '2025-03-01T12:00:00.000Z';

/** Scores 100: valid email, valid GB mobile, valid NHS number. */
export function sembleRecord(overrides: Partial<PatientRecord> = {}): PatientRecord {
  return {
    id: PATIENT_ID,
    firstName: 'Ada',
    lastName: 'Lovelace',
    email: 'ada.lovelace@example.co.uk',
    phone: '07912 345678',
    dateOfBirth: '1985-12-10',
    address: { line: '12 St James Square', city: 'London', postcode: 'SW1Y 4JH', country: 'GB' },
    nhsNumber: '943 476 5919',
    updatedAt: '2025-01-31T09:00:00.000Z',
    ...overrides,
  };
}

/** The same patient as a HubSpot contact after a sync: E.164 phone, date from a datetime. */
export function crmRecord(overrides: Partial<PatientRecord> = {}): PatientRecord {
  return {
    id: PATIENT_ID,
    firstName: 'Ada',
    lastName: 'Lovelace',
    email: 'ada.lovelace@example.co.uk',
    phone: '+447912345678',
    dateOfBirth: '1985-12-10T00:00:00.000Z',
    address: { line: '12 St James Square', city: 'London', postcode: 'sw1y 4jh', country: 'GB' },
    lifecycleStage: 'customer',
    ownerId: 'owner-7',
    marketingConsent: true,
    updatedAt: '2025-02-01T10:00:00.000Z',
    ...overrides,
  };
}

/** The shadow a completed sync of `record` leaves: its shared fields, normalised. */
export function shadowOf(record: PatientRecord = sembleRecord(), overrides: Partial<Record<SyncField, FieldValue>> = {}): ShadowCopy {
  const values: Partial<Record<SyncField, FieldValue>> = {};
  for (const field of DEFAULT_OWNERSHIP.sharedFields()) values[field] = normaliseFieldValue(field, record[field]);
  return { patientId: record.id, syncedAt: LAST_SYNC, values: { ...values, ...overrides } };
}

export function plan(input: Partial<PlanPatientSyncInput> = {}, options?: PlanPatientSyncOptions): SyncPlan {
  return planPatientSync(
    { semble: sembleRecord(), crm: crmRecord(), shadow: shadowOf(), direction: 'BOTH', now: NOW, ...input },
    options,
  );
}

export function decisionFor(syncPlan: SyncPlan, field: SyncField): FieldDecision {
  const decision = syncPlan.decisions.find((candidate) => candidate.field === field);
  if (!decision) throw new Error(`no decision for ${field}`);
  return decision;
}

export function writesOf(syncPlan: SyncPlan): FieldDecision[] {
  return syncPlan.decisions.filter((decision) => decision.action === 'WRITE_CRM' || decision.action === 'WRITE_SEMBLE');
}

export interface SyncState {
  semble: PatientRecord | null;
  crm: PatientRecord | null;
  shadow: ShadowCopy | null;
}

type Writes = { semble: Partial<Record<SyncField, FieldValue>>; crm: Partial<Record<SyncField, FieldValue>> };

function write(record: PatientRecord, values: Partial<Record<SyncField, FieldValue>>, now: string): PatientRecord {
  // The plan only writes values normalised from the same field, so the cast restores what the spread loses.
  return Object.keys(values).length === 0 ? record : ({ ...record, ...values, updatedAt: now } as PatientRecord);
}

/** Writes values to each existing side and stores `shadow`, as the wiring will after successful writes. */
export function applyWrites(state: SyncState, writes: Writes, shadow: ShadowCopy | null, now: string = NOW): SyncState {
  return {
    semble: state.semble ? write(state.semble, writes.semble, now) : null,
    crm: state.crm ? write(state.crm, writes.crm, now) : null,
    shadow,
  };
}

/** What the wiring will do with a plan: write each side, create the contact, store the next shadow. */
export function applyPlan(state: SyncState, syncPlan: SyncPlan, now: string = NOW): SyncState {
  const applied = applyWrites(state, syncPlan.writes, syncPlan.nextShadow, now);
  if (!syncPlan.createCrmContact) return applied;
  const blank: PatientRecord = { id: syncPlan.patientId, firstName: null, lastName: null, email: null, phone: null, dateOfBirth: null, updatedAt: now };
  return { ...applied, crm: write(blank, syncPlan.writes.crm, now) };
}
