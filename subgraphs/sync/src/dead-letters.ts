/**
 * Inbox events the worker gave up on. An event whose handler failed `maxDeliveries` times (a
 * vendor down for longer than the retries last, a record the code cannot handle) is set aside by
 * the bus on `sync-inbox.dead-letters` instead of being redelivered forever; the worker then
 * publishes a DEAD_LETTERED sync event (vendor only: the inbox payload can hold changed values,
 * which are PHI, so it is never logged or shown). `redriveDeadLetters` puts every dead letter not
 * yet redriven back on the inbox, once the cause is fixed; the worker re-reads the records from
 * the vendors as for any hint, so redriving one twice is harmless.
 */
import { CursorExpiredError, DEAD_LETTER_TYPE } from '../../../lib/event-bus';
import type { BusEvent, DeadLetter, DeadLetterOptions, EventBus } from '../../../lib/event-bus';
import type { Logger } from '../../../lib/logger';
import { publishSyncEvent } from './events';
import { INBOX_TOPIC } from './inbox';
import type { InboxPayload, SyncEventPayload } from './inbox';
import type { SyncStore } from './store';

export const INBOX_DEAD_LETTER_TOPIC = `${INBOX_TOPIC}.dead-letters`;
/** The dead-letter cursor up to which everything has been put back on the inbox. */
export const REDRIVEN_THROUGH_CHECKPOINT = 'dead-letters:redriven-through';
const REDRIVE_LOCK = { ttlMs: 30_000, waitMs: 10_000 };
const PAGE = 100;

const SOURCE_OF_VENDOR: Record<string, SyncEventPayload['source']> = {
  semble: 'SEMBLE',
  hubspot: 'CRM',
  stripe: 'PAYMENTS',
  gocardless: 'PAYMENTS',
  'google-calendar': 'CALENDAR',
};

/** The system a set-aside inbox payload came from (one webhook request is from one vendor). */
export function sourceOfInboxPayload(payload: unknown): SyncEventPayload['source'] {
  const vendor = (payload as Partial<InboxPayload> | null)?.items?.[0]?.vendor;
  return (vendor && SOURCE_OF_VENDOR[vendor]) || 'SEMBLE';
}

/** The worker's dead-letter setting: log the set-aside event and tell subscribers. */
export function inboxDeadLetterOptions(bus: EventBus, logger: Logger, maxDeliveries: number): DeadLetterOptions {
  return {
    maxDeliveries,
    topic: INBOX_DEAD_LETTER_TOPIC,
    onDeadLetter: async (letter: BusEvent<DeadLetter>) => {
      const source = sourceOfInboxPayload(letter.payload.payload);
      logger.error(
        { inboxCursor: letter.payload.cursor, deadLetterCursor: letter.cursor, deliveries: letter.payload.deliveries, source },
        'inbox event set aside after repeated failures; redrive it with the redriveDeadLetters mutation once the cause is fixed',
      );
      await publishSyncEvent(bus, { type: 'DEAD_LETTERED', source, outcome: 'FAILED' });
    },
  };
}

export interface RedriveResult {
  /** Dead letters put back on the inbox by this call. */
  redriven: number;
  /** Dead letters that retention dropped before they could be redriven. */
  expired: boolean;
}

/**
 * Puts every dead letter after the checkpoint back on the inbox, oldest first, advancing the
 * checkpoint after each, under a store lock so two callers do not redrive the same letters.
 */
export async function redriveDeadLetters(deps: {
  bus: EventBus;
  store: SyncStore;
  logger: Logger;
  /** Who asked (the gateway's verified token subject), for the log line. */
  requestedBy: string;
}): Promise<RedriveResult> {
  const { bus, store, logger, requestedBy } = deps;
  return store.withLock('dead-letters:redrive', REDRIVE_LOCK, async () => {
    let after = (await store.getCheckpoint(REDRIVEN_THROUGH_CHECKPOINT)) ?? undefined;
    let redriven = 0;
    let expired = false;
    for (;;) {
      let page: BusEvent[];
      try {
        page = await bus.read(INBOX_DEAD_LETTER_TOPIC, { ...(after ? { after } : {}), limit: PAGE });
      } catch (error) {
        if (!(error instanceof CursorExpiredError)) throw error;
        // Retention dropped letters we had not redriven: carry on from the oldest still kept.
        expired = true;
        after = undefined;
        page = await bus.read(INBOX_DEAD_LETTER_TOPIC, { limit: PAGE });
      }
      if (page.length === 0) break;
      for (const letter of page) {
        if (letter.type === DEAD_LETTER_TYPE) {
          const original = letter.payload as DeadLetter;
          await bus.publish({ topic: INBOX_TOPIC, type: original.type, payload: original.payload });
          redriven += 1;
        }
        after = letter.cursor;
        await store.setCheckpoint(REDRIVEN_THROUGH_CHECKPOINT, after);
      }
    }
    if (redriven > 0 || expired) logger.info({ redriven, expired, requestedBy }, 'dead letters redriven to the inbox');
    return { redriven, expired };
  });
}
