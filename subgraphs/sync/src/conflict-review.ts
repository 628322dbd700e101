/**
 * A person's decision on a conflict, carried out: validate it (rules/resolve.ts), record the
 * agreed value in the shadow copy, write both systems, mark the conflict resolved (compare-and-set
 * in the store), and publish CONFLICT_RESOLVED on `sync-events` and the change on `conflicts`.
 *
 * Order matters. The shadow moves first: the writes come back as webhooks, and a worker syncing
 * the patient in between must see the written side as "unchanged" and the other as "changed by
 * the non-owner" (so it converges on the chosen value) rather than re-detect the conflict.
 * The writes are idempotent: each system is re-read and written only when it differs from the
 * chosen value, so a retried mutation writes nothing twice. A conflict already resolved the same
 * way answers with the stored resolution and writes nothing.
 *
 * All of it, from re-reading the conflict to the patient's status, runs holding the patient's lock
 * (`patient:<id>`, as patient-sync.ts), so a webhook-driven sync of the same patient cannot plan
 * against a half-applied resolution; the events are published after the lock is released. A
 * patient busy for longer than the lock's wait fails the mutation (LockTimeoutError); retrying
 * it is safe.
 */
import type { EventBus } from '../../../lib/event-bus';
import type { Logger } from '../../../lib/logger';
import type { SyncClients } from './clients';
import { publishConflictEvent, publishSyncEvent } from './events';
import { contactToRecord, sembleToRecord, SYNC_CONTACT_PROPERTIES, toContactProperties, toSemblePatientData } from './records';
import { applyShadowEntry, ConflictResolutionError, normaliseFieldValue, planConflictResolution, sameFieldValue } from './rules';
import type { ConflictResolution, ConflictResolutionPlan, SyncField } from './rules';
import { PATIENT_LOCK_OPTIONS, SyncStoreError, patientLockName, sameResolution, syncStateOf } from './store';
import type { ConflictRecord, LockOptions, SyncStore } from './store';

export type ConflictReviewErrorCode = 'NOT_FOUND' | 'BAD_USER_INPUT' | 'CONFLICT_ALREADY_RESOLVED' | 'PATIENT_NOT_FOUND';

/** A refused resolution; the message names the field and what was expected, never a value. */
export class ConflictReviewError extends Error {
  override readonly name = 'ConflictReviewError';
  constructor(
    readonly code: ConflictReviewErrorCode,
    message: string,
  ) {
    super(message);
  }
}

export interface ConflictReviewDeps {
  clients: Pick<SyncClients, 'semble' | 'hubspot'>;
  store: SyncStore;
  bus: EventBus;
  logger: Logger;
  now?: () => string;
  /** The per-patient lock's TTL and wait. @default PATIENT_LOCK_OPTIONS */
  lock?: LockOptions;
}

export interface ResolveConflictRequest {
  id: string;
  resolution: ConflictResolution;
  value?: string | null;
  /** Who decided: the subject of the gateway's verified internal token (never a plain header). */
  resolvedBy: string;
}

type Applied =
  /** Nothing (more) to do: answer with this conflict. */
  | { done: ConflictRecord }
  | { resolved: ConflictRecord; field: SyncField; written: { semble: boolean; crm: boolean } };

export async function resolveConflict(deps: ConflictReviewDeps, request: ResolveConflictRequest): Promise<ConflictRecord> {
  const { store, bus, logger } = deps;
  const now = deps.now?.() ?? new Date().toISOString();
  // Read once to learn whose lock to take; everything is decided on the read under the lock.
  const found = await store.getConflict(request.id);
  if (!found) throw new ConflictReviewError('NOT_FOUND', `conflict ${request.id} does not exist`);
  const patientId = found.patientId;
  const applied = await store.withLock(patientLockName(patientId), deps.lock ?? PATIENT_LOCK_OPTIONS, () => applyResolution(deps, request, now));
  if ('done' in applied) return applied.done;

  const { field, written } = applied;
  const resolved = await publishConflictEvent(bus, store, applied.resolved);
  const target = written.semble && !written.crm ? 'SEMBLE' : written.crm && !written.semble ? 'CRM' : null;
  await publishSyncEvent(
    bus,
    {
      type: 'CONFLICT_RESOLVED',
      patientId,
      source: request.resolution === 'KEEP_CRM' ? 'CRM' : 'SEMBLE',
      target,
      fields: [field],
      outcome: 'APPLIED',
      conflictId: resolved.id,
    },
    now,
  );
  logger.info({ conflictId: resolved.id, field, resolution: request.resolution, semble: written.semble, crm: written.crm }, 'conflict resolved');
  return resolved;
}

/** The resolution's store and vendor work; the caller holds the patient's lock. */
async function applyResolution(deps: ConflictReviewDeps, request: ResolveConflictRequest, now: string): Promise<Applied> {
  const { store } = deps;
  const conflict = await store.getConflict(request.id);
  if (!conflict) throw new ConflictReviewError('NOT_FOUND', `conflict ${request.id} does not exist`);

  let plan: ConflictResolutionPlan;
  try {
    plan = planConflictResolution({ conflict, resolution: request.resolution, value: request.value ?? null, now });
  } catch (error) {
    if (error instanceof ConflictResolutionError) throw new ConflictReviewError('BAD_USER_INPUT', error.message);
    throw error;
  }

  if (conflict.status === 'RESOLVED') {
    if (sameResolution(conflict, { resolution: request.resolution, resolvedValue: plan.value })) return { done: conflict };
    throw new ConflictReviewError('CONFLICT_ALREADY_RESOLVED', `conflict ${conflict.id} was already resolved differently`);
  }

  const patientId = conflict.patientId;
  const field = plan.field;
  const shadow = await store.getShadow(patientId);
  await store.putShadow(applyShadowEntry(shadow, patientId, plan.shadowEntry, now));

  const written = await writeBothSides(deps, patientId, field, plan.value);

  let resolved: ConflictRecord;
  try {
    resolved = await store.resolveConflict({ id: conflict.id, resolution: request.resolution, resolvedValue: plan.value, resolvedBy: request.resolvedBy, resolvedAt: now });
  } catch (error) {
    if (error instanceof SyncStoreError && error.code === 'CONFLICT_ALREADY_RESOLVED') throw new ConflictReviewError('CONFLICT_ALREADY_RESOLVED', error.message);
    throw error;
  }
  // resolveConflict answered with a stored, identical resolution: someone else finished it.
  if (resolved.resolvedAt !== now || resolved.resolvedBy !== request.resolvedBy) return { done: resolved };

  const open = await store.conflictsOfPatient(patientId, 'OPEN');
  const status = await store.getStatus(patientId);
  // The data quality stays as last assessed (the echo of these writes re-assesses it): a held
  // patient is still held once its conflict is settled.
  await store.putStatus({
    patientId,
    state: syncStateOf(open.length, status?.dataQuality),
    lastSyncedAt: now,
    crmContactId: written.contactId ?? status?.crmContactId ?? null,
    dataQuality: status?.dataQuality ?? null,
  });
  return { resolved, field, written: { semble: written.semble, crm: written.crm } };
}

/** Re-reads both records and writes the chosen value where it differs. */
async function writeBothSides(
  deps: ConflictReviewDeps,
  patientId: string,
  field: SyncField,
  value: string | null,
): Promise<{ semble: boolean; crm: boolean; contactId: string | null }> {
  const { clients } = deps;
  const [[sembleAnswer], contacts] = await Promise.all([
    clients.semble.patientsById([patientId]),
    clients.hubspot.batchReadContacts([patientId], SYNC_CONTACT_PROPERTIES, 'semble_patient_id'),
  ]);
  if (sembleAnswer instanceof Error) throw sembleAnswer;
  if (!sembleAnswer) throw new ConflictReviewError('PATIENT_NOT_FOUND', `the conflict's patient no longer exists in Semble`);
  const contact = contacts.find((candidate) => candidate.properties.semble_patient_id === patientId && !candidate.archived) ?? null;
  const sembleRecord = sembleToRecord(sembleAnswer);
  const crmRecord = contact ? contactToRecord(contact) : null;
  const differs = (current: unknown) => !sameFieldValue(normaliseFieldValue(field, current), value);

  const writeSemble = differs(sembleRecord[field]);
  const writeCrm = !crmRecord || differs(crmRecord[field]);
  let contactId = contact?.id ?? null;
  if (writeCrm) {
    const [upserted] = await clients.hubspot.upsertContacts([
      { id: patientId, idProperty: 'semble_patient_id', properties: { ...toContactProperties({ [field]: value }), semble_patient_id: patientId } },
    ]);
    contactId = upserted?.id ?? contactId;
  }
  if (writeSemble) await clients.semble.updatePatient(patientId, toSemblePatientData({ [field]: value }));
  return { semble: writeSemble, crm: writeCrm, contactId };
}
