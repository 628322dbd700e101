/**
 * Eviction of the vendor cache by `entity-changes` events (lib/entity-changes.ts), which the
 * sync service publishes when a vendor change reaches it: what an event names, turned into the
 * tags the loaders put on their entries, evicted through the store's tag index (no scan).
 *
 * - Stripe searches are kept per patient and per invoice, tagged with it and with every record
 *   in them, so every entity an event names is a tag: `Patient:<id>` and `Invoice:<id>` evict a
 *   patient's or an invoice's searches, `Payment:<pi id>` (what Stripe's webhook names, before
 *   the worker has re-read it) the searches it appears in. A new payment is in none: the
 *   worker's event, naming its patient and invoice, evicts theirs.
 * - GoCardless listings are kept whole, so any GoCardless change evicts them all: an event from
 *   GoCardless, or one naming a GoCardless payment or a mandate (only GoCardless has mandates).
 *   A Stripe change leaves them alone.
 */
import { ENTITY_CHANGES_TOPIC, readEntityChanges } from '../../../lib/entity-changes';
import type { EntityRef } from '../../../lib/entity-changes';
import { followTopic } from '../../../lib/event-bus';
import type { BusEvent, EventBus, TopicFollower } from '../../../lib/event-bus';
import type { Logger } from '../../../lib/logger';
import { GOCARDLESS_LISTINGS_TAG, isGoCardlessPaymentId } from './gocardless-loaders';
import { entityTag } from './vendor-cache';
import type { VendorCache } from './vendor-cache';

const isGoCardlessChange = (entity: EntityRef) => entity.type === 'Mandate' || (entity.type === 'Payment' && isGoCardlessPaymentId(entity.id));

/** The cache tags an entity-changes event evicts (a tag no entry carries evicts nothing). */
export function evictionTags(change: { entities: readonly EntityRef[]; source: string | undefined }): string[] {
  const tags = change.entities.map((entity) => entityTag(entity.type, entity.id));
  if (change.source === 'gocardless' || change.entities.some(isGoCardlessChange)) tags.push(GOCARDLESS_LISTINGS_TAG);
  return tags;
}

export interface VendorCacheInvalidationOptions {
  logger: Logger;
  /** An event was applied: `evicted` entries went (for tests and diagnostics). */
  onApplied?: (event: BusEvent, evicted: number) => void;
}

/** Follows `entity-changes` on `bus` for as long as the subgraph runs, evicting what each event names. */
export function followEntityChanges(bus: EventBus, cache: VendorCache, options: VendorCacheInvalidationOptions): Promise<TopicFollower> {
  const { logger } = options;
  return followTopic(
    bus,
    ENTITY_CHANGES_TOPIC,
    async (event) => {
      const tags = evictionTags(readEntityChanges(event.payload));
      const evicted = await cache.evict(tags);
      // Counts only: the ids are patients' and invoices'.
      logger.debug({ cursor: event.cursor, tags: tags.length, evicted }, 'vendor cache: entity changes applied');
      options.onApplied?.(event, evicted);
    },
    { logger, purpose: 'vendor cache invalidation' },
  );
}
