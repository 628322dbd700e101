/**
 * The contract between webhook ingress and the sync worker: every verified, de-duplicated
 * vendor notification (and every Semble poll hit) becomes one event on the `sync-inbox` topic.
 * The worker treats them as hints and re-reads the records from the vendors before deciding.
 */

export const INBOX_TOPIC = 'sync-inbox';
/** Topics the sync engine publishes for subscribers (the gateway maps Subscription fields to them). */
export const SYNC_EVENTS_TOPIC = 'sync-events';
export const CONFLICTS_TOPIC = 'conflicts';

export type InboxItem =
  | {
      vendor: 'semble';
      /** PATIENT_CREATED/UPDATED/DELETED, BOOKING_CREATED/UPDATED/DELETED, INVOICE_CREATED/UPDATED/PAID, or POLL. */
      eventType: string;
      /** The Semble id of the record the notification is about. */
      id: string;
    }
  | {
      vendor: 'hubspot';
      eventId: string;
      subscriptionType: string;
      /** HubSpot object id (the contact). */
      objectId: string;
      propertyName?: string;
      propertyValue?: string;
      occurredAt: number;
      changeSource?: string;
    }
  | {
      vendor: 'stripe';
      eventId: string;
      /** e.g. payment_intent.succeeded */
      type: string;
      /** The payment intent id. */
      objectId: string;
    }
  | {
      vendor: 'gocardless';
      eventId: string;
      resourceType: string;
      action: string;
      links: Record<string, string>;
    }
  | {
      vendor: 'google-calendar';
      channelId: string;
      resourceState: 'sync' | 'exists' | 'not_exists';
      resourceId?: string;
      messageNumber: string;
      /** From X-Goog-Resource-URI when present. */
      calendarId?: string;
    };

/** Payload of one `sync-inbox` event: what arrived together in one webhook request. */
export interface InboxPayload {
  receivedAt: string;
  items: InboxItem[];
}

/** Payload of a `sync-events` event (the SyncEvent's id is the event's bus cursor). */
export interface SyncEventPayload {
  type:
    | 'WEBHOOK_RECEIVED'
    | 'PATIENT_SYNCED'
    | 'CONTACT_SYNCED'
    | 'APPOINTMENT_SYNCED'
    | 'PAYMENT_SYNCED'
    | 'HELD_FOR_REVIEW'
    | 'CONFLICT_OPENED'
    | 'CONFLICT_RESOLVED'
    | 'REJECTED_NOT_OWNER'
    | 'FAILED'
    | 'DEAD_LETTERED';
  patientId: string | null;
  source: 'SEMBLE' | 'CRM' | 'CALENDAR' | 'PAYMENTS';
  target: 'SEMBLE' | 'CRM' | 'CALENDAR' | 'PAYMENTS' | null;
  /** Field names only, never values (PHI). */
  fields: string[];
  outcome: 'APPLIED' | 'FLAGGED' | 'SKIPPED' | 'HELD' | 'CONFLICT' | 'FAILED';
  conflictId: string | null;
  time: string;
  /**
   * When the source system last changed the record this step wrote from (its `updatedAt`), when
   * known: `time` minus this is the sync's lag (metrics.ts, sync_apply_lag_seconds).
   */
  sourceChangedAt?: string;
}

/** Payload of a `conflicts` event: the conflict's id and status (the gateway looks up the rest). */
export interface ConflictEventPayload {
  id: string;
  patientId: string;
  status: 'OPEN' | 'RESOLVED';
}
