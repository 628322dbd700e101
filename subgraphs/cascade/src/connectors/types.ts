/**
 * The one interface every cascade connector implements (signed generic webhook, Slack, Microsoft
 * Teams, Mailchimp, Twilio SMS, Jira/Asana, GA4/Mixpanel). The cascade engine (outbox, retries,
 * breakers, dead letters) knows only this file; each connector knows only its vendor's wire format.
 *
 * A connector is told what to deliver and answers what happened. It never retries itself: the
 * engine decides when to try again (backoff, Retry-After, breaker), so one policy covers them all.
 */
import { z } from 'zod';

/** The vendors a connector can speak to. */
export const CONNECTOR_KINDS = ['webhook', 'slack', 'teams', 'mailchimp', 'twilio', 'jira', 'asana', 'ga4', 'mixpanel'] as const;
export type ConnectorKind = (typeof CONNECTOR_KINDS)[number];

/** A value a connector may receive: flat, serialisable. */
export type FieldValue = string | number | boolean | null;

/** One delivery: one step of one event, for one connector. */
export interface CascadeMessage {
  /**
   * Stable for (event, step): the same on every attempt and every redrive, so the receiving side
   * (or the connector, through the vendor's own idempotency mechanism) can drop a repeat.
   */
  idempotencyKey: string;
  /** The event's id (its bus cursor or the source's id). */
  eventId: string;
  /** e.g. "patient.created", "appointment.booked", "payment.failed", "conflict.opened". */
  eventType: string;
  /** ISO 8601: when the event happened. */
  occurredAt: string;
  /** The step's name in the cascade configuration, e.g. "welcome-email". */
  step: string;
  /**
   * The event's fields, already cut down to the connector's `fields` (its PHI policy): a
   * connector never sees a field it was not configured to receive.
   */
  fields: Readonly<Record<string, FieldValue>>;
  /** The step's template rendered with `fields`, when the step has one. */
  text?: string;
  /** Step options for this connector (a Mailchimp tag, a Jira project, an SMS sender…). */
  options: Readonly<Record<string, unknown>>;
}

/** What a delivery attempt came to. */
export type DeliveryOutcome =
  /** Delivered (or the vendor says it already had it). */
  | { status: 'sent'; externalId?: string; httpStatus?: number }
  /** Worth trying again: 429, 5xx, timeout, connection refused. `retryAfterMs` from the vendor's Retry-After. */
  | { status: 'retry'; reason: string; httpStatus?: number; retryAfterMs?: number }
  /** Will not succeed by trying again (4xx other than 408/429, bad configuration): straight to dead letters. */
  | { status: 'failed'; reason: string; httpStatus?: number };

export interface Connector {
  /** The connector's name in the configuration, e.g. "n8n" or "front-desk-slack". */
  readonly name: string;
  readonly kind: ConnectorKind;
  /** The event fields this connector may receive (its PHI policy, from the configuration). */
  readonly fields: readonly string[];
  /**
   * Deliver one message. Resolves with an outcome for every vendor answer and network failure;
   * rejects only on a programming error. `signal` aborts the attempt (timeout, shutdown).
   * `reason` texts never contain field values (they may be PHI).
   */
  send(message: CascadeMessage, signal: AbortSignal): Promise<DeliveryOutcome>;
}

/**
 * The settings every connector entry of the configuration file has; each kind adds its own
 * (base URL, credentials' variable names, list or project ids) in its own schema.
 */
export const connectorBaseSchema = z.object({
  kind: z.enum(CONNECTOR_KINDS),
  /** Off: its steps are recorded as skipped, nothing is sent. @default true */
  enabled: z.boolean().default(true),
  /** The event fields it receives; anything else is never sent to it. */
  fields: z.array(z.string().min(1)),
});
export type ConnectorBaseSettings = z.infer<typeof connectorBaseSchema>;

/** Builds a connector from its configuration entry; `env` holds the secrets the entry names. */
export type ConnectorFactory = (name: string, settings: ConnectorBaseSettings & Record<string, unknown>, env: Readonly<Record<string, string | undefined>>) => Connector;
