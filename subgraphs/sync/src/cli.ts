/**
 * The sync command line: `node dist/subgraphs/sync/src/cli.js --backfill [--restart] [--max-pages N]`.
 * Syncs every Semble patient Semble → CRM (backfill.ts) with a progress line and a final summary,
 * using the service's configuration (the same environment variables as the subgraph; with
 * REDIS_URL the store, and so the checkpoint and the shadows, are the shared ones).
 * Exit code 0 when nothing failed, 1 when some patients failed, 78 on bad configuration.
 */
import path from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import { createEventBus } from '../../../lib/event-bus';
import { createLogger } from '../../../lib/logger';
import { runMain } from '../../../lib/process';
import { runBackfill } from './backfill';
import type { BackfillSummary } from './backfill';
import { createSyncClients } from './clients';
import { loadSyncConfig } from './config';
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

  const config = loadSyncConfig(process.env);
  const checkpointFile = path.resolve(options.stateFile ?? '.sync-state/checkpoints.json');
  if (!config.redisUrl) {
    console.error(
      `REDIS_URL is not set: the checkpoint is kept in ${path.relative(process.cwd(), checkpointFile)} so an interrupted run resumes; the shadow copies live in this process only, so the running service will not see them.`,
    );
  }
  // Logs go to stderr at warn by default so they do not tear the progress line.
  const logger = createLogger('sync-backfill', process.env.LOG_LEVEL ?? 'warn');
  const bus = await createEventBus({ redisUrl: config.redisUrl, keyPrefix: config.busKeyPrefix, maxEventsPerTopic: config.busMaxEventsPerTopic });
  const baseStore = createSyncStore({ redisUrl: config.redisUrl, keyPrefix: config.syncKeyPrefix });
  const store = config.redisUrl ? baseStore : withFileCheckpoints(baseStore, checkpointFile);
  const clients = createSyncClients(config);
  const progress = createProgressLine();
  let interrupted = false;
  // Ctrl-C finishes the current page (so its checkpoint is written) rather than dropping it.
  const onSignal = () => {
    interrupted = true;
  };
  process.once('SIGINT', onSignal);
  try {
    const summary = await runBackfill({
      semble: clients.semble,
      store,
      patientSync: createPatientSync({ clients, store, bus, logger }),
      restart: options.restart ?? false,
      maxPages: options.maxPages,
      shouldStop: () => interrupted,
      onProgress: (totals) => progress.update(totals),
    });
    progress.done();
    console.log(formatSummary(summary));
    process.exitCode = summary.failed > 0 ? 1 : 0;
  } finally {
    process.off('SIGINT', onSignal);
    await store.close();
    await bus.close();
  }
});
