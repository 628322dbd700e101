/**
 * The cascade's step store: one record per (event, step), keyed by the step's idempotency key
 * `${eventId}:${step}` (ids and step names only, never PHI), plus the indexes the engine and the
 * graph read: a patient's steps, the dead letters, and the due-time queue the scheduler polls.
 * Two implementations behind this interface: memory (the embedded default) and Redis (REDIS_URL,
 * shared by every replica).
 */
import type { CascadeMessage, ConnectorKind } from '../connectors/types';

/** A step's lifecycle: PENDING → SENT; or FAILED (retrying) → … → SENT | DEAD; or SKIPPED. DEAD → PENDING on redrive. */
export type StepState = 'PENDING' | 'SENT' | 'FAILED' | 'DEAD' | 'SKIPPED';

export const TERMINAL_STATES: ReadonlySet<StepState> = new Set(['SENT', 'DEAD', 'SKIPPED']);

export type StepStage = 'immediate' | 'short-term';

/** Why a step was not sent, or why its last attempt failed: a code and a PHI-free reason. */
export interface StepError {
  /** e.g. HTTP_503, TIMEOUT, REJECTED, CIRCUIT_OPEN, NO_MARKETING_CONSENT, NO_CRM_CONTACT, CONNECTOR_DISABLED, STEP_DISABLED. */
  code: string;
  /** The connector's reason (its contract: never field values) or the engine's. */
  reason: string;
  httpStatus?: number;
}

export interface StepRecord {
  /** The idempotency key: `${eventId}:${step}`. */
  id: string;
  eventId: string;
  eventType: string;
  occurredAt: string;
  patientId: string | null;
  step: string;
  connector: string;
  kind: ConnectorKind;
  stage: StepStage;
  /** Consent-gated (marketing) step. */
  marketing: boolean;
  state: StepState;
  /** Delivery attempts made (a wait for an open breaker or for consent is not an attempt). */
  attempts: number;
  lastError: StepError | null;
  /** When the next attempt is due (PENDING / FAILED), null otherwise. */
  nextAttemptAt: string | null;
  sentAt: string | null;
  deadAt: string | null;
  /** Times the step was put back from the dead letters. */
  redrives: number;
  externalId: string | null;
  createdAt: string;
  updatedAt: string;
  /**
   * What the connector gets, already cut down to its `fields` (may hold PHI for a connector meant
   * to hold it: never logged, never served by the graph).
   */
  message: Pick<CascadeMessage, 'fields' | 'text' | 'options'>;
}

/** A change to a record, applied only while the record is in one of `from` states. */
export type StepUpdate = Partial<Omit<StepRecord, 'id' | 'eventId' | 'step' | 'createdAt' | 'message'>>;

export interface QueueCounts {
  scheduled: number;
  due: number;
  dead: number;
}

export interface CascadeStore {
  /** Stores the record unless one with its id exists; returns the stored one and whether it is new. */
  create(record: StepRecord): Promise<{ record: StepRecord; created: boolean }>;
  get(id: string): Promise<StepRecord | null>;
  /**
   * Takes a short lease on a step for one attempt, so two replicas handed the same step do not
   * both send it. Returns the step as it stands under the lease (another deliverer may have
   * tried it since the caller last read it); null when it is terminal or someone else holds an
   * unexpired lease.
   */
  lease(id: string, owner: string, ttlMs: number): Promise<StepRecord | null>;
  /** Applies `update` (and releases `owner`'s lease) unless the record is terminal; returns the result, or null. */
  update(id: string, update: StepUpdate, owner?: string): Promise<StepRecord | null>;
  /** A patient's steps, oldest first. */
  ofPatient(patientId: string): Promise<StepRecord[]>;
  /** DEAD steps, oldest first. */
  dead(limit: number): Promise<StepRecord[]>;
  /** Puts a step in the due-time queue at `dueAtMs` (replacing its earlier due time). */
  schedule(id: string, dueAtMs: number): Promise<void>;
  /**
   * Takes up to `limit` ids due by `nowMs`, earliest first, and moves each to `nowMs + requeueAfterMs`
   * in the same atomic step: whoever takes one hands it to a deliverer, and if that process dies
   * the step comes due again instead of being lost. Two schedulers never take the same id at once.
   */
  takeDue(nowMs: number, limit: number, requeueAfterMs: number): Promise<string[]>;
  /** Removes an id from the due-time queue (its step is terminal). */
  unschedule(id: string): Promise<void>;
  /** A named position (e.g. the bus cursor the intake has taken events through). */
  getCheckpoint(name: string): Promise<string | null>;
  setCheckpoint(name: string, value: string): Promise<void>;
  /**
   * Takes the named lock for `owner` for `ttlMs` unless someone else holds it (never waits): one
   * sweep at a time across replicas. The TTL frees a lock whose holder died.
   */
  tryLock(name: string, owner: string, ttlMs: number): Promise<boolean>;
  /** Releases the named lock if `owner` still holds it. */
  unlock(name: string, owner: string): Promise<void>;
  /** How many steps wait in the due-time queue (`scheduled`), how many of them are due by `nowMs` (`due`), and the dead letters (`dead`): for /metrics. */
  queueCounts(nowMs: number): Promise<QueueCounts>;
  close(): Promise<void>;
}
