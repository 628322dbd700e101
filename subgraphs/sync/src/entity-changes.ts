/**
 * Publishing `entity-changes` (lib/entity-changes.ts): which records of the patient graph changed,
 * in the graph's own terms (`{ type: 'Patient', id }`), for whoever keeps copies of them: the
 * gateway's entity cache and the subgraphs' vendor caches evict what an event names. Published
 * by webhook ingress as soon as a vendor's notification is accepted (what the notification
 * names), and by the worker once it has learned what else a change touches (the patient behind
 * a contact or a payment, the invoice a payment is for). Ids only: never a value.
 */
import { ENTITY_CHANGES_TOPIC } from '../../../lib/entity-changes';
import type { EntityChangesPayload as Payload, EntityRef } from '../../../lib/entity-changes';
import type { EventBus } from '../../../lib/event-bus';
import type { Logger } from '../../../lib/logger';
import type { InboxItem } from './inbox';

export type EntityChangesPayload = Payload<InboxItem['vendor']>;

/** The graph entities a vendor notification names by itself (before anything is re-read). */
export function entitiesNamedBy(item: InboxItem): EntityRef[] {
  switch (item.vendor) {
    case 'semble':
      if (/^PATIENT_/.test(item.eventType)) return [{ type: 'Patient', id: item.id }];
      if (/^BOOKING_/.test(item.eventType)) return [{ type: 'Appointment', id: item.id }];
      if (/^INVOICE_/.test(item.eventType)) return [{ type: 'Invoice', id: item.id }];
      return [];
    case 'hubspot':
      return item.subscriptionType.startsWith('contact.') ? [{ type: 'CrmContact', id: item.objectId }] : [];
    case 'stripe':
      return item.type.startsWith('payment_intent.') ? [{ type: 'Payment', id: item.objectId }] : [];
    case 'gocardless':
      return [
        ...(item.links?.payment ? [{ type: 'Payment', id: item.links.payment }] : []),
        ...(item.links?.mandate ? [{ type: 'Mandate', id: item.links.mandate }] : []),
      ];
    case 'google-calendar':
      // A push names the calendar, not the event: nothing to evict by name.
      return [];
  }
}

/**
 * Publishes the change when it names anything. Best effort: a cache that misses it keeps the
 * old value until its TTL, which is why a failure is logged and not thrown.
 */
export async function publishEntityChanges(
  bus: EventBus,
  source: EntityChangesPayload['source'],
  entities: EntityRef[],
  logger: Pick<Logger, 'warn'>,
): Promise<void> {
  const unique = [...new Map(entities.map((entity) => [`${entity.type}:${entity.id}`, entity])).values()];
  if (unique.length === 0) return;
  try {
    await bus.publish<EntityChangesPayload>({ topic: ENTITY_CHANGES_TOPIC, type: 'entities.changed', payload: { entities: unique, source } });
  } catch (error) {
    logger.warn({ source, entities: unique.length, err: (error as Error).message }, 'entity changes not published; caches keep the old values until their TTL');
  }
}
