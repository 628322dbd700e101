/**
 * The cascade's domain events: what happened (a patient created, an appointment booked…), with
 * the fields a step may pass on. Every event has a stable id derived from the fact it records
 * (the same webhook delivered twice, or a booking updated twice without a status change, gives
 * the same id), so the per-(event, step) idempotency key drops repeats.
 */
import type { FieldValue } from './connectors/types';

/** Topics the cascade publishes on. */
export const CASCADE_OUTBOX_TOPIC = 'cascade-outbox';
/** Every state change of a step (PHI-free payload); Subscription.cascadeSteps follows it. */
export const CASCADE_STEPS_TOPIC = 'cascade-steps';

/** The fields each event type carries. PHI: names, email, phone, date of birth (see a connector's `fields`). */
export const EVENT_FIELDS = {
  'patient.created': ['patientId', 'firstName', 'lastName', 'fullName', 'email', 'phone', 'dateOfBirth', 'createdAt'],
  'appointment.booked': appointmentFields(),
  'appointment.rescheduled': appointmentFields(),
  'appointment.cancelled': appointmentFields(),
  'appointment.completed': appointmentFields(),
  'appointment.missed': appointmentFields(),
  'payment.failed': ['patientId', 'paymentId', 'provider', 'amountMinor', 'currency', 'firstName', 'fullName', 'email'],
  'conflict.opened': ['patientId', 'conflictId'],
} as const satisfies Record<string, readonly string[]>;

function appointmentFields() {
  return ['patientId', 'appointmentId', 'start', 'end', 'location', 'appointmentType', 'practitionerName', 'firstName', 'fullName', 'email', 'phone'] as const;
}

export type CascadeEventType = keyof typeof EVENT_FIELDS;
export const EVENT_TYPES = Object.keys(EVENT_FIELDS) as CascadeEventType[];
/** Every field any event has (a connector's `fields` must be among them). */
export const ALL_FIELDS: ReadonlySet<string> = new Set(Object.values(EVENT_FIELDS).flat());

export interface CascadeEvent {
  /** Stable for the fact: e.g. `semble:patient:123:created`, `conflict:<id>:opened`. */
  id: string;
  type: CascadeEventType;
  /** ISO 8601. */
  occurredAt: string;
  patientId: string | null;
  fields: Record<string, FieldValue>;
}

/** `fields` cut down to `allowed`: a connector never sees a field it was not configured to receive. */
export function pickFields(fields: Readonly<Record<string, FieldValue>>, allowed: readonly string[]): Record<string, FieldValue> {
  const picked: Record<string, FieldValue> = {};
  for (const name of allowed) if (name in fields) picked[name] = fields[name] ?? null;
  return picked;
}
