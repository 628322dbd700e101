/**
 * The one code path that syncs patients between Semble and the CRM, used by the worker (one
 * patient, both directions) and by the backfill (a page of 100, Semble → CRM):
 *
 *   read   Semble patients (unless the caller already has them) and the CRM contacts by
 *          `semble_patient_id` (one batch read, with the synced properties' history for
 *          per-field change times); which other patients use each patient's email (one CRM
 *          search per 100 emails, plus the batch itself); the shadow copies from the store;
 *   plan   planPatientSync per patient (rules/);
 *   check  the contacts of the patients with writes read again (one batch read): a patient whose
 *          contact changed since the plan is re-planned on it, once (writes are blind; README, Sync);
 *   write  the CRM writes of all patients in one batch upsert by `semble_patient_id` (which
 *          creates missing contacts; a 429/503 is a RETRY, not retried after the wait), then each
 *          patient's Semble writes (updatePatient), each after one read of the patient;
 *   record the next shadow and the sync status, open conflicts, publish sync events.
 *
 * Each patient is locked (store lock `patient:<id>`, the one conflict-review.ts takes too) from
 * the reads to the recording, so two workers handed events about one patient, the backfill and a
 * conflict resolution never interleave on it (both read, both plan, one records a stale shadow).
 * A batch takes its patients' locks one after the other in id order — two batches sharing
 * patients cannot each hold one the other waits for — and a patient whose lock stays busy past
 * `waitMs` is a RETRY result, nothing done. The events are published after the locks are
 * released: nobody waits on the bus while holding a patient.
 *
 * Our own writes come back as webhooks; by then the shadow holds the written values, so the
 * re-sync plans nothing (every field SKIP): no ping-pong.
 *
 * Events (sync-events): CONTACT_SYNCED when the CRM contact was written (source SEMBLE, target
 * CRM), PATIENT_SYNCED when Semble was written (source CRM, target SEMBLE) or, with outcome
 * SKIPPED, when there was nothing to write; REJECTED_NOT_OWNER for fields whose change on the
 * non-owning side was reverted (source the owner, target the side written; those fields are not
 * listed in CONTACT_SYNCED / PATIENT_SYNCED, so a revert never looks like a propagation); HELD_FOR_REVIEW (outcome HELD) when data quality
 * stopped the writes; CONFLICT_OPENED per conflict opened or changed (plus its event on
 * `conflicts`); FAILED when a patient cannot be synced and retrying will not help.
 */
import type { EventBus } from '../../../lib/event-bus';
import type { Logger } from '../../../lib/logger';
import { inSpan } from '../../../lib/tracing/spans';
import { HUBSPOT_IN_VALUES_LIMIT, HUBSPOT_SEARCH_LIMIT } from '../../../lib/vendors/hubspot';
import type { HubSpotContact, HubSpotUpsertInput, ContactProperty } from '../../../lib/vendors/hubspot';
import type { SemblePatient } from '../../../lib/vendors/semble';
import type { SyncClients } from './clients';
import { publishConflictEvent, publishSyncEvent } from './events';
import type { SyncEventInput } from './events';
import { describeFailure, isPermanentFailure } from './failures';
import type { SyncEventPayload } from './inbox';
import { contactToRecord, sembleToRecord, SYNC_CONTACT_HISTORY_PROPERTIES, SYNC_CONTACT_PROPERTIES, toContactProperties, toSemblePatientData } from './records';
import { normaliseEmail } from './rules/normalise';
import { DEFAULT_CLOCK_SKEW_MS, planPatientSync } from './rules/plan';
import type { FieldValue, SyncDirection, SyncField, SyncPlan } from './rules';
import type { OwnershipTable } from './rules/ownership';
import { SETTLED_BY_SYNC } from './rules/resolve';
import { LockTimeoutError, PATIENT_LOCK_OPTIONS, patientLockName, syncStateOf } from './store';
import type { AssessedDataQuality, ConflictRecord, LockOptions, PatientSyncState, SyncStore } from './store';

export interface PatientSyncDeps {
  clients: Pick<SyncClients, 'semble' | 'hubspot'>;
  store: SyncStore;
  bus: EventBus;
  logger: Logger;
  /** @default DEFAULT_OWNERSHIP */
  ownership?: OwnershipTable;
  /** @default the wall clock */
  now?: () => string;
  /** The per-patient lock's TTL and wait. @default PATIENT_LOCK_OPTIONS */
  lock?: LockOptions;
  /** Last-write-wins clock-skew allowance (PlanPatientSyncOptions.clockSkewMs). @default DEFAULT_CLOCK_SKEW_MS */
  clockSkewMs?: number;
}

export interface PatientSyncInput {
  patientId: string;
  /** The Semble record when the caller already read it (a listing page); re-read otherwise. */
  semble?: SemblePatient;
}

export interface PatientSyncOptions {
  direction: SyncDirection;
  /** What prompted the sync (a Semble change, a CRM change): the `source` of no-op and held events. */
  trigger: 'SEMBLE' | 'CRM';
}

export type PatientSyncOutcome =
  /** Written (contact created and/or fields written), possibly with conflicts too. */
  | 'SYNCED'
  /** Nothing to write. */
  | 'UNCHANGED'
  | 'HELD'
  /** No patient in Semble; given up (FAILED event). */
  | 'NOT_FOUND'
  /** The contact was synced once and has gone; not recreated. */
  | 'CONTACT_DELETED'
  /** Gave up: the vendor refused the data (FAILED event). */
  | 'FAILED'
  /** Will work later (vendor or store unavailable): nothing recorded, the caller retries. */
  | 'RETRY';

export interface PatientSyncResult {
  patientId: string;
  outcome: PatientSyncOutcome;
  contactCreated: boolean;
  contactUpdated: boolean;
  sembleUpdated: boolean;
  /** Conflicts newly opened by this sync (not re-detected ones). */
  conflictsOpened: number;
  /** For FAILED and RETRY. */
  error?: unknown;
}

type Planned = {
  input: PatientSyncInput;
  plan: SyncPlan;
  /** The Semble record the plan was made on (compared with a re-read before a Semble write). */
  semble: SemblePatient;
  contact: HubSpotContact | null;
  openConflicts: ConflictRecord[];
  /** Each side's last change (its record's updatedAt): the `sourceChangedAt` of the events of writes from it. */
  changedAt: { SEMBLE: string | null; CRM: string | null };
};

/** Publications owed per patient, made once the patients' locks are released. */
type Outbox = Map<string, Array<() => Promise<unknown>>>;

/** Conflict values are strings for the critical fields; anything else is kept as JSON text. */
function asText(value: FieldValue | undefined): string | null {
  if (value === null || value === undefined) return null;
  return typeof value === 'string' ? value : JSON.stringify(value);
}

function result(patientId: string, outcome: PatientSyncOutcome, extra: Partial<PatientSyncResult> = {}): PatientSyncResult {
  return { patientId, outcome, contactCreated: false, contactUpdated: false, sembleUpdated: false, conflictsOpened: 0, ...extra };
}

/**
 * A patient's record changed between the read its plan was made on and the re-read just before
 * the write: the write is not made (it would replace the change with a value planned without it)
 * and the patient is synced again, re-read and re-planned. Not permanent: a RETRY.
 */
export class PlanOutdatedError extends Error {
  override readonly name = 'PlanOutdatedError';
  constructor(readonly side: 'SEMBLE' | 'CRM') {
    super(`the patient changed in ${side === 'SEMBLE' ? 'Semble' : 'the CRM'} after the sync planned its writes`);
  }
}

/** The contact properties a change of which outdates a plan: every synced one (the last-modified date aside). */
const CONTACT_PROPERTIES_COMPARED = SYNC_CONTACT_PROPERTIES.filter((name) => name !== 'lastmodifieddate');

function contactChanged(read: HubSpotContact | null, reread: HubSpotContact | null): boolean {
  if (read === null || reread === null) return read !== reread;
  return read.id !== reread.id || CONTACT_PROPERTIES_COMPARED.some((name) => (read.properties[name] ?? null) !== (reread.properties[name] ?? null));
}

function sembleChanged(read: SemblePatient, reread: SemblePatient): boolean {
  const fields = (patient: SemblePatient) => JSON.stringify({ ...sembleToRecord(patient), updatedAt: null });
  return fields(read) !== fields(reread);
}

function hasWrites(plan: SyncPlan): boolean {
  return plan.createCrmContact || Object.keys(plan.writes.crm).length > 0 || Object.keys(plan.writes.semble).length > 0;
}

function failure(patientId: string, error: unknown): PatientSyncResult {
  return result(patientId, isPermanentFailure(error) ? 'FAILED' : 'RETRY', { error });
}

export function createPatientSync(deps: PatientSyncDeps) {
  const { clients, store, bus, logger } = deps;
  const now = deps.now ?? (() => new Date().toISOString());
  const lockOptions = deps.lock ?? PATIENT_LOCK_OPTIONS;
  const planOptions = { clockSkewMs: deps.clockSkewMs ?? DEFAULT_CLOCK_SKEW_MS, ...(deps.ownership ? { ownership: deps.ownership } : {}) };

  /**
   * Runs `body` holding the locks of `ids` (taken in the given order); ids whose lock stayed busy
   * are left out and reported in `busy`. Rethrows everything else.
   */
  async function underLocks<T>(ids: readonly string[], busy: Map<string, LockTimeoutError>, body: () => Promise<T>): Promise<T> {
    const [first, ...rest] = ids;
    if (first === undefined) return body();
    let entered = false;
    try {
      return await store.withLock(patientLockName(first), lockOptions, () => {
        entered = true;
        return underLocks(rest, busy, body);
      });
    } catch (error) {
      if (entered || !(error instanceof LockTimeoutError)) throw error;
      busy.set(first, error);
      return underLocks(rest, busy, body);
    }
  }

  /** Semble records by id: the given ones, the rest read in one aliased request. */
  async function readSemble(inputs: readonly PatientSyncInput[]): Promise<Map<string, SemblePatient | null | Error>> {
    const found = new Map<string, SemblePatient | null | Error>();
    const missing = inputs.filter((input) => !input.semble).map((input) => input.patientId);
    for (const input of inputs) if (input.semble) found.set(input.patientId, input.semble);
    if (missing.length > 0) {
      const answers = await clients.semble.patientsById(missing);
      missing.forEach((id, index) => found.set(id, answers[index] ?? null));
    }
    return found;
  }

  async function readContacts(patientIds: readonly string[]): Promise<Map<string, HubSpotContact>> {
    const contacts = await clients.hubspot.batchReadContacts(patientIds, SYNC_CONTACT_PROPERTIES, 'semble_patient_id', {
      propertiesWithHistory: SYNC_CONTACT_HISTORY_PROPERTIES,
    });
    const byPatient = new Map<string, HubSpotContact>();
    for (const contact of contacts) {
      const patientId = contact.properties.semble_patient_id;
      if (patientId && !contact.archived) byPatient.set(patientId, contact);
    }
    return byPatient;
  }

  /**
   * Normalised email → the patients known to use it: the patients of `sembleRecords` and those
   * whose CRM contact has it (contacts not linked to a patient, e.g. leads, do not count).
   */
  async function emailUsers(sembleRecords: ReadonlyMap<string, SemblePatient | null | Error>): Promise<Map<string, Set<string>>> {
    const users = new Map<string, Set<string>>();
    const add = (email: string | null, patientId: string) => {
      if (email === null) return;
      const ids = users.get(email) ?? new Set<string>();
      ids.add(patientId);
      users.set(email, ids);
    };
    for (const [patientId, patient] of sembleRecords) if (patient && !(patient instanceof Error)) add(normaliseEmail(patient.email), patientId);
    const emails = [...users.keys()];
    for (let i = 0; i < emails.length; i += HUBSPOT_IN_VALUES_LIMIT) {
      const values = emails.slice(i, i + HUBSPOT_IN_VALUES_LIMIT);
      let after: string | undefined;
      do {
        const page = await clients.hubspot.searchContacts({
          filterGroups: [{ filters: [{ propertyName: 'email', operator: 'IN', values }] }],
          properties: ['email', 'semble_patient_id'],
          limit: HUBSPOT_SEARCH_LIMIT,
          ...(after !== undefined ? { after } : {}),
        });
        for (const contact of page.results) {
          const patientId = contact.properties.semble_patient_id;
          if (patientId && !contact.archived) add(normaliseEmail(contact.properties.email), patientId);
        }
        after = page.paging?.next?.after;
      } while (after !== undefined);
    }
    return users;
  }

  function owe(outbox: Outbox, patientId: string, publish: () => Promise<unknown>): void {
    const owed = outbox.get(patientId) ?? [];
    owed.push(publish);
    outbox.set(patientId, owed);
  }

  function failed(outbox: Outbox, patientId: string, trigger: PatientSyncOptions['trigger'], error: unknown): PatientSyncResult {
    const outcome = failure(patientId, error);
    logger.warn({ patientId, failure: describeFailure(error), retry: outcome.outcome === 'RETRY' }, 'patient sync failed');
    if (outcome.outcome === 'FAILED') {
      const time = now();
      owe(outbox, patientId, () => publishSyncEvent(bus, { type: 'FAILED', patientId, source: trigger, outcome: 'FAILED' }, time));
    }
    return outcome;
  }

  /** Store, conflicts and events for one planned patient whose writes succeeded. */
  async function record(
    outbox: Outbox,
    planned: Planned,
    written: { contactId: string | null; contactCreated: boolean; contactUpdated: boolean; sembleUpdated: boolean },
    options: PatientSyncOptions,
  ): Promise<PatientSyncResult> {
    const { plan } = planned;
    const patientId = plan.patientId;
    const at = plan.nextShadow?.syncedAt ?? now();
    const synced = plan.status === 'WRITE' || plan.status === 'WRITE_AND_FLAG' || plan.status === 'NO_WRITES';
    if (synced && plan.nextShadow) await store.putShadow(plan.nextShadow);

    let conflictsOpened = 0;
    const conflictEvents: Array<Omit<SyncEventPayload, 'time'>> = [];
    for (const planned of plan.conflicts) {
      const opened = await store.openConflict({
        patientId,
        field: planned.field,
        sembleValue: asText(planned.sembleValue),
        crmValue: asText(planned.crmValue),
        lastSyncedValue: asText(planned.lastSyncedValue),
        detectedAt: at,
      });
      if (opened.created) conflictsOpened += 1;
      // A conflict detected again with the same values is not news.
      if (!opened.created && !opened.changed) continue;
      owe(outbox, patientId, () => publishConflictEvent(bus, store, opened.conflict));
      conflictEvents.push({ type: 'CONFLICT_OPENED', patientId, source: options.trigger, target: null, fields: [planned.field], outcome: 'CONFLICT', conflictId: opened.conflict.id });
    }

    // Conflicts the sides settled themselves (same value on both now): closed, as a person would.
    let conflictsClosed = 0;
    if (synced) {
      for (const settled of plan.settledConflicts) {
        const conflict = planned.openConflicts.find((open) => open.field === settled.field);
        if (!conflict) continue;
        const closed = await store.resolveConflict({
          id: conflict.id,
          resolution: 'SOURCES_AGREE',
          resolvedValue: asText(settled.value),
          resolvedBy: SETTLED_BY_SYNC,
          resolvedAt: at,
        });
        conflictsClosed += 1;
        owe(outbox, patientId, () => publishConflictEvent(bus, store, closed));
        conflictEvents.push({ type: 'CONFLICT_RESOLVED', patientId, source: options.trigger, target: null, fields: [settled.field], outcome: 'APPLIED', conflictId: closed.id });
      }
    }

    const previous = await store.getStatus(patientId);
    // Read before planning, under the patient's lock (which resolveConflict takes too): nothing else changed them.
    const openConflicts = planned.openConflicts.length + conflictsOpened - conflictsClosed;
    // The route held or flagged the patient whether or not there was anything to write; a plan
    // that assessed nothing (contact deleted) leaves the last assessment, and its queue, as it was.
    const dataQuality: AssessedDataQuality | null = plan.dataQuality
      ? { ...plan.dataQuality, since: previous?.dataQuality?.route === plan.dataQuality.route ? previous.dataQuality.since : now() }
      : (previous?.dataQuality ?? null);
    const state: PatientSyncState = syncStateOf(openConflicts, dataQuality);
    await store.putStatus({
      patientId,
      state,
      lastSyncedAt: synced ? at : (previous?.lastSyncedAt ?? null),
      crmContactId: written.contactId ?? planned.contact?.id ?? previous?.crmContactId ?? null,
      dataQualityIssues: plan.dataQuality?.issues ?? previous?.dataQualityIssues ?? [],
      dataQuality,
    });

    const outcome = plan.status === 'WRITE_AND_FLAG' ? 'FLAGGED' : 'APPLIED';
    const events: SyncEventInput[] = [];
    // Reverts of the non-owner's changes are their own events, not propagations.
    const rejected = (action: 'WRITE_CRM' | 'WRITE_SEMBLE') =>
      plan.decisions.filter((decision) => decision.reason === 'REJECTED_NOT_OWNER' && decision.action === action).map((decision) => decision.field as string);
    const rejectedInCrm = written.contactUpdated ? rejected('WRITE_CRM') : [];
    const rejectedInSemble = written.sembleUpdated ? rejected('WRITE_SEMBLE') : [];
    const toCrm = Object.keys(plan.writes.crm).filter((field) => !rejectedInCrm.includes(field));
    const toSemble = Object.keys(plan.writes.semble).filter((field) => !rejectedInSemble.includes(field));
    if (written.contactCreated || (written.contactUpdated && toCrm.length > 0)) {
      events.push({ type: 'CONTACT_SYNCED', patientId, source: 'SEMBLE', target: 'CRM', fields: toCrm, outcome, conflictId: null, sourceChangedAt: planned.changedAt.SEMBLE });
    }
    if (written.sembleUpdated && toSemble.length > 0) {
      events.push({ type: 'PATIENT_SYNCED', patientId, source: 'CRM', target: 'SEMBLE', fields: toSemble, outcome, conflictId: null, sourceChangedAt: planned.changedAt.CRM });
    }
    if (rejectedInCrm.length > 0) {
      events.push({ type: 'REJECTED_NOT_OWNER', patientId, source: 'SEMBLE', target: 'CRM', fields: rejectedInCrm, outcome, conflictId: null });
    }
    if (rejectedInSemble.length > 0) {
      events.push({ type: 'REJECTED_NOT_OWNER', patientId, source: 'CRM', target: 'SEMBLE', fields: rejectedInSemble, outcome, conflictId: null });
    }
    if (plan.status === 'HELD') {
      const blocked = plan.decisions.filter((decision) => decision.reason === 'HELD_FOR_REVIEW');
      const targets = new Set(blocked.map((decision) => (decision.blockedAction === 'WRITE_SEMBLE' ? 'SEMBLE' : 'CRM')));
      const target = targets.size === 1 ? ([...targets][0] as 'SEMBLE' | 'CRM') : null;
      events.push({ type: 'HELD_FOR_REVIEW', patientId, source: options.trigger, target, fields: blocked.map((decision) => decision.field), outcome: 'HELD', conflictId: null });
    }
    if (plan.status === 'CRM_CONTACT_DELETED' || (plan.status === 'NO_WRITES' && conflictEvents.length === 0)) {
      events.push({ type: 'PATIENT_SYNCED', patientId, source: options.trigger, target: options.trigger === 'SEMBLE' ? 'CRM' : 'SEMBLE', fields: [], outcome: 'SKIPPED', conflictId: null });
    }
    const time = now();
    for (const event of [...events, ...conflictEvents]) owe(outbox, patientId, () => publishSyncEvent(bus, event, time));

    const wrote = written.contactCreated || written.contactUpdated || written.sembleUpdated;
    const syncOutcome: PatientSyncOutcome =
      plan.status === 'HELD' ? 'HELD' : plan.status === 'CRM_CONTACT_DELETED' ? 'CONTACT_DELETED' : wrote ? 'SYNCED' : 'UNCHANGED';
    logger.debug({ patientId, status: plan.status, state, conflicts: plan.conflicts.length }, 'patient synced');
    return result(patientId, syncOutcome, { ...written, conflictsOpened });
  }

  /**
   * Syncs each patient; one result per input, in input order. Never throws for a patient's
   * failure: a RETRY result means the caller should try again (nothing was recorded, or the
   * events were not published; either way a re-sync is safe).
   */
  function syncPatients(inputs: readonly PatientSyncInput[], options: PatientSyncOptions): Promise<PatientSyncResult[]> {
    // One span per patient sync (its vendor reads and writes are the children): ids and outcomes, never field values.
    return inSpan(
      'sync.patients',
      { attributes: { 'patient_graph.sync.trigger': options.trigger, 'patient_graph.sync.direction': options.direction, 'patient_graph.sync.patients': inputs.length } },
      async (span) => {
        const results = await syncPatientsUntraced(inputs, options);
        const outcomes = [...new Set(results.map((outcome) => outcome.outcome))].sort();
        span.setAttribute('patient_graph.sync.outcomes', outcomes);
        return results;
      },
    );
  }

  async function syncPatientsUntraced(inputs: readonly PatientSyncInput[], options: PatientSyncOptions): Promise<PatientSyncResult[]> {
    const results = new Map<string, PatientSyncResult>();
    const ids = [...new Set(inputs.map((input) => input.patientId))];
    const unique = ids.map((id) => inputs.find((input) => input.patientId === id) as PatientSyncInput);
    const busy = new Map<string, LockTimeoutError>();
    const outbox: Outbox = new Map();
    try {
      await underLocks([...ids].sort(), busy, () =>
        syncLocked(
          unique.filter((input) => !busy.has(input.patientId)),
          options,
          results,
          outbox,
        ),
      );
    } catch (error) {
      // Only the store can fail here (a lock not taken or released): retry every patient.
      logger.warn({ patients: ids.length, failure: describeFailure(error) }, 'patient sync could not lock its patients');
      return inputs.map((input) => result(input.patientId, 'RETRY', { error }));
    }
    for (const [patientId, error] of busy) {
      logger.info({ patientId }, 'patient is being synced elsewhere; retry later');
      results.set(patientId, result(patientId, 'RETRY', { error }));
    }
    for (const [patientId, owed] of outbox) {
      try {
        for (const publish of owed) await publish();
      } catch (error) {
        // Recorded but not (fully) announced: the caller retries; the re-sync finds nothing to write.
        logger.warn({ patientId, failure: describeFailure(error) }, 'patient sync events not published');
        results.set(patientId, failure(patientId, error));
      }
    }
    return inputs.map((input) => results.get(input.patientId) as PatientSyncResult);
  }

  /** The sync of patients whose locks are held: read, plan, write, record; publications go to `outbox`. */
  async function syncLocked(unique: readonly PatientSyncInput[], options: PatientSyncOptions, results: Map<string, PatientSyncResult>, outbox: Outbox): Promise<void> {
    if (unique.length === 0) return;
    const ids = unique.map((input) => input.patientId);

    let sembleRecords: Map<string, SemblePatient | null | Error>;
    let contacts: Map<string, HubSpotContact>;
    let usersOfEmail: Map<string, Set<string>>;
    try {
      [sembleRecords, contacts] = await Promise.all([readSemble(unique), readContacts(ids)]);
      usersOfEmail = await emailUsers(sembleRecords);
    } catch (error) {
      // A failed read tells us nothing about any patient: every one of them is retried.
      logger.warn({ patients: ids.length, failure: describeFailure(error) }, 'patient sync reads failed');
      for (const id of ids) results.set(id, result(id, 'RETRY', { error }));
      return;
    }

    const planned: Planned[] = [];
    for (const input of unique) {
      const semble = sembleRecords.get(input.patientId);
      try {
        if (semble instanceof Error) throw semble;
        if (!semble) {
          // Semble is the source of truth for patients: without one there is nothing to sync.
          const time = now();
          owe(outbox, input.patientId, () => publishSyncEvent(bus, { type: 'FAILED', patientId: input.patientId, source: options.trigger, outcome: 'FAILED' }, time));
          results.set(input.patientId, result(input.patientId, 'NOT_FOUND'));
          continue;
        }
        planned.push(await planPatient(input, semble, contacts.get(input.patientId) ?? null, usersOfEmail, options));
      } catch (error) {
        results.set(input.patientId, failed(outbox, input.patientId, options.trigger, error));
      }
    }

    // Writes are blind (neither vendor offers conditional writes), so the contacts are read again
    // just before them: a patient whose contact changed since the plan is re-planned on the new
    // contact, once. What remains is the time of one request, from this read to the write.
    const writing = planned.filter(({ plan }) => hasWrites(plan));
    if (writing.length > 0) {
      let reread: Map<string, HubSpotContact> | undefined;
      try {
        reread = await readContacts(writing.map(({ plan }) => plan.patientId));
      } catch (error) {
        logger.warn({ patients: writing.length, failure: describeFailure(error) }, 'patient sync re-read before writing failed');
        for (const entry of writing) {
          results.set(entry.plan.patientId, result(entry.plan.patientId, 'RETRY', { error }));
          planned.splice(planned.indexOf(entry), 1);
        }
      }
      for (const entry of reread ? writing : []) {
        const patientId = entry.plan.patientId;
        const contact = reread?.get(patientId) ?? null;
        if (!contactChanged(entry.contact, contact)) continue;
        logger.info({ patientId }, 'contact changed while the sync planned; re-planned');
        try {
          planned[planned.indexOf(entry)] = await planPatient(entry.input, entry.semble, contact, usersOfEmail, options);
        } catch (error) {
          planned.splice(planned.indexOf(entry), 1);
          results.set(patientId, failed(outbox, patientId, options.trigger, error));
        }
      }
    }

    // CRM writes of every planned patient in one batch upsert (chunked by the client).
    const crmWrites = planned.filter(({ plan }) => plan.createCrmContact || Object.keys(plan.writes.crm).length > 0);
    const upserted = new Map<string, HubSpotContact>();
    let crmError: unknown;
    if (crmWrites.length > 0) {
      const upserts: Array<HubSpotUpsertInput<ContactProperty>> = crmWrites.map(({ plan }) => ({
        id: plan.patientId,
        idProperty: 'semble_patient_id',
        // The id property is sent too (unchanged, so no webhook): the answer then names the patient of each result.
        properties: { ...toContactProperties(plan.writes.crm), semble_patient_id: plan.patientId },
      }));
      try {
        // A 429/503 is not retried after its wait with this plan: the patients are RETRY results,
        // re-read and re-planned when the inbox hands their event out again.
        for (const contact of await clients.hubspot.upsertContacts(upserts, { retryThrottled: false })) {
          const patientId = contact.properties.semble_patient_id;
          if (patientId) upserted.set(patientId, contact);
        }
      } catch (error) {
        crmError = error;
      }
    }

    for (const entry of planned) {
      const { plan, contact } = entry;
      const patientId = plan.patientId;
      try {
        const wantsCrm = plan.createCrmContact || Object.keys(plan.writes.crm).length > 0;
        if (wantsCrm && crmError !== undefined) throw crmError;
        const written = await applySembleWrites(entry);
        results.set(
          patientId,
          await record(
            outbox,
            entry,
            {
              contactId: upserted.get(patientId)?.id ?? null,
              contactCreated: wantsCrm && contact === null,
              contactUpdated: wantsCrm && contact !== null,
              sembleUpdated: written,
            },
            options,
          ),
        );
      } catch (error) {
        // Anything already owed stays owed: e.g. a conflict opened before the failure is announced.
        results.set(patientId, failed(outbox, patientId, options.trigger, error));
      }
    }
  }

  /**
   * The plan's Semble writes, after one read of the patient (Semble's writes are blind too, and
   * its rate limit is low, so only for a patient being written). A patient changed since the plan
   * is not written: PlanOutdatedError, a RETRY (its CRM writes, if any, are already made, which a
   * re-sync finds agreeing). updatePatient is never retried by the HTTP layer (clients.ts), so a
   * 429 is a RETRY too, never a blind write after the wait.
   */
  async function applySembleWrites({ plan, semble }: Planned): Promise<boolean> {
    if (Object.keys(plan.writes.semble).length === 0) return false;
    const [current] = await clients.semble.patientsById([plan.patientId]);
    if (current instanceof Error) throw current;
    if (!current || sembleChanged(semble, current)) throw new PlanOutdatedError('SEMBLE');
    await clients.semble.updatePatient(plan.patientId, toSemblePatientData(plan.writes.semble));
    return true;
  }

  /** The plan of one patient on the records read (the shadow and open conflicts read now, under its lock). */
  async function planPatient(
    input: PatientSyncInput,
    semble: SemblePatient,
    contact: HubSpotContact | null,
    usersOfEmail: ReadonlyMap<string, Set<string>>,
    options: PatientSyncOptions,
  ): Promise<Planned> {
    const [shadow, openConflicts] = await Promise.all([store.getShadow(input.patientId), store.conflictsOfPatient(input.patientId, 'OPEN')]);
    const email = normaliseEmail(semble.email);
    const sembleRecord = sembleToRecord(semble);
    const crmRecord = contact ? contactToRecord(contact) : null;
    const plan = planPatientSync(
      {
        semble: sembleRecord,
        crm: crmRecord,
        shadow,
        direction: options.direction,
        now: now(),
        openConflictFields: openConflicts.map((conflict) => conflict.field as SyncField),
        emailUsedByAnotherPatient: email !== null && [...(usersOfEmail.get(email) ?? [])].some((id) => id !== input.patientId),
      },
      planOptions,
    );
    return { input, plan, semble, contact, openConflicts, changedAt: { SEMBLE: sembleRecord.updatedAt, CRM: crmRecord?.updatedAt ?? null } };
  }

  return { syncPatients };
}

export type PatientSync = ReturnType<typeof createPatientSync>;
