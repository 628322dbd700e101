/**
 * The cascade's reconciliation sweep: what sets off a new patient's steps when Semble's
 * PATIENT_CREATED webhook was lost (webhooks are hints). Every `intervalMs` it lists the patients
 * Semble changed since its checkpoint (`updatedAt`, as the sync's sweep does) and hands each one
 * created inside the window to the engine as the same `patient.created` event the webhook's
 * intake builds (sources.ts `patientCreatedEvent`): the same event id, so a patient whose webhook
 * did arrive gets no step twice (the engine creates a step only once per `${eventId}:${step}`).
 *
 * - The window starts at the checkpoint minus `overlapMs` (clock skew, a write landing while the
 *   listing ran), never before the floor: the time the cascade first started, kept in the store
 *   with the checkpoint, so the seeded patients and those from before the cascade never fire.
 * - The checkpoint is the newest Semble `updatedAt` seen, never this host's clock, and moves only
 *   after every event found was accepted (its steps are in the store); a patient whose event
 *   could not be taken holds the checkpoint back to its `createdAt`, so the next run lists it again.
 * - One sweep at a time across replicas: the store lock 'cascade-sweep', not waited for (a replica
 *   that finds it held skips the run).
 *
 * Each run is logged with counts only (no PHI) and handed to `onRun` (metrics).
 */
import type { Logger } from '../../../lib/logger';
import { MAX_PAGE_SIZE } from '../../../lib/vendors/semble';
import type { SembleClient } from '../../../lib/vendors/semble';
import type { CascadeEvent } from './events';
import { patientCreatedEvent } from './sources';
import type { CascadeStore } from './store/types';
import { runSerially } from '../../../lib/periodic';

export const CASCADE_SWEEP_CHECKPOINT = 'cascade-sweep';
export const CASCADE_SWEEP_LOCK = 'cascade-sweep';

/** What one run found and did; counts only. */
export interface CascadeSweepReport {
  startedAt: string;
  finishedAt: string;
  /** Patients Semble listed as changed in the window. */
  listed: number;
  /** Of those, the ones created in the window: each one's `patient.created` handed to the engine. */
  found: number;
  /** Events the engine took (new steps, or steps the webhook had already made). */
  accepted: number;
  /** Events the engine could not take (the store unavailable): listed again next run. */
  retried: number;
}

export type CascadeSweepRun =
  | { outcome: 'completed'; report: CascadeSweepReport }
  /** Another replica holds the sweep lock. */
  | { outcome: 'skipped' }
  /** The listing or the store failed; the checkpoint did not move. */
  | { outcome: 'failed'; error: unknown };

export interface CascadeSweepOptions {
  semble: Pick<SembleClient, 'listPatients'>;
  store: CascadeStore;
  /** The engine's accept: resolves once the event's steps are in the store. */
  accept: (event: CascadeEvent) => Promise<unknown>;
  logger: Pick<Logger, 'info' | 'warn'>;
  /** This process's name on the sweep lock. */
  owner: string;
  /** Time between the end of one run and the start of the next; must be > 0. */
  intervalMs: number;
  /** How far before the checkpoint a listing starts. @default 30000 */
  overlapMs?: number;
  /** A lock held longer than this (its holder died) is free again. @default 300000 */
  lockTtlMs?: number;
  /** Called after every run, whatever its outcome; must not throw. */
  onRun?: (run: CascadeSweepRun) => void;
  /** @default the wall clock */
  now?: () => Date;
}

export interface CascadeSweep {
  /** One run now (after any run in progress); never rejects: failures are the run's outcome. */
  runOnce(): Promise<CascadeSweepRun>;
  stop(): Promise<void>;
}

interface Checkpoint {
  /** When the cascade first started: nothing created before it fires. */
  floor: string;
  /** The newest Semble `updatedAt` the sweep has taken everything up to. */
  since: string;
}

const iso = (ms: number) => new Date(ms).toISOString();

/**
 * Creates the sweep and records its floor (this start, unless an earlier one is in the store),
 * then runs it every `intervalMs`. A store that does not answer now gets the floor on the first run.
 */
export async function startCascadeSweep(options: CascadeSweepOptions): Promise<CascadeSweep> {
  const { semble, store, logger } = options;
  if (!Number.isSafeInteger(options.intervalMs) || options.intervalMs <= 0) throw new RangeError(`intervalMs: expected a positive integer, got ${String(options.intervalMs)}`);
  const overlapMs = options.overlapMs ?? 30_000;
  if (!Number.isSafeInteger(overlapMs) || overlapMs < 0) throw new RangeError(`overlapMs: expected a non-negative integer, got ${String(overlapMs)}`);
  const lockTtlMs = options.lockTtlMs ?? 300_000;
  const now = options.now ?? (() => new Date());
  const startedAt = now().toISOString();

  /** The stored checkpoint, or a new one from this start (stored at once). */
  async function checkpoint(): Promise<Checkpoint> {
    const raw = await store.getCheckpoint(CASCADE_SWEEP_CHECKPOINT);
    if (raw) return JSON.parse(raw) as Checkpoint;
    const first: Checkpoint = { floor: startedAt, since: startedAt };
    await store.setCheckpoint(CASCADE_SWEEP_CHECKPOINT, JSON.stringify(first));
    return first;
  }
  await checkpoint().catch((error: Error) => logger.warn({ err: error.name }, 'cascade sweep could not record its start; its first run will'));

  async function sweep(runStartedAt: string): Promise<CascadeSweepReport> {
    const current = await checkpoint();
    const windowStart = Math.max(Date.parse(current.floor), Date.parse(current.since) - overlapMs);
    let listed = 0;
    let accepted = 0;
    let retried = 0;
    let found = 0;
    let since = Date.parse(current.since);
    let holdBack = Infinity;
    for (let page = 1; ; page++) {
      const answer = await semble.listPatients({ page, pageSize: MAX_PAGE_SIZE, updatedSince: iso(windowStart) });
      for (const patient of answer.data) {
        listed++;
        since = Math.max(since, Date.parse(patient.updatedAt));
        const createdAt = Date.parse(patient.createdAt);
        if (!(createdAt >= windowStart)) continue;
        found++;
        try {
          await options.accept(patientCreatedEvent(patient));
          accepted++;
        } catch (error) {
          retried++;
          holdBack = Math.min(holdBack, createdAt);
          logger.warn({ err: (error as Error).name }, 'cascade sweep could not hand a new patient to the engine; the next run lists it again');
        }
      }
      if (!answer.pageInfo.hasMore || answer.data.length === 0) break;
    }
    const next: Checkpoint = { floor: current.floor, since: iso(Math.min(since, holdBack)) };
    if (next.since !== current.since) await store.setCheckpoint(CASCADE_SWEEP_CHECKPOINT, JSON.stringify(next));
    return { startedAt: runStartedAt, finishedAt: now().toISOString(), listed, found, accepted, retried };
  }

  async function run(): Promise<CascadeSweepRun> {
    const runStartedAt = now().toISOString();
    let outcome: CascadeSweepRun;
    try {
      if (!(await store.tryLock(CASCADE_SWEEP_LOCK, options.owner, lockTtlMs))) {
        outcome = { outcome: 'skipped' };
        logger.info({}, 'cascade sweep skipped: another replica is sweeping');
      } else {
        try {
          const report = await sweep(runStartedAt);
          outcome = { outcome: 'completed', report };
          const { listed, found, accepted, retried } = report;
          logger.info({ listed, found, accepted, retried, ms: Date.parse(report.finishedAt) - Date.parse(runStartedAt) }, 'cascade sweep finished');
        } finally {
          await store.unlock(CASCADE_SWEEP_LOCK, options.owner).catch(() => undefined);
        }
      }
    } catch (error) {
      outcome = { outcome: 'failed', error };
      logger.warn({ err: (error as Error).name }, 'cascade sweep failed; the next run starts from the same checkpoint');
    }
    options.onRun?.(outcome);
    return outcome;
  }

  const periodic = runSerially(run, options.intervalMs);
  return {
    runOnce: periodic.runOnce,
    stop: periodic.stop,
  };
}
