/**
 * The sync engine's state: per patient the shadow copy of the last agreed values and the sync
 * status; the conflicts waiting for (or decided by) a person; the payment state recorded on
 * invoices; and named checkpoints of the backfill and the Semble poller. One interface, two
 * implementations (memory, the embedded default; Redis with REDIS_URL), one behaviour suite.
 *
 * Values in conflicts and shadows are patient data: they live here and nowhere else (never in
 * keys, logs or error messages).
 *
 * It also holds named locks (`withLock`): the worker, the backfill and a conflict resolution
 * take `patient:<id>` around each patient's read → plan → write → record, so two of them never
 * interleave on one patient (a consumer group hands events about one patient to several workers).
 */
import type { DataQualityIssue, DataQualityRoute } from '../../../../lib/data-quality';
import type { ConflictResolution } from '../rules/resolve';
import type { ShadowCopy } from '../rules/types';

export type PatientSyncState = 'NEVER_SYNCED' | 'IN_SYNC' | 'FLAGGED' | 'HELD_FOR_REVIEW' | 'CONFLICT';

/** The data quality the last sync found in the patient's Semble record (lib/data-quality). */
export interface AssessedDataQuality {
  score: number;
  issues: DataQualityIssue[];
  route: DataQualityRoute;
  /**
   * When the patient took this route (ISO 8601): kept while re-syncs find the same route, so it
   * says how long a held or flagged patient has been waiting.
   */
  since: string;
}

export interface PatientSyncStatus {
  patientId: string;
  state: PatientSyncState;
  /** When the patient's records were last agreed (ISO 8601); null before the first sync. */
  lastSyncedAt: string | null;
  /** The HubSpot contact the patient is linked to, once known. */
  crmContactId: string | null;
  /**
   * The data-quality issues of the Semble record at the last sync, including the ones only the
   * sync engine can see (EMAIL_DUPLICATE). Absent in statuses recorded before it was kept.
   */
  dataQualityIssues?: string[];

  /**
   * What the last sync assessed; null or absent before one did (a status recorded without an
   * assessment is in no review queue). Its route puts the patient in the HELD or FLAGGED queue.
   */
  dataQuality?: AssessedDataQuality | null;
}

/**
 * The review queues of patients whose data quality needs a person: HELD (score < 60, the sync
 * writes nothing for them) and FLAGGED (60–79, synced and flagged).
 */
export type ReviewQueue = 'HELD' | 'FLAGGED';

/** The queue a status puts its patient in, if any. */
export function reviewQueueOf(status: Pick<PatientSyncStatus, 'dataQuality'>): ReviewQueue | null {
  switch (status.dataQuality?.route) {
    case 'HOLD_FOR_REVIEW':
      return 'HELD';
    case 'SYNC_AND_FLAG':
      return 'FLAGGED';
    case 'DIRECT':
    case undefined:
      return null;
  }
}

/**
 * The one rule for a synced patient's state: an open conflict first (a person must decide
 * before anything else settles), then the data-quality route of its last assessment — held also
 * when there was nothing to write, as the held queue lists it.
 */
export function syncStateOf(openConflicts: number, dataQuality: Pick<AssessedDataQuality, 'route'> | null | undefined): PatientSyncState {
  if (openConflicts > 0) return 'CONFLICT';
  switch (dataQuality?.route) {
    case 'HOLD_FOR_REVIEW':
      return 'HELD_FOR_REVIEW';
    case 'SYNC_AND_FLAG':
      return 'FLAGGED';
    case 'DIRECT':
    case undefined:
      return 'IN_SYNC';
  }
}

export interface ListReviewQueueOptions {
  /** Page size, 1 or more (the API caps it; the store does not); 0 for just the count. */
  first: number;
  /** A page cursor from a previous page of the same queue; from the first patient that entered it when absent. */
  after?: string;
}

export interface ReviewQueuePage {
  /** In the order the patients entered the queue (a patient that leaves and comes back goes to the end). */
  edges: Array<{ cursor: string; status: PatientSyncStatus }>;
  hasNextPage: boolean;
  /** Patients in the queue, not just this page. */
  totalCount: number;
}

export type ConflictStatus = 'OPEN' | 'RESOLVED';

export interface ConflictRecord {
  id: string;
  patientId: string;
  field: string;
  sembleValue: string | null;
  crmValue: string | null;
  lastSyncedValue: string | null;
  status: ConflictStatus;
  /** ISO 8601; when the conflict was first opened (re-detection does not move it). */
  detectedAt: string;
  /** Cursor of the bus event (on the conflicts topic) that last changed the conflict; null until one was published. */
  cursor: string | null;
  resolution: ConflictResolution | null;
  resolvedValue: string | null;
  resolvedBy: string | null;
  resolvedAt: string | null;
}

export interface OpenConflictInput {
  patientId: string;
  field: string;
  sembleValue: string | null;
  crmValue: string | null;
  lastSyncedValue: string | null;
  detectedAt: string;
}

export interface OpenConflictResult {
  conflict: ConflictRecord;
  /** False: a conflict on (patient, field) was already open; its values were updated. */
  created: boolean;
  /** True when the conflict is new or its values differ from what was stored. */
  changed: boolean;
}

export interface ResolveConflictInput {
  id: string;
  resolution: ConflictResolution;
  resolvedValue: string | null;
  resolvedBy: string;
  resolvedAt: string;
}

export interface ListConflictsOptions {
  /** Both statuses when absent. */
  status?: ConflictStatus;
  /** Page size, 1 or more (the API caps it; the store does not). */
  first: number;
  /** A page cursor from a previous page (`ConflictPage.edges[].cursor`); from the oldest when absent. */
  after?: string;
}

export interface ConflictPage {
  /** In detection order, each with its page cursor. */
  edges: Array<{ cursor: string; conflict: ConflictRecord }>;
  hasNextPage: boolean;
  /** Conflicts with the requested status (or all), not just this page. */
  totalCount: number;
}

/** The payment state recorded on a Semble invoice (see worker.ts: Semble's API for payments is unverified). */
export interface InvoicePaymentRecord {
  invoiceId: string;
  patientId: string | null;
  provider: 'stripe' | 'gocardless';
  paymentId: string;
  /** Normalised: PAID, PENDING, FAILED or CANCELLED. */
  state: 'PAID' | 'PENDING' | 'FAILED' | 'CANCELLED';
  /** Minor units. */
  amount: number;
  currency: string;
  updatedAt: string;
}

export type SyncStoreErrorCode = 'CONFLICT_NOT_FOUND' | 'CONFLICT_ALREADY_RESOLVED' | 'INVALID_PAGE_CURSOR';

/** A refused store operation; the message names ids and codes, never values. */
export class SyncStoreError extends Error {
  override readonly name = 'SyncStoreError';
  constructor(
    readonly code: SyncStoreErrorCode,
    message: string,
  ) {
    super(message);
  }
}

export interface LockOptions {
  /**
   * How long the lock outlives its holder. While `fn` runs the lock is renewed (every third of
   * the TTL), so the TTL bounds only how long a crashed holder blocks others, not how long a
   * live one may hold it.
   */
  ttlMs: number;
  /** How long to wait for a held lock before giving up with LockTimeoutError; 0 tries once. */
  waitMs: number;
  /**
   * Renew the lock while `fn` runs. False lets it lapse after ttlMs even with `fn` still
   * running — what a holder that died or stalled looks like to everyone else (tests). @default true
   */
  keepAlive?: boolean;
}

/**
 * Defaults for `patient:<id>`. TTL 30 s: a crashed worker's patient is free again well before
 * the bus redelivers its event to another worker (claimAfterMs, 30 s by default), and renewal
 * makes a long sync (vendor retries can take a minute) safe anyway. Wait 10 s: a patient sync is
 * a few vendor calls, so a waiter normally gets the lock long before; past that, failing lets the
 * bus redeliver the event later instead of tying up a worker (and a GraphQL request) for longer.
 */
export const PATIENT_LOCK_OPTIONS: LockOptions = { ttlMs: 30_000, waitMs: 10_000 };

/** The lock that serialises everything that reads, plans and writes one patient. */
export function patientLockName(patientId: string): string {
  return `patient:${patientId}`;
}

/**
 * The lock stayed held by someone else for longer than `waitMs`. Not permanent: a worker lets
 * it out of its handler so the inbox event stays pending and is redelivered.
 */
export class LockTimeoutError extends Error {
  override readonly name = 'LockTimeoutError';
  constructor(
    readonly lockName: string,
    readonly waitedMs: number,
  ) {
    super(`lock ${lockName} is held by someone else; gave up after ${waitedMs} ms`);
  }
}

export interface SyncStore {
  /**
   * Runs `fn` holding the named lock: mutual exclusion among every caller of every process
   * sharing the store (memory: one process). Acquire waits up to `waitMs` (then throws
   * LockTimeoutError without running `fn`); the lock is released when `fn` settles, also when
   * it throws (its error is rethrown), and only if it is still ours — a lock that lapsed and was
   * taken by someone else is left alone. `fn`'s result is returned.
   */
  withLock<T>(name: string, options: LockOptions, fn: () => Promise<T>): Promise<T>;

  getShadow(patientId: string): Promise<ShadowCopy | null>;
  putShadow(shadow: ShadowCopy): Promise<void>;

  /** Null for a patient never seen (the API shows NEVER_SYNCED). */
  getStatus(patientId: string): Promise<PatientSyncStatus | null>;
  /**
   * Stores the status and, in the same step, moves the patient into the review queue its
   * `dataQuality` names (reviewQueueOf) and out of the other: a patient stays in one queue at
   * most, and keeps its place while it stays in it.
   */
  putStatus(status: PatientSyncStatus): Promise<void>;
  /** @throws SyncStoreError INVALID_PAGE_CURSOR for an `after` this store did not hand out. */
  listReviewQueue(queue: ReviewQueue, options: ListReviewQueueOptions): Promise<ReviewQueuePage>;

  /**
   * Opens a conflict on (patient, field), or — when one is already open — updates its values and
   * returns it with created: false. At most one OPEN conflict per (patient, field), also with
   * concurrent callers.
   */
  openConflict(input: OpenConflictInput): Promise<OpenConflictResult>;
  getConflict(id: string): Promise<ConflictRecord | null>;
  /** Records the cursor of the bus event that last changed the conflict; null for an unknown id. */
  setConflictCursor(id: string, cursor: string): Promise<ConflictRecord | null>;
  /** @throws SyncStoreError INVALID_PAGE_CURSOR for an `after` this store did not hand out. */
  listConflicts(options: ListConflictsOptions): Promise<ConflictPage>;
  /** One patient's conflicts, in detection order. */
  conflictsOfPatient(patientId: string, status?: ConflictStatus): Promise<ConflictRecord[]>;
  /**
   * Compare-and-set OPEN → RESOLVED. Resolving an already resolved conflict again with the same
   * resolution and value returns the stored conflict unchanged (a retried mutation).
   * @throws SyncStoreError CONFLICT_NOT_FOUND, or CONFLICT_ALREADY_RESOLVED when it was resolved differently.
   */
  resolveConflict(input: ResolveConflictInput): Promise<ConflictRecord>;

  getInvoicePayment(invoiceId: string): Promise<InvoicePaymentRecord | null>;
  putInvoicePayment(record: InvoicePaymentRecord): Promise<void>;

  /** Named progress markers (backfill page, poller position); opaque strings to the store. */
  getCheckpoint(name: string): Promise<string | null>;
  setCheckpoint(name: string, value: string): Promise<void>;
  deleteCheckpoint(name: string): Promise<void>;

  close(): Promise<void>;
}

/** The same resolution again: what makes a repeated resolveConflict idempotent. */
export function sameResolution(stored: ConflictRecord, input: Pick<ResolveConflictInput, 'resolution' | 'resolvedValue'>): boolean {
  return stored.resolution === input.resolution && stored.resolvedValue === input.resolvedValue;
}

/** A new open conflict from what was detected: the one shape both stores write. */
export function newConflictRecord(input: OpenConflictInput, id: string): ConflictRecord {
  return {
    id,
    patientId: input.patientId,
    field: input.field,
    sembleValue: input.sembleValue,
    crmValue: input.crmValue,
    lastSyncedValue: input.lastSyncedValue,
    status: 'OPEN',
    detectedAt: input.detectedAt,
    cursor: null,
    resolution: null,
    resolvedValue: null,
    resolvedBy: null,
    resolvedAt: null,
  };
}
