/**
 * The sync command line: `node dist/subgraphs/sync/src/cli.js --backfill [--restart] [--max-pages N]`.
 * Syncs every Semble patient Semble → CRM (backfill.ts) with a progress line and a final summary,
 * using the service's configuration (the same environment variables as the subgraph). Where it runs:
 * - with REDIS_URL, here, on the shared store and bus (checkpoint, shadows and events are the service's);
 * - else through the running sync service's admin route (SYNC_SERVICE_URL + SYNC_ADMIN_TOKEN, or the
 *   file `npm start` writes), so the embedded service's memory store and bus get them;
 * - else here on its own: the checkpoint in a file, shadows and events in this process only.
 * Exit code 0 when nothing failed, 1 when some patients failed or the service refused, 78 on bad configuration.
 */
import path from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import { createEventBus } from '../../../lib/event-bus';
import { createLogger } from '../../../lib/logger';
import { runMain } from '../../../lib/process';
import { ConfigError } from '../../../lib/config';
import { fromRoot } from '../../../lib/root';
import { runBackfill } from './backfill';
import type { BackfillOptions, BackfillProgress, BackfillSummary } from './backfill';
import { readServiceFile, RemoteBackfillError, runRemoteBackfill } from './backfill-remote';
import type { RemoteBackfillTarget } from './backfill-remote';
import { createSyncClients } from './clients';
import { loadSyncToolConfig } from './config';
import type { SyncToolConfig } from './config';
import { createPatientSync } from './patient-sync';
import { createProgressLine } from './progress-line';
import { createSyncStore } from './store';
import { withFileCheckpoints } from './store/file-checkpoints';

function positiveInt(value: string): number {
  const number = Number(value);
  if (!Number.isInteger(number) || number < 1) throw new InvalidArgumentError(`expected a positive integer, got ${JSON.stringify(value)}`);
  return number;
}

export function formatSummary(summary: BackfillSummary): string {
  return [
    summary.complete ? 'Backfill complete.' : `Backfill stopped after page ${summary.pages}; run again to resume.`,
    summary.startedAtPage > 1 ? `  resumed at page  ${summary.startedAtPage}` : null,
    `  patients         ${summary.patients}`,
    `  created          ${summary.created}`,
    `  updated          ${summary.updated}`,
    `  unchanged        ${summary.unchanged}`,
    `  conflicts        ${summary.conflicts}`,
    `  held for review  ${summary.heldForReview}`,
    `  failed           ${summary.failed}`,
  ]
    .filter((line): line is string => line !== null)
    .join('\n');
}

/** Where `npm start` writes its sync service's address (SYNC_SERVICE_FILE moves it, for both). */
const SERVICE_FILE = path.resolve(process.env.SYNC_SERVICE_FILE || fromRoot('.sync-state', 'service.json'));
const SERVICE_FILE_LABEL = path.relative(process.cwd(), SERVICE_FILE) || SERVICE_FILE;

/**
 * The running sync service to backfill through, without REDIS_URL: SYNC_SERVICE_URL with
 * SYNC_ADMIN_TOKEN, else the file `npm start` writes while it runs. Null: backfill in this process.
 */
function serviceTarget(): { target: RemoteBackfillTarget; from: 'env' | 'file' } | null {
  const url = process.env.SYNC_SERVICE_URL?.trim();
  const token = process.env.SYNC_ADMIN_TOKEN?.trim();
  if (url || token) {
    if (!url || !token) throw new ConfigError([`${url ? 'SYNC_ADMIN_TOKEN' : 'SYNC_SERVICE_URL'}: expected it with ${url ? 'SYNC_SERVICE_URL' : 'SYNC_ADMIN_TOKEN'}, found nothing (unset)`]);
    return { target: { url, token }, from: 'env' };
  }
  const fromFile = readServiceFile(SERVICE_FILE);
  return fromFile ? { target: fromFile, from: 'file' } : null;
}

type BackfillRun = Pick<BackfillOptions, 'restart' | 'maxPages' | 'shouldStop' | 'onProgress'>;

/** The backfill in this process, on the shared store with REDIS_URL, else on its own. */
async function runLocalBackfill(config: SyncToolConfig, stateFile: string | undefined, run: BackfillRun): Promise<BackfillSummary> {
  const checkpointFile = path.resolve(stateFile ?? '.sync-state/checkpoints.json');
  if (!config.redisUrl) {
    console.error(
      `REDIS_URL is not set and no sync service is running (${SERVICE_FILE_LABEL}): the checkpoint is kept in ${path.relative(process.cwd(), checkpointFile)} so an interrupted run resumes, but the shadow copies and sync events stay in this process.`,
    );
  }
  // Logs go to stderr at warn by default so they do not tear the progress line.
  const logger = createLogger('sync-backfill', process.env.LOG_LEVEL ?? 'warn');
  const bus = await createEventBus({ redisUrl: config.redisUrl, keyPrefix: config.busKeyPrefix, maxEventsPerTopic: config.busMaxEventsPerTopic });
  const baseStore = createSyncStore({ redisUrl: config.redisUrl, keyPrefix: config.syncKeyPrefix });
  const store = config.redisUrl ? baseStore : withFileCheckpoints(baseStore, checkpointFile);
  const clients = createSyncClients(config);
  try {
    return await runBackfill({ semble: clients.semble, store, patientSync: createPatientSync({ clients, store, bus, logger, clockSkewMs: config.clockSkewMs }), ...run });
  } finally {
    await store.close();
    await bus.close();
  }
}

runMain(async () => {
  const program = new Command()
    .name('sync')
    .description('Patient sync tools')
    .option('--backfill', 'sync every Semble patient to the CRM (resumes an interrupted run)')
    .option('--restart', 'with --backfill: ignore the checkpoint and start from the first page')
    .option('--max-pages <n>', 'with --backfill: stop after this many pages (the checkpoint keeps the place)', positiveInt)
    .option('--state-file <path>', 'without REDIS_URL: where the checkpoint is kept (default .sync-state/checkpoints.json)')
    .parse();
  const options = program.opts<{ backfill?: boolean; restart?: boolean; maxPages?: number; stateFile?: string }>();
  if (!options.backfill) {
    program.help({ error: true });
    return;
  }

  const config = loadSyncToolConfig(process.env);
  const progress = createProgressLine();
  let interrupted = false;
  // Ctrl-C finishes the current page (so its checkpoint is written) rather than dropping it.
  const onSignal = () => {
    interrupted = true;
  };
  process.once('SIGINT', onSignal);
  const backfill = { restart: options.restart ?? false, maxPages: options.maxPages, shouldStop: () => interrupted, onProgress: (totals: BackfillProgress) => progress.update(totals) };
  try {
    let summary: BackfillSummary | undefined;
    const service = config.redisUrl ? null : serviceTarget();
    if (service) {
      let answered = false;
      try {
        summary = await runRemoteBackfill({
          ...service.target,
          ...backfill,
          onProgress: (totals) => {
            answered = true;
            backfill.onProgress(totals);
          },
        });
      } catch (error) {
        // A file left by an `npm start` that is gone (nothing ever answered): run here instead,
        // as without it. A service that stops answering mid-run is an error, not a reason to start over.
        if (!(error instanceof RemoteBackfillError && error.code === 'UNREACHABLE' && service.from === 'file' && !answered)) throw error;
        console.error(`${error.message}; ${SERVICE_FILE_LABEL} looks stale, so the backfill runs in this process.`);
      }
    }
    summary ??= await runLocalBackfill(config, options.stateFile, backfill);
    progress.done();
    console.log(formatSummary(summary));
    process.exitCode = summary.failed > 0 ? 1 : 0;
  } catch (error) {
    progress.done();
    if (!(error instanceof RemoteBackfillError)) throw error;
    console.error(error.message);
    process.exitCode = 1;
  } finally {
    process.off('SIGINT', onSignal);
  }
});
