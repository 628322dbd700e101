/**
 * The reconciliation sweep: what repairs a change whose webhook was lost (never sent, dropped,
 * or refused too many times). Every `intervalMs` it lists the patients Semble changed since its
 * checkpoint (`updatedAt`) and the contacts HubSpot changed since its own (`lastmodifieddate`,
 * through the search API), and runs each patient through the same patient sync as a webhook
 * does (patient-sync.ts): both records re-read under the patient's lock and compared with the
 * shadow copy, so a patient whose systems agree costs two reads and writes nothing, and one a
 * lost webhook left behind is written. Then the checkpoints move.
 *
 * - Listings are hints, like webhooks: the listed record is not used, the sync re-reads it
 *   under the lock (a listing read before a webhook's sync took the lock would be stale).
 * - Each listing asks from its checkpoint minus `overlapMs`, for clock skew and for HubSpot's
 *   search index, which lags behind writes by a few seconds. Repeats are no-ops.
 * - The checkpoints (store checkpoint 'sync-sweep', in memory or Redis) are the vendors' own
 *   newest timestamps seen, never this host's clock; a patient whose sync must be retried holds
 *   its system's checkpoint back to its timestamp, so the next run lists it again.
 * - One sweep at a time across replicas: the store lock 'sync-sweep', not waited for (a replica
 *   that finds it held skips the run).
 * - Without a checkpoint the sweep starts from its creation time: changes from before are the
 *   backfill's job.
 *
 * Each run ends with a report (counts only, no PHI): logged, kept in the store ('sync-sweep-report',
 * served as Query.syncSweep) and handed to `onRun` (metrics).
 */
import type { Logger } from '../../../lib/logger';
import { MAX_PAGE_SIZE } from '../../../lib/vendors/semble';
import type { SyncClients } from './clients';
import { describeFailure } from './failures';
import type { PatientSync, PatientSyncResult } from './patient-sync';
import { LockTimeoutError } from './store';
import type { SyncStore } from './store';
import { runSerially } from '../../../lib/periodic';

export const SWEEP_CHECKPOINT = 'sync-sweep';
export const SWEEP_REPORT_CHECKPOINT = 'sync-sweep-report';
export const SWEEP_LOCK = 'sync-sweep';

/** Patients per patient-sync call (one Semble request, one HubSpot batch read and upsert). */
const SWEEP_BATCH = 50;
/** HubSpot's search pages hold at most 200 results. */
const SEARCH_PAGE = 200;
/** HubSpot's search refuses to page past 10,000 results; the rest waits for the next run. */
const SEARCH_RESULTS_MAX = 10_000;

/** What one run found and did; counts only. */
export interface SweepReport {
  /** When the run started and finished (ISO 8601). */
  startedAt: string;
  finishedAt: string;
  /** Patients listed as changed (in either system) and synced. */
  scanned: number;
  /** Patients whose systems differed from the shadow copy and were written. */
  repaired: number;
  /** Patients left for the next run: vendor or store unavailable, or the patient busy. */
  retried: number;
  /** Conflicts opened on critical fields that changed on both sides (the patients are not written). */
  conflictsOpened: number;
  /** Patients held for review (data quality below 60). */
  held: number;
  /** Patients given up on: not in Semble, or the vendor refused the data (FAILED sync events). */
  failed: number;
}

export type SweepRun =
  | { outcome: 'completed'; report: SweepReport }
  /** Another replica holds the sweep lock. */
  | { outcome: 'skipped' }
  /** A listing or the store failed; the checkpoints did not move. */
  | { outcome: 'failed'; error: unknown };

export interface SyncSweepOptions {
  clients: Pick<SyncClients, 'semble' | 'hubspot'>;
  store: SyncStore;
  patientSync: Pick<PatientSync, 'syncPatients'>;
  logger: Pick<Logger, 'info' | 'warn'>;
  /** Time between the end of one run and the start of the next; must be > 0. */
  intervalMs: number;
  /** How far before each checkpoint a listing starts. @default 30000 */
  overlapMs?: number;
  /** Where a sweep with no checkpoint starts (ISO 8601). @default the creation time */
  startFrom?: string;
  /** Called after every run, whatever its outcome; must not throw. */
  onRun?: (run: SweepRun) => void;
  /** @default the wall clock */
  now?: () => Date;
}

export interface SyncSweep {
  /** One run now (after any run in progress); never rejects: failures are the run's outcome. */
  runOnce(): Promise<SweepRun>;
  /** The last completed run's report, from the store (any replica's); null before the first. */
  lastReport(): Promise<SweepReport | null>;
  stop(): Promise<void>;
}

interface Checkpoint {
  semble: string;
  hubspot: string;
}

/** The newest of two instants, as ISO 8601 (vendors format them differently). */
function later(a: string, b: string): string {
  return Date.parse(b) > Date.parse(a) ? new Date(Date.parse(b)).toISOString() : a;
}

function earlier(a: string, b: string): string {
  return Date.parse(b) < Date.parse(a) ? new Date(Date.parse(b)).toISOString() : a;
}

export async function readSweepReport(store: SyncStore): Promise<SweepReport | null> {
  const raw = await store.getCheckpoint(SWEEP_REPORT_CHECKPOINT);
  return raw ? (JSON.parse(raw) as SweepReport) : null;
}

export function createSyncSweep(options: SyncSweepOptions): SyncSweep {
  const { clients, store, patientSync, logger } = options;
  if (!Number.isSafeInteger(options.intervalMs) || options.intervalMs <= 0) {
    throw new RangeError(`intervalMs: expected a positive integer, got ${String(options.intervalMs)}`);
  }
  const overlapMs = options.overlapMs ?? 30_000;
  if (!Number.isSafeInteger(overlapMs) || overlapMs < 0) throw new RangeError(`overlapMs: expected a non-negative integer, got ${String(overlapMs)}`);
  const now = options.now ?? (() => new Date());
  const startFrom = options.startFrom ?? now().toISOString();
  if (Number.isNaN(Date.parse(startFrom))) throw new RangeError(`startFrom: expected an ISO 8601 instant, got ${startFrom}`);

  async function readCheckpoint(): Promise<Checkpoint> {
    const raw = await store.getCheckpoint(SWEEP_CHECKPOINT);
    if (!raw) return { semble: startFrom, hubspot: startFrom };
    const parsed = JSON.parse(raw) as Partial<Checkpoint>;
    return { semble: parsed.semble ?? startFrom, hubspot: parsed.hubspot ?? startFrom };
  }

  const from = (checkpoint: string) => new Date(Date.parse(checkpoint) - overlapMs);

  /** Patient id → its Semble updatedAt, for the patients changed since `since`. */
  async function changedInSemble(since: string): Promise<Map<string, string>> {
    const changed = new Map<string, string>();
    const updatedSince = from(since).toISOString();
    for (let page = 1; ; page++) {
      const answer = await clients.semble.listPatients({ page, pageSize: MAX_PAGE_SIZE, updatedSince });
      for (const patient of answer.data) changed.set(patient.id, patient.updatedAt);
      if (!answer.pageInfo.hasMore || answer.data.length === 0) return changed;
    }
  }

  /** Patient id → its contact's lastmodifieddate, for the linked contacts changed since `since`. */
  async function changedInHubSpot(since: string): Promise<Map<string, string>> {
    const changed = new Map<string, string>();
    let after: string | undefined;
    let seen = 0;
    do {
      const page = await clients.hubspot.searchContacts({
        // HubSpot filters datetimes by epoch milliseconds.
        filterGroups: [{ filters: [{ propertyName: 'lastmodifieddate', operator: 'GTE', value: String(from(since).getTime()) }] }],
        properties: ['semble_patient_id', 'lastmodifieddate'],
        sorts: [{ propertyName: 'lastmodifieddate', direction: 'ASCENDING' }],
        limit: SEARCH_PAGE,
        ...(after !== undefined ? { after } : {}),
      });
      for (const contact of page.results) {
        const patientId = contact.properties.semble_patient_id;
        const modified = contact.properties.lastmodifieddate ?? contact.updatedAt;
        // A contact not linked to a patient has nothing to sync with.
        if (patientId && modified && !Number.isNaN(Date.parse(modified))) changed.set(patientId, modified);
      }
      seen += page.results.length;
      after = page.paging?.next?.after;
    } while (after !== undefined && seen + SEARCH_PAGE <= SEARCH_RESULTS_MAX);
    return changed;
  }

  async function sweep(startedAt: string): Promise<SweepReport> {
    const checkpoint = await readCheckpoint();
    const [semble, hubspot] = await Promise.all([changedInSemble(checkpoint.semble), changedInHubSpot(checkpoint.hubspot)]);
    const inputs = [...new Set([...semble.keys(), ...hubspot.keys()])].sort();

    const results: PatientSyncResult[] = [];
    // A patient Semble listed is synced as a Semble change, the rest as CRM changes: the trigger
    // is the `source` of the events that say nothing was written.
    for (const [trigger, ids] of [['SEMBLE', inputs.filter((id) => semble.has(id))], ['CRM', inputs.filter((id) => !semble.has(id))]] as const) {
      for (let i = 0; i < ids.length; i += SWEEP_BATCH) {
        const batch = ids.slice(i, i + SWEEP_BATCH).map((patientId) => ({ patientId }));
        results.push(...(await patientSync.syncPatients(batch, { direction: 'BOTH', trigger })));
      }
    }

    // The newest timestamps seen, held back to any patient that must be looked at again.
    let next: Checkpoint = { ...checkpoint };
    for (const stamp of semble.values()) next.semble = later(next.semble, stamp);
    for (const stamp of hubspot.values()) next.hubspot = later(next.hubspot, stamp);
    const retried = results.filter((result) => result.outcome === 'RETRY');
    for (const { patientId } of retried) {
      const s = semble.get(patientId);
      const h = hubspot.get(patientId);
      next = { semble: s ? earlier(next.semble, s) : next.semble, hubspot: h ? earlier(next.hubspot, h) : next.hubspot };
    }
    await store.setCheckpoint(SWEEP_CHECKPOINT, JSON.stringify(next satisfies Checkpoint));

    const count = (...outcomes: Array<PatientSyncResult['outcome']>) => results.filter((result) => outcomes.includes(result.outcome)).length;
    const report: SweepReport = {
      startedAt,
      finishedAt: now().toISOString(),
      scanned: results.length,
      repaired: count('SYNCED'),
      retried: retried.length,
      conflictsOpened: results.reduce((sum, result) => sum + result.conflictsOpened, 0),
      held: count('HELD'),
      failed: count('FAILED', 'NOT_FOUND'),
    };
    await store.setCheckpoint(SWEEP_REPORT_CHECKPOINT, JSON.stringify(report));
    return report;
  }

  async function run(): Promise<SweepRun> {
    const startedAt = now().toISOString();
    let outcome: SweepRun;
    try {
      const report = await store.withLock(SWEEP_LOCK, { ttlMs: 60_000, waitMs: 0 }, () => sweep(startedAt));
      outcome = { outcome: 'completed', report };
      const { scanned, repaired, retried, conflictsOpened, held, failed } = report;
      logger.info({ scanned, repaired, retried, conflictsOpened, held, failed, ms: Date.parse(report.finishedAt) - Date.parse(startedAt) }, 'sync sweep finished');
    } catch (error) {
      if (error instanceof LockTimeoutError) {
        outcome = { outcome: 'skipped' };
        logger.info({}, 'sync sweep skipped: another replica is sweeping');
      } else {
        outcome = { outcome: 'failed', error };
        logger.warn({ failure: describeFailure(error) }, 'sync sweep failed; the next run starts from the same checkpoints');
      }
    }
    options.onRun?.(outcome);
    return outcome;
  }

  const periodic = runSerially(run, options.intervalMs);
  return {
    runOnce: periodic.runOnce,
    lastReport: () => readSweepReport(store),
    stop: periodic.stop,
  };
}
