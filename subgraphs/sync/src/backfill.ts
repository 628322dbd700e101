/**
 * The backfill: every Semble patient synced Semble → CRM, a page of 100 at a time, through
 * the same per-patient code path as the worker (patient-sync.ts, direction SEMBLE_TO_CRM).
 *
 * Resumable: after each page the store checkpoint 'backfill' records the next page and the
 * running totals, so an interrupted run continues where it stopped and its final summary
 * covers the whole backfill. A finished run removes the checkpoint (the next run starts over,
 * which is harmless: the sync is idempotent). `restart` ignores a checkpoint.
 *
 * Pages are Semble's listing order; a patient created during the run lands on a later page.
 * A patient whose sync must be retried (a vendor down) is retried once per page, then
 * counted as failed: a backfill moves on, and the worker or the next backfill picks it up.
 *
 * Concurrent with the worker: syncPatients holds the lock of every patient of the page (taken in
 * id order) from its reads to its recording, so a webhook-driven sync of one of them waits for the
 * page or runs before it, never in between. A patient whose lock stays busy (a worker is syncing
 * it right now) comes back as RETRY, like a vendor failure.
 */
import { MAX_PAGE_SIZE } from '../../../lib/vendors/semble';
import type { SembleClient } from '../../../lib/vendors/semble';
import type { PatientSync, PatientSyncResult } from './patient-sync';
import type { SyncStore } from './store';

export const BACKFILL_CHECKPOINT = 'backfill';

export interface BackfillTotals {
  patients: number;
  /** CRM contacts created. */
  created: number;
  /** CRM contacts that existed and were written. */
  updated: number;
  /** Nothing to write. */
  unchanged: number;
  /** Conflicts opened. */
  conflicts: number;
  heldForReview: number;
  failed: number;
}

export interface BackfillProgress extends BackfillTotals {
  /** Pages done, this run and earlier ones. */
  pages: number;
}

export interface BackfillSummary extends BackfillProgress {
  /** The page this run started from (1 unless it resumed). */
  startedAtPage: number;
  /** False when the run stopped early (`maxPages`, `shouldStop`); the checkpoint then holds the next page. */
  complete: boolean;
}

export interface BackfillOptions {
  semble: Pick<SembleClient, 'listPatients'>;
  store: SyncStore;
  patientSync: PatientSync;
  /** Ignore a checkpoint and start from the first page. @default false */
  restart?: boolean;
  /** Stop after this many pages in this run (the checkpoint keeps the place). @default no limit */
  maxPages?: number;
  /** @default 100 (Semble's largest page) */
  pageSize?: number;
  /** Asked before each page; true stops the run there (e.g. on Ctrl-C), the checkpoint keeps the place. */
  shouldStop?: () => boolean;
  /** Called after each page with the running totals. */
  onProgress?: (progress: BackfillProgress) => void;
}

interface BackfillCheckpoint {
  nextPage: number;
  pageSize: number;
  totals: BackfillProgress;
}

const EMPTY: BackfillProgress = { pages: 0, patients: 0, created: 0, updated: 0, unchanged: 0, conflicts: 0, heldForReview: 0, failed: 0 };

function count(totals: BackfillProgress, results: readonly PatientSyncResult[]): BackfillProgress {
  const next = { ...totals, pages: totals.pages + 1 };
  for (const result of results) {
    next.patients += 1;
    next.conflicts += result.conflictsOpened;
    if (result.contactCreated) next.created += 1;
    else if (result.contactUpdated) next.updated += 1;
    switch (result.outcome) {
      case 'HELD':
        next.heldForReview += 1;
        break;
      case 'FAILED':
      case 'RETRY':
      case 'NOT_FOUND':
        next.failed += 1;
        break;
      case 'UNCHANGED':
      case 'CONTACT_DELETED':
        next.unchanged += 1;
        break;
      case 'SYNCED':
        break;
    }
  }
  return next;
}

export async function runBackfill(options: BackfillOptions): Promise<BackfillSummary> {
  const { semble, store, patientSync } = options;
  const pageSize = options.pageSize ?? MAX_PAGE_SIZE;
  if (options.restart) await store.deleteCheckpoint(BACKFILL_CHECKPOINT);
  const raw = await store.getCheckpoint(BACKFILL_CHECKPOINT);
  const saved = raw ? (JSON.parse(raw) as BackfillCheckpoint) : null;
  // A checkpoint written with another page size points at a different place: start over.
  const resume = saved && saved.pageSize === pageSize ? saved : null;
  let page = resume?.nextPage ?? 1;
  let totals = resume?.totals ?? EMPTY;
  const startedAtPage = page;

  for (let pagesThisRun = 0; ; pagesThisRun++) {
    if ((options.maxPages !== undefined && pagesThisRun >= options.maxPages) || options.shouldStop?.()) {
      return { ...totals, startedAtPage, complete: false };
    }
    const answer = await semble.listPatients({ page, pageSize });
    if (answer.data.length > 0) {
      const inputs = answer.data.map((patient) => ({ patientId: patient.id, semble: patient }));
      let results = await patientSync.syncPatients(inputs, { direction: 'SEMBLE_TO_CRM', trigger: 'SEMBLE' });
      const retry = results.filter((result) => result.outcome === 'RETRY');
      if (retry.length > 0) {
        const again = await patientSync.syncPatients(
          inputs.filter((input) => retry.some((result) => result.patientId === input.patientId)),
          { direction: 'SEMBLE_TO_CRM', trigger: 'SEMBLE' },
        );
        const byId = new Map(again.map((result) => [result.patientId, result]));
        results = results.map((result) => byId.get(result.patientId) ?? result);
      }
      totals = count(totals, results);
    }
    page += 1;
    const done = !answer.pageInfo.hasMore || answer.data.length === 0;
    if (done) {
      await store.deleteCheckpoint(BACKFILL_CHECKPOINT);
    } else {
      await store.setCheckpoint(BACKFILL_CHECKPOINT, JSON.stringify({ nextPage: page, pageSize, totals } satisfies BackfillCheckpoint));
    }
    options.onProgress?.(totals);
    if (done) return { ...totals, startedAtPage, complete: true };
  }
}
