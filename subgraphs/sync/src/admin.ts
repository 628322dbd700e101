/**
 * The sync service's admin routes, for the operator's tools rather than for users: off unless
 * SYNC_ADMIN_TOKEN is set, and every request needs it as a bearer token.
 *
 *   POST /admin/backfill  {restart?: boolean, maxPages?: 1..100 (default 1)}
 *     → 200 BackfillSummary (running totals of the whole backfill, `complete`)
 *     → 400 BAD_REQUEST naming the field; 401 UNAUTHORIZED; 409 BACKFILL_RUNNING
 *
 * It runs backfill pages inside the service, with the service's store and bus: the shadow copies
 * and the sync events are the ones the worker and the gateway's subscribers see. This is how
 * `npm run sync -- --backfill` works against the embedded default (memory store and bus), where
 * a separate process would otherwise keep what it learns to itself. One backfill at a time.
 */
import express from 'express';
import type { NextFunction, Request, Response, Router } from 'express';
import { z } from 'zod';
import { requireBearerToken } from '../../../lib/bearer-token';
import type { Logger } from '../../../lib/logger';
import type { SembleClient } from '../../../lib/vendors/semble';
import { runBackfill } from './backfill';
import type { PatientSync } from './patient-sync';
import { LockTimeoutError } from './store';
import type { SyncStore } from './store';

export const BACKFILL_LOCK = 'backfill:run';
/** Renewed while a request runs; waitMs 0: a second backfill is told at once. */
const BACKFILL_LOCK_OPTIONS = { ttlMs: 60_000, waitMs: 0 };

const EXPECTED: Record<string, string> = { restart: 'true or false', maxPages: 'a whole number from 1 to 100' };

const BackfillRequest = z.strictObject({
  restart: z.boolean().default(false),
  maxPages: z.number().int().min(1).max(100).default(1),
});

export interface AdminRouterOptions {
  token: string;
  semble: Pick<SembleClient, 'listPatients'>;
  store: SyncStore;
  patientSync: PatientSync;
  logger: Logger;
}

function fail(res: Response, status: number, code: string, message: string, extra: Record<string, unknown> = {}): void {
  res.status(status).json({ error: { code, message, ...extra } });
}

export function createAdminRouter(options: AdminRouterOptions): Router {
  const { store, logger } = options;
  const router = express.Router();
  router.use('/admin', requireBearerToken(options.token));
  router.use('/admin', express.json({ limit: '10kb' }));
  router.post('/admin/backfill', async (req: Request, res: Response) => {
    const parsed = BackfillRequest.safeParse(req.body ?? {});
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      const field = issue.code === 'unrecognized_keys' ? issue.keys.join(', ') : issue.path.join('.') || 'body';
      const expected = issue.code === 'unrecognized_keys' ? 'only restart and maxPages' : (EXPECTED[field] ?? 'a JSON object');
      fail(res, 400, 'BAD_REQUEST', `${field}: expected ${expected}`, { field });
      return;
    }
    try {
      const summary = await store.withLock(BACKFILL_LOCK, BACKFILL_LOCK_OPTIONS, () =>
        runBackfill({ semble: options.semble, store, patientSync: options.patientSync, restart: parsed.data.restart, maxPages: parsed.data.maxPages }),
      );
      res.json(summary);
    } catch (error) {
      if (error instanceof LockTimeoutError) {
        fail(res, 409, 'BACKFILL_RUNNING', 'another backfill is running in this service; try again when it has finished');
        return;
      }
      logger.error({ err: { name: (error as Error).name } }, 'backfill request failed');
      fail(res, 503, 'BACKFILL_FAILED', 'the backfill could not run (a vendor or the store is unavailable); try again');
    }
  });
  // A body that is not JSON: the same error shape as everything else here.
  router.use('/admin', (error: Error & { status?: number; type?: string }, _req: Request, res: Response, next: NextFunction) => {
    if (error.status === 400 || error.status === 413) {
      fail(res, error.status, error.status === 413 ? 'PAYLOAD_TOO_LARGE' : 'BAD_REQUEST', error.status === 413 ? 'body too large' : 'body: expected JSON');
      return;
    }
    next(error);
  });
  return router;
}
