/**
 * The sync engine's decision for one patient: given the Semble record, the CRM contact and
 * the shadow copy of the last agreed values, what to write where, what needs a person, how
 * the data-quality score routes the write, and the shadow copy once the plan is applied.
 * Pure: no I/O, no clock (the caller passes `now`).
 *
 * Per shared field, with s = Semble's value, c = the CRM's, b = the shadow's (all normalised,
 * so spelling differences are no difference), in this order:
 * 1. an open conflict on the field: neither side is written while it waits for a person (its
 *    values follow the sides), unless s = c, which settles it (`settledConflicts`, SOURCES_AGREE);
 * 2. s = c → SKIP (IN_SYNC, or SAME_CHANGE_ON_BOTH_SIDES when both moved away from b);
 * 3. a critical field (email, phone, date of birth) whose values differ → one CONFLICT, neither
 *    side written, whoever changed it: one side (CRITICAL_CHANGED_ON_ONE_SIDE), both sides
 *    (CRITICAL_CHANGED_ON_BOTH_SIDES) or no b (CRITICAL_DIFFERS_AT_FIRST_SYNC). One exception,
 *    as nothing is lost: with no b, an empty value on the non-owning side (a new contact, a
 *    contact without a date of birth) is filled with the owner's (INITIAL_SYNC);
 * 4. a non-critical field with no b (never synced) → the owner's value goes to the other side
 *    (INITIAL_SYNC);
 * 5. only the owner changed → propagate (OWNER_CHANGED);
 * 6. the non-owning side changed (alone, or both did), by the field's `onNonOwnerChange`:
 *    - REJECT: the owner's value is written back (REJECTED_NOT_OWNER; the caller publishes a
 *      REJECTED_NOT_OWNER sync event, so the revert is never silent);
 *    - LAST_WRITE_WINS: alone → its change flows to the owner (NON_OWNER_CHANGED); both → the
 *      later change of that field wins (LAST_WRITE_WINS). Change times are per field: the
 *      record's `fieldUpdatedAt` (HubSpot's property history), else its `updatedAt` (for Semble,
 *      which has no field history, a field that differs from b changed at or before the
 *      record's updatedAt, so that upper bound is its time). Tie-break: when the two times are
 *      within `clockSkewMs` of each other (the two vendors' clocks are not ours), equal, or both
 *      unknown, the owner wins (TIE_OWNER_WINS); a side with no time is older than one with a time.
 * One-sided fields are never written. Then: writes the run's direction excludes are skipped,
 * and if the Semble-side record that would result scores below 60, nothing is written.
 */
import { assessDataQuality } from '../../../../lib/data-quality';
import type { DataQuality, DataQualityRoute } from '../../../../lib/data-quality';
import { DEFAULT_OWNERSHIP } from './ownership';
import type { FieldRule, OwnershipTable } from './ownership';
import { normaliseFieldValue, sameFieldValue } from './normalise';
import type { FieldValue, PatientRecord, ShadowCopy, SyncField } from './types';

/** Which systems this run may write: a one-way run leaves the other side's pending changes for later. */
export type SyncDirection = 'SEMBLE_TO_CRM' | 'CRM_TO_SEMBLE' | 'BOTH';
export const SYNC_DIRECTIONS: readonly SyncDirection[] = ['SEMBLE_TO_CRM', 'CRM_TO_SEMBLE', 'BOTH'];

export type WriteAction = 'WRITE_CRM' | 'WRITE_SEMBLE';
export type FieldAction = WriteAction | 'SKIP' | 'CONFLICT';

/** Why a field got its action. Codes, not prose, so they can be logged and counted without PHI. */
export type DecisionReason =
  /** SKIP: both sides hold the same (normalised) value. */
  | 'IN_SYNC'
  /** SKIP: the field exists only in Semble (address, NHS number): nothing to propagate. */
  | 'ONLY_IN_SEMBLE'
  /** SKIP: the field exists only in the CRM (lifecycle stage, owner, consent): it stays in the CRM. */
  | 'ONLY_IN_CRM'
  /** SKIP: both sides changed to the same value since the last sync; only the shadow moves. */
  | 'SAME_CHANGE_ON_BOTH_SIDES'
  /** WRITE: never synced, the owner's value is taken as the truth (a new or stale CRM contact). */
  | 'INITIAL_SYNC'
  /** WRITE: only the owner changed the field; the change flows to the other side. */
  | 'OWNER_CHANGED'
  /** WRITE: the non-owner changed a field whose policy is REJECT; the owner's value is written back (and the rejection published). */
  | 'REJECTED_NOT_OWNER'
  /** WRITE: only the non-owner changed a LAST_WRITE_WINS field; being the last write, its change flows to the owner. */
  | 'NON_OWNER_CHANGED'
  /** WRITE: a LAST_WRITE_WINS field changed on both sides; the later change of the field wins. */
  | 'LAST_WRITE_WINS'
  /** WRITE: as LAST_WRITE_WINS but the times are within the clock-skew allowance, equal or both unknown; the owner wins. */
  | 'TIE_OWNER_WINS'
  /** CONFLICT: a critical field changed on both sides to different values; a person decides. */
  | 'CRITICAL_CHANGED_ON_BOTH_SIDES'
  /** CONFLICT: a critical field changed on one side only (either side); a person decides. */
  | 'CRITICAL_CHANGED_ON_ONE_SIDE'
  /** CONFLICT: a critical field with no agreed value yet holds different values on the two sides; a person decides. */
  | 'CRITICAL_DIFFERS_AT_FIRST_SYNC'
  /** SKIP: a CRM-owned field while there is no CRM contact yet: no value to propagate. */
  | 'NO_CRM_CONTACT'
  /** SKIP: the write would go to a system this run's direction does not write (see `blockedAction`). */
  | 'DIRECTION_EXCLUDED'
  /** SKIP: data quality below 60, nothing is written for this patient (see `blockedAction`). */
  | 'HELD_FOR_REVIEW'
  /** SKIP: no Semble record (deleted, or a contact not linked to a patient): Semble is the source of truth for patients. */
  | 'NO_SEMBLE_RECORD'
  /** SKIP: the CRM contact was synced once and is gone; it is not recreated (see CRM_CONTACT_DELETED status). */
  | 'CRM_CONTACT_DELETED'
  /** CONFLICT: the field has an open conflict and the sides still differ; it waits for a person. */
  | 'UNDER_REVIEW'
  /** SKIP: the field had an open conflict and both sides now hold the same value; the conflict is settled. */
  | 'CONFLICT_SETTLED';

export interface FieldDecision {
  field: SyncField;
  action: FieldAction;
  /** The normalised value to write (WRITE_*), or that would have been written (SKIP with `blockedAction`). */
  value?: FieldValue;
  reason: DecisionReason;
  /** For a SKIP caused by the direction or by a hold: the write that was not made. */
  blockedAction?: WriteAction;
}

export interface PlannedConflict {
  field: SyncField;
  sembleValue: FieldValue;
  crmValue: FieldValue;
  /** The value both sides agreed on at the last sync. */
  lastSyncedValue: FieldValue;
}

/**
 * - WRITE: writes to apply, data quality ≥ 80 (SyncOutcome APPLIED);
 * - WRITE_AND_FLAG: writes to apply, data quality 60–79 (FLAGGED);
 * - HELD: there were writes to make but data quality < 60: none is made (HELD);
 * - NO_WRITES: nothing to write (in sync, or only conflicts / direction-excluded changes);
 * - NO_SEMBLE_RECORD: no patient in Semble; the engine never creates or deletes patients;
 * - CRM_CONTACT_DELETED: the contact was synced before and has gone from the CRM. Not
 *   recreated: a deletion in a marketing system may be an erasure request. Drop the shadow
 *   copy to sync the patient as new.
 * Conflicts are listed in `conflicts` whatever the status.
 */
export type PlanStatus = 'WRITE' | 'WRITE_AND_FLAG' | 'HELD' | 'NO_WRITES' | 'NO_SEMBLE_RECORD' | 'CRM_CONTACT_DELETED';

export type FieldValues = Partial<Record<SyncField, FieldValue>>;

export interface SyncPlan {
  patientId: string;
  status: PlanStatus;
  /** One per field, in SYNC_FIELDS order. */
  decisions: FieldDecision[];
  conflicts: PlannedConflict[];
  /** Fields whose open conflict the sides settled themselves (same value on both), with that value. */
  settledConflicts: Array<{ field: SyncField; value: FieldValue }>;
  /** No CRM contact yet: create one (keyed by the Semble id) with `writes.crm`. */
  createCrmContact: boolean;
  /** The WRITE_* decisions grouped by target, for the adapters. */
  writes: { semble: FieldValues; crm: FieldValues };
  /** The score of the Semble-side record as it would be after the plan; null without a Semble record. */
  dataQuality: DataQuality | null;
  route: DataQualityRoute | null;
  /** The shadow copy to store once the writes succeeded; the input shadow when nothing is synced. */
  nextShadow: ShadowCopy | null;
}

export interface PlanPatientSyncInput {
  semble: PatientRecord | null;
  crm: PatientRecord | null;
  shadow: ShadowCopy | null;
  direction: SyncDirection;
  /** ISO 8601; becomes the next shadow copy's `syncedAt`. */
  now: string;
  /** Fields with an OPEN conflict for this patient. @default none */
  openConflictFields?: readonly SyncField[];
  /**
   * Another patient already uses the Semble record's email (after normalisation): a
   * data-quality issue (EMAIL_DUPLICATE) that flags the patient at least. @default false
   */
  emailUsedByAnotherPatient?: boolean;
}

/** @default for PlanPatientSyncOptions.clockSkewMs (and SYNC_CLOCK_SKEW_MS). */
export const DEFAULT_CLOCK_SKEW_MS = 2000;

export interface PlanPatientSyncOptions {
  /** @default DEFAULT_OWNERSHIP (domain.md's table) */
  ownership?: OwnershipTable;
  /**
   * Last write wins: two changes of a field less than this many milliseconds apart (inclusive)
   * are treated as simultaneous and the owner wins. Covers the clocks of two vendors.
   * A negative or non-finite value throws SyncPlanInputError. @default DEFAULT_CLOCK_SKEW_MS
   */
  clockSkewMs?: number;
}

/** Misuse of planPatientSync by its caller (not a data problem); names the input, never a value. */
export class SyncPlanInputError extends Error {
  override readonly name = 'SyncPlanInputError';
  constructor(message: string) {
    super(message);
  }
}

function validateInput(input: PlanPatientSyncInput): string {
  if (!SYNC_DIRECTIONS.includes(input.direction)) {
    throw new SyncPlanInputError(`direction: expected one of ${SYNC_DIRECTIONS.join(', ')}, got ${JSON.stringify(input.direction)}`);
  }
  if (typeof input.now !== 'string' || Number.isNaN(Date.parse(input.now))) {
    throw new SyncPlanInputError('now: expected an ISO 8601 date-time, got something else');
  }
  const patientId = input.semble?.id ?? input.crm?.id ?? input.shadow?.patientId;
  if (!input.semble && !input.crm) throw new SyncPlanInputError('semble, crm: expected at least one record, got neither');
  // Ids are compared, not printed: a mismatch means the caller paired the wrong records.
  if (input.semble && input.crm && input.semble.id !== input.crm.id) {
    throw new SyncPlanInputError("crm.id: expected the Semble patient id of the semble record (the contact's semble_patient_id), got a different id");
  }
  if (input.shadow && input.shadow.patientId !== patientId) {
    throw new SyncPlanInputError('shadow.patientId: expected the id of the records being planned, got a different id');
  }
  return patientId as string;
}

/** Milliseconds of the side's last change to the field; unknown is -Infinity (older than anything known). */
function changedAt(record: PatientRecord, field: SyncField): number {
  const raw = record.fieldUpdatedAt?.[field] ?? record.updatedAt;
  const ms = raw ? Date.parse(raw) : Number.NaN;
  return Number.isNaN(ms) ? Number.NEGATIVE_INFINITY : ms;
}

function hasShadowValue(shadow: ShadowCopy | null, field: SyncField): boolean {
  return shadow !== null && Object.prototype.hasOwnProperty.call(shadow.values, field);
}

function writeTo(side: FieldRule['owner']): WriteAction {
  return side === 'SEMBLE' ? 'WRITE_SEMBLE' : 'WRITE_CRM';
}

interface FieldContext {
  rule: FieldRule;
  semble: PatientRecord;
  /** Null: no contact yet (one will be created). */
  crm: PatientRecord | null;
  shadow: ShadowCopy | null;
  /** The field has an open conflict. */
  underReview: boolean;
  clockSkewMs: number;
}

type Decided = { decision: FieldDecision; conflict?: PlannedConflict };

/** The decision for one field before direction and data quality are taken into account (see the header). */
function decideField({ rule, semble, crm, shadow, underReview, clockSkewMs }: FieldContext): Decided {
  const { field, owner } = rule;
  if (!rule.presentOn.includes('CRM')) return { decision: { field, action: 'SKIP', reason: 'ONLY_IN_SEMBLE' } };
  if (!rule.presentOn.includes('SEMBLE')) return { decision: { field, action: 'SKIP', reason: 'ONLY_IN_CRM' } };

  const s = normaliseFieldValue(field, semble[field]);
  const c = crm ? normaliseFieldValue(field, crm[field]) : null;
  const ownerValue = owner === 'SEMBLE' ? s : c;
  const otherValue = owner === 'SEMBLE' ? c : s;
  const nonOwner: FieldRule['owner'] = owner === 'SEMBLE' ? 'CRM' : 'SEMBLE';
  const toOther = writeTo(nonOwner);
  const toOwner = writeTo(owner);
  // With no contact the shadow is moot (see CRM_CONTACT_DELETED for a contact that went away).
  const baseline = crm !== null && hasShadowValue(shadow, field);
  const b = baseline ? ((shadow as ShadowCopy).values[field] as FieldValue) : null;
  const conflict = (reason: DecisionReason): Decided => ({
    decision: { field, action: 'CONFLICT', reason },
    conflict: { field, sembleValue: s, crmValue: c, lastSyncedValue: b },
  });

  if (underReview && crm) {
    if (sameFieldValue(s, c)) return { decision: { field, action: 'SKIP', value: s, reason: 'CONFLICT_SETTLED' } };
    return conflict('UNDER_REVIEW');
  }
  if (sameFieldValue(s, c)) {
    const reason = baseline && !sameFieldValue(s, b) ? 'SAME_CHANGE_ON_BOTH_SIDES' : 'IN_SYNC';
    return { decision: { field, action: 'SKIP', value: s, reason } };
  }
  if (!baseline) {
    // A CRM-owned field with no contact: there is no CRM value to propagate, and writing null would erase Semble's.
    if (!crm && owner === 'CRM') return { decision: { field, action: 'SKIP', reason: 'NO_CRM_CONTACT' } };
    // A critical value on the other side that the owner's would replace goes to a person; an empty one is just filled.
    if (rule.critical && otherValue !== null) return conflict('CRITICAL_DIFFERS_AT_FIRST_SYNC');
    return { decision: { field, action: toOther, value: ownerValue, reason: 'INITIAL_SYNC' } };
  }

  const sembleChanged = !sameFieldValue(s, b);
  const crmChanged = !sameFieldValue(c, b);
  if (rule.critical) return conflict(sembleChanged && crmChanged ? 'CRITICAL_CHANGED_ON_BOTH_SIDES' : 'CRITICAL_CHANGED_ON_ONE_SIDE');
  const ownerChanged = owner === 'SEMBLE' ? sembleChanged : crmChanged;
  const nonOwnerChanged = owner === 'SEMBLE' ? crmChanged : sembleChanged;
  if (!nonOwnerChanged) return { decision: { field, action: toOther, value: ownerValue, reason: 'OWNER_CHANGED' } };
  if (rule.onNonOwnerChange === 'REJECT') return { decision: { field, action: toOther, value: ownerValue, reason: 'REJECTED_NOT_OWNER' } };
  if (!ownerChanged) return { decision: { field, action: toOwner, value: otherValue, reason: 'NON_OWNER_CHANGED' } };

  // Last write wins, per field.
  const ownerAt = changedAt(owner === 'SEMBLE' ? semble : (crm as PatientRecord), field);
  const otherAt = changedAt(owner === 'SEMBLE' ? (crm as PatientRecord) : semble, field);
  if (ownerAt === otherAt || Math.abs(ownerAt - otherAt) <= clockSkewMs) {
    return { decision: { field, action: toOther, value: ownerValue, reason: 'TIE_OWNER_WINS' } };
  }
  return ownerAt > otherAt
    ? { decision: { field, action: toOther, value: ownerValue, reason: 'LAST_WRITE_WINS' } }
    : { decision: { field, action: toOwner, value: otherValue, reason: 'LAST_WRITE_WINS' } };
}

function allowedBy(direction: SyncDirection, action: WriteAction): boolean {
  switch (direction) {
    case 'BOTH':
      return true;
    case 'SEMBLE_TO_CRM':
      return action === 'WRITE_CRM';
    case 'CRM_TO_SEMBLE':
      return action === 'WRITE_SEMBLE';
  }
}

function isWrite(decision: FieldDecision): decision is FieldDecision & { action: WriteAction } {
  return decision.action === 'WRITE_CRM' || decision.action === 'WRITE_SEMBLE';
}

/** Turns a write into a SKIP that still says what it would have written, so a reviewer can see it. */
function block(decision: FieldDecision & { action: WriteAction }, reason: DecisionReason): FieldDecision {
  return { field: decision.field, action: 'SKIP', value: decision.value as FieldValue, reason, blockedAction: decision.action };
}

function skipAll(ownership: OwnershipTable, reason: DecisionReason): FieldDecision[] {
  return ownership.rules.map(({ field }) => ({ field, action: 'SKIP', reason }));
}

export function planPatientSync(input: PlanPatientSyncInput, options: PlanPatientSyncOptions = {}): SyncPlan {
  const patientId = validateInput(input);
  const ownership = options.ownership ?? DEFAULT_OWNERSHIP;
  const clockSkewMs = options.clockSkewMs ?? DEFAULT_CLOCK_SKEW_MS;
  if (!Number.isFinite(clockSkewMs) || clockSkewMs < 0) {
    throw new SyncPlanInputError(`clockSkewMs: expected a number of milliseconds ≥ 0, got ${String(clockSkewMs)}`);
  }
  const { semble, crm, shadow, direction, now } = input;

  const notSynced = (status: 'NO_SEMBLE_RECORD' | 'CRM_CONTACT_DELETED'): SyncPlan => ({
    patientId,
    status,
    decisions: skipAll(ownership, status),
    conflicts: [],
    settledConflicts: [],
    createCrmContact: false,
    writes: { semble: {}, crm: {} },
    dataQuality: null,
    route: null,
    nextShadow: shadow,
  });
  if (!semble) return notSynced('NO_SEMBLE_RECORD');
  if (!crm && shadow) return notSynced('CRM_CONTACT_DELETED');

  const conflicts: PlannedConflict[] = [];
  const underReview = new Set(input.openConflictFields ?? []);
  let decisions = ownership.rules.map((rule) => {
    const { decision, conflict } = decideField({ rule, semble, crm, shadow, underReview: underReview.has(rule.field), clockSkewMs });
    if (conflict) conflicts.push(conflict);
    return decision;
  });
  decisions = decisions.map((decision) =>
    isWrite(decision) && !allowedBy(direction, decision.action) ? block(decision, 'DIRECTION_EXCLUDED') : decision,
  );

  // Score what Semble would hold after the plan: the record every write comes from or goes to.
  const sembleAfter = (field: 'email' | 'phone' | 'nhsNumber'): string | null => {
    const write = decisions.find((decision) => decision.field === field && decision.action === 'WRITE_SEMBLE');
    const value = write ? write.value : semble[field];
    return typeof value === 'string' ? value : null;
  };
  const dataQuality = assessDataQuality({
    email: sembleAfter('email'),
    phones: [sembleAfter('phone'), ...(semble.otherPhones ?? [])],
    nhsNumber: sembleAfter('nhsNumber'),
    emailUsedByAnotherPatient: input.emailUsedByAnotherPatient ?? false,
  });

  const createCrmContact = crm === null && allowedBy(direction, 'WRITE_CRM');
  const wouldWrite = createCrmContact || decisions.some(isWrite);
  const settledConflicts = decisions
    .filter((decision) => decision.reason === 'CONFLICT_SETTLED')
    .map((decision) => ({ field: decision.field, value: decision.value as FieldValue }));
  const base = { patientId, conflicts, dataQuality, route: dataQuality.route };

  if (wouldWrite && dataQuality.route === 'HOLD_FOR_REVIEW') {
    return {
      ...base,
      status: 'HELD',
      decisions: decisions.map((decision) => (isWrite(decision) ? block(decision, 'HELD_FOR_REVIEW') : decision)),
      createCrmContact: false,
      writes: { semble: {}, crm: {} },
      // Nothing was synced, so nothing new was agreed (and no conflict is settled).
      settledConflicts: [],
      nextShadow: shadow,
    };
  }

  const writes: SyncPlan['writes'] = { semble: {}, crm: {} };
  const agreed: FieldValues = { ...(shadow?.values ?? {}) };
  for (const decision of decisions) {
    if (!ownership.isShared(decision.field)) continue;
    if (isWrite(decision)) {
      writes[decision.action === 'WRITE_CRM' ? 'crm' : 'semble'][decision.field] = decision.value as FieldValue;
      agreed[decision.field] = decision.value as FieldValue;
    } else if (decision.reason === 'IN_SYNC' || decision.reason === 'SAME_CHANGE_ON_BOTH_SIDES' || decision.reason === 'CONFLICT_SETTLED') {
      agreed[decision.field] = decision.value as FieldValue;
    }
    // CONFLICT, DIRECTION_EXCLUDED, NO_CRM_CONTACT: the sides do not agree yet; the old shadow value
    // (or its absence) keeps the pending change detectable next time.
  }
  // A one-way run that could not create the contact has agreed nothing with it.
  const nextShadow: ShadowCopy | null =
    crm === null && !createCrmContact ? shadow : { patientId, syncedAt: now, values: agreed };

  const status: PlanStatus = !wouldWrite ? 'NO_WRITES' : dataQuality.route === 'SYNC_AND_FLAG' ? 'WRITE_AND_FLAG' : 'WRITE';
  return { ...base, status, decisions, settledConflicts, createCrmContact, writes, nextShadow };
}
