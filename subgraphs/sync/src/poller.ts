/**
 * The Semble polling fallback: every `intervalMs`, list the patients changed since the
 * checkpoint and put a POLL hint per patient on `sync-inbox` (the worker re-reads and syncs
 * them like any webhook), then advance the checkpoint. Covers webhooks Semble never sent.
 *
 * The checkpoint (store checkpoint 'semble-poll') is `{ since, seen }`: the newest `updatedAt`
 * seen and the ids changed at exactly that instant. Semble's `updatedAt` window is inclusive,
 * so the next poll asks from `since` again (a patient changed later in the same millisecond is
 * not lost) and skips only the ids already published at that instant. The checkpoint moves
 * after the hints are on the bus, so a crash in between re-publishes rather than loses.
 */
import type { EventBus } from '../../../lib/event-bus';
import type { Logger } from '../../../lib/logger';
import { MAX_PAGE_SIZE } from '../../../lib/vendors/semble';
import type { SembleClient } from '../../../lib/vendors/semble';
import { INBOX_TOPIC } from './inbox';
import type { InboxPayload } from './inbox';
import type { SyncStore } from './store';

export const POLL_CHECKPOINT = 'semble-poll';

export interface SemblePollerOptions {
  semble: Pick<SembleClient, 'listPatients'>;
  bus: EventBus;
  store: SyncStore;
  logger: Logger;
  /** Time between the end of one poll and the start of the next; must be > 0. */
  intervalMs: number;
  /**
   * Where a poller with no checkpoint starts: ISO 8601. @default the start time (changes
   * from before are the backfill's job).
   */
  startFrom?: string;
}

interface PollCheckpoint {
  since: string;
  seen: string[];
}

export interface SemblePoller {
  /** One poll now; resolves with the number of patients put on the inbox. */
  pollOnce(): Promise<number>;
  stop(): Promise<void>;
}

export function createSemblePoller(options: SemblePollerOptions): SemblePoller {
  const { semble, bus, store, logger } = options;
  if (!Number.isInteger(options.intervalMs) || options.intervalMs <= 0) {
    throw new RangeError(`intervalMs: expected a positive integer, got ${options.intervalMs}`);
  }
  const startFrom = options.startFrom ?? new Date().toISOString();
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<unknown> | undefined;
  let stopped = false;

  async function readCheckpoint(): Promise<PollCheckpoint> {
    const raw = await store.getCheckpoint(POLL_CHECKPOINT);
    if (!raw) return { since: startFrom, seen: [] };
    const parsed = JSON.parse(raw) as PollCheckpoint;
    return { since: parsed.since, seen: parsed.seen ?? [] };
  }

  async function pollOnce(): Promise<number> {
    const checkpoint = await readCheckpoint();
    const seen = new Set(checkpoint.seen);
    let since = checkpoint.since;
    let atSince = new Set(checkpoint.seen);
    let published = 0;
    for (let page = 1; ; page++) {
      const answer = await semble.listPatients({ page, pageSize: MAX_PAGE_SIZE, updatedSince: checkpoint.since });
      const changed = answer.data.filter((patient) => !(patient.updatedAt === checkpoint.since && seen.has(patient.id)));
      if (changed.length > 0) {
        const payload: InboxPayload = {
          receivedAt: new Date().toISOString(),
          items: changed.map((patient) => ({ vendor: 'semble', eventType: 'POLL', id: patient.id })),
        };
        await bus.publish({ topic: INBOX_TOPIC, type: 'semble.poll', payload });
        published += changed.length;
      }
      for (const patient of answer.data) {
        if (patient.updatedAt > since) {
          since = patient.updatedAt;
          atSince = new Set([patient.id]);
        } else if (patient.updatedAt === since) {
          atSince.add(patient.id);
        }
      }
      if (!answer.pageInfo.hasMore || answer.data.length === 0) break;
    }
    await store.setCheckpoint(POLL_CHECKPOINT, JSON.stringify({ since, seen: [...atSince] } satisfies PollCheckpoint));
    if (published > 0) logger.info({ patients: published }, 'semble poll found changes');
    return published;
  }

  function schedule(): void {
    if (stopped) return;
    timer = setTimeout(() => {
      running = pollOnce()
        .catch((error: unknown) => logger.warn({ failure: error instanceof Error ? error.name : 'unknown' }, 'semble poll failed; next interval retries'))
        .finally(() => {
          running = undefined;
          schedule();
        });
    }, options.intervalMs);
  }
  schedule();

  return {
    pollOnce,
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      await running;
    },
  };
}
