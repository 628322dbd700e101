/**
 * Following a topic's live events for as long as a process runs, whatever the bus does
 * meanwhile: what a cache needs that evicts what events name. A bus that cannot be reached at
 * start (the process that serves it starts later, Redis is down) is tried again in the
 * background, less and less often; a follower that fell behind the bus's retention
 * (CURSOR_EXPIRED) follows live events again, since what it missed is gone either way. Outages
 * are logged; the bus itself resumes a subscription after a lost connection. A bus missing at
 * start is only a warning once it has stayed away for a while: processes of one stack start
 * together, and the one that serves the bus may come up a moment after its followers.
 */
import type { Logger } from '../logger';
import type { BusEvent, EventBus, Unsubscribe } from './types';

/** Attempts to subscribe (about 15 s with the default retry) before a missing bus is a warning. */
const WARN_AFTER_ATTEMPTS = 5;

export interface FollowTopicOptions {
  logger: Pick<Logger, 'info' | 'warn' | 'error'>;
  /** Who follows, for the logs, e.g. `vendor cache invalidation`. */
  purpose: string;
  /** First and longest wait between attempts to subscribe. @default { minMs: 500, maxMs: 30000 } */
  retry?: { minMs: number; maxMs: number };
}

export interface TopicFollower {
  /** Following now (false while retrying to subscribe). */
  following(): boolean;
  stop(): Promise<void>;
}

/**
 * Hands every live event of `topic` to `onEvent`, one at a time. Resolves after the first
 * attempt to subscribe: following when it worked, retrying in the background when it did not.
 * A throwing `onEvent` is logged and the next event still comes.
 */
export async function followTopic(
  bus: EventBus,
  topic: string,
  onEvent: (event: BusEvent) => Promise<void>,
  options: FollowTopicOptions,
): Promise<TopicFollower> {
  const { logger, purpose } = options;
  const retry = options.retry ?? { minMs: 500, maxMs: 30_000 };
  let unsubscribe: Unsubscribe | undefined;
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;

  const handle = async (event: BusEvent) => {
    try {
      await onEvent(event);
    } catch (error) {
      logger.error({ topic, cursor: event.cursor, err: (error as Error).message }, `${purpose}: an event could not be applied`);
    }
  };

  const subscribe = async (attempt: number): Promise<void> => {
    if (stopped) return;
    try {
      unsubscribe = await bus.subscribe(topic, {}, handle, (error) => {
        if ((error as { code?: string }).code !== 'CURSOR_EXPIRED') {
          logger.warn({ topic, err: error.message }, `${purpose}: the bus is unavailable; events are missed meanwhile`);
          return;
        }
        // The subscription has ended: follow live events again.
        logger.error({ topic }, `${purpose} fell behind the bus; the events in between were missed`);
        unsubscribe = undefined;
        void subscribe(0);
      });
      // stop() came while subscribing: it found nothing to end.
      if (stopped) await unsubscribe();
      else if (attempt > 0) logger.info({ topic, attempts: attempt + 1 }, `${purpose} follows its topic`);
    } catch (error) {
      const fields = { topic, err: (error as Error).message };
      if (attempt === 0) logger.info(fields, `${purpose} cannot follow its topic yet; retrying`);
      if (attempt === WARN_AFTER_ATTEMPTS) logger.warn(fields, `${purpose} still cannot follow its topic; events are missed meanwhile; retrying`);
      if (stopped) return;
      timer = setTimeout(() => void subscribe(attempt + 1), Math.min(retry.maxMs, retry.minMs * 2 ** attempt));
      timer.unref();
    }
  };

  await subscribe(0);
  return {
    following: () => unsubscribe !== undefined && !stopped,
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await unsubscribe?.();
      unsubscribe = undefined;
    },
  };
}
