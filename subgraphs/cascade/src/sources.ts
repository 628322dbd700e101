/**
 * Where the cascade's events come from: the bus topics the sync service already fills.
 *
 *   sync-inbox (every verified vendor webhook; the sync service's contract, subgraphs/sync/src/inbox.ts)
 *     semble PATIENT_CREATED                      → patient.created
 *     semble BOOKING_CREATED                      → appointment.booked
 *     semble BOOKING_UPDATED / _DELETED           → appointment.cancelled | completed | missed, or
 *                                                   appointment.rescheduled while still booked
 *     stripe payment_intent.payment_failed        → payment.failed (when the intent is FAILED)
 *     gocardless payments failed                  → payment.failed (when the payment is FAILED)
 *   conflicts  conflict.opened                    → conflict.opened
 *
 * Webhooks are hints: each record is read again from its vendor (Semble for the patient and the
 * booking, Stripe/GoCardless for the payment) and the event is built from what it says now.
 * Event ids come from the fact, not from the delivery: a webhook delivered twice, or a booking
 * updated twice without changing status or times, gives the same id, so nothing runs twice.
 * Only events published after the cascade first started are taken (a consumer group created at
 * '$', or a follower starting live): the seeded patients never trigger anything.
 */
import { parsePhoneNumberFromString } from 'libphonenumber-js';
import type { BusEvent, EventBus, Unsubscribe } from '../../../lib/event-bus';
import type { Logger } from '../../../lib/logger';
import type { GoCardlessClient } from '../../../lib/vendors/gocardless';
import { goCardlessPaymentStatus, stripePaymentStatus } from '../../../lib/vendors/payment-status';
import type { SembleBooking, SembleClient, SemblePatient } from '../../../lib/vendors/semble';
import type { StripeClient } from '../../../lib/vendors/stripe';
import type { FieldValue } from './connectors/types';
import type { CascadeEvent, CascadeEventType } from './events';
import type { CascadeStore } from './store/types';

/** The sync service's inbox and conflict topics (its published contract). */
export const SYNC_INBOX_TOPIC = 'sync-inbox';
export const CONFLICTS_TOPIC = 'conflicts';
export const INTAKE_GROUP = 'cascade-intake';

/** The inbox items the cascade reads (a subset of the sync service's InboxItem). */
type InboxItem =
  | { vendor: 'semble'; eventType: string; id: string }
  | { vendor: 'stripe'; eventId: string; type: string; objectId: string }
  | { vendor: 'gocardless'; eventId: string; resourceType: string; action: string; links: Record<string, string> }
  | { vendor: string };

export interface SourceClients {
  semble: Pick<SembleClient, 'patientsById' | 'bookingsById'>;
  stripe: Pick<StripeClient, 'retrievePaymentIntent'>;
  goCardless: Pick<GoCardlessClient, 'getPayment'>;
}

export interface EventMapper {
  /** The cascade events one bus event stands for (none for most). Throws when a vendor read fails (try again later). */
  map(event: BusEvent): Promise<CascadeEvent[]>;
}

/** The patient's mobile (else first) number in E.164 (GB by default), as an SMS needs it; null when it does not parse. */
function firstMobile(patient: SemblePatient): string | null {
  const phones = patient.phones ?? [];
  const number = (phones.find((phone) => /mobile/i.test(phone.phoneType ?? '')) ?? phones[0])?.phoneNumber;
  return (number && parsePhoneNumberFromString(number, 'GB')?.number) || null;
}

/** The patient's fields as every patient-related event carries them. */
function patientFields(patient: SemblePatient | null): Record<string, FieldValue> {
  if (!patient) return {};
  return {
    firstName: patient.firstName,
    lastName: patient.lastName,
    fullName: patient.fullName ?? ([patient.firstName, patient.lastName].filter(Boolean).join(' ') || null),
    email: patient.email,
    phone: firstMobile(patient),
    dateOfBirth: patient.dob,
  };
}

/**
 * A Semble patient's `patient.created` event, as the webhook's intake and the sweep (sweep.ts)
 * both build it: the id names the patient, so the two never set off a step twice.
 */
export function patientCreatedEvent(patient: SemblePatient): CascadeEvent {
  return {
    id: `semble:patient:${patient.id}:created`,
    type: 'patient.created',
    occurredAt: patient.createdAt,
    patientId: patient.id,
    fields: { patientId: patient.id, ...patientFields(patient), createdAt: patient.createdAt },
  };
}

/** The appointment event a booking's current state stands for, with the part of its id that makes it unique. */
function appointmentEventOf(booking: SembleBooking, eventType: string): { type: CascadeEventType; fact: string } | null {
  const journey = booking.bookingJourney;
  if (booking.deleted || eventType === 'BOOKING_DELETED' || (booking.cancellationReason ?? '').trim() !== '') return { type: 'appointment.cancelled', fact: 'cancelled' };
  if (journey?.dna) return { type: 'appointment.missed', fact: 'missed' };
  if (journey?.departed) return { type: 'appointment.completed', fact: 'completed' };
  if (journey?.arrived || journey?.consultation) return null;
  if (eventType === 'BOOKING_CREATED') return { type: 'appointment.booked', fact: 'booked' };
  // Still booked after an update: its times changed (once per distinct time slot).
  return { type: 'appointment.rescheduled', fact: `rescheduled:${booking.start}/${booking.end}` };
}

export function createEventMapper(clients: SourceClients, now: () => number = Date.now): EventMapper {
  async function patientOf(id: string | null | undefined): Promise<SemblePatient | null> {
    if (!id) return null;
    const [patient] = await clients.semble.patientsById([id]);
    if (patient instanceof Error) throw patient;
    return patient ?? null;
  }

  async function fromSemble(item: { eventType: string; id: string }): Promise<CascadeEvent[]> {
    if (item.eventType === 'PATIENT_CREATED') {
      const patient = await patientOf(item.id);
      return patient ? [patientCreatedEvent(patient)] : [];
    }
    if (!/^BOOKING_(CREATED|UPDATED|DELETED)$/.test(item.eventType)) return [];
    const [booking] = await clients.semble.bookingsById([item.id]);
    if (booking instanceof Error) throw booking;
    if (!booking) return [];
    const kind = appointmentEventOf(booking, item.eventType);
    if (!kind) return [];
    const patient = await patientOf(booking.patientId);
    const doctor = booking.doctor ? [booking.doctor.firstName, booking.doctor.lastName].filter(Boolean).join(' ') : null;
    return [
      {
        id: `semble:booking:${booking.id}:${kind.fact}`,
        type: kind.type,
        occurredAt: booking.updatedAt,
        patientId: booking.patientId,
        fields: {
          patientId: booking.patientId,
          appointmentId: booking.id,
          start: booking.start,
          end: booking.end,
          location: booking.location,
          appointmentType: booking.appointment?.title ?? null,
          practitionerName: doctor || null,
          ...patientFields(patient),
        },
      },
    ];
  }

  async function paymentFailed(source: { provider: 'STRIPE' | 'GOCARDLESS'; eventId: string; paymentId: string; patientId: string | null; amountMinor: number; currency: string }): Promise<CascadeEvent> {
    const patient = await patientOf(source.patientId);
    return {
      id: `${source.provider.toLowerCase()}:${source.eventId}`,
      type: 'payment.failed',
      occurredAt: new Date(now()).toISOString(),
      patientId: source.patientId,
      fields: {
        patientId: source.patientId,
        paymentId: source.paymentId,
        provider: source.provider,
        amountMinor: source.amountMinor,
        currency: source.currency.toUpperCase(),
        ...(patient ? { firstName: patient.firstName, fullName: patientFields(patient).fullName ?? null, email: patient.email } : {}),
      },
    };
  }

  async function fromItem(item: InboxItem): Promise<CascadeEvent[]> {
    if (item.vendor === 'semble' && 'eventType' in item) return fromSemble(item);
    if (item.vendor === 'stripe' && 'type' in item && item.type === 'payment_intent.payment_failed') {
      const intent = await clients.stripe.retrievePaymentIntent(item.objectId);
      if (stripePaymentStatus(intent) !== 'FAILED') return [];
      return [await paymentFailed({ provider: 'STRIPE', eventId: item.eventId, paymentId: intent.id, patientId: intent.metadata.semble_patient_id ?? null, amountMinor: intent.amount, currency: intent.currency })];
    }
    if (item.vendor === 'gocardless' && 'resourceType' in item && item.resourceType === 'payments' && item.action === 'failed' && item.links?.payment) {
      const payment = await clients.goCardless.getPayment(item.links.payment);
      if (goCardlessPaymentStatus(payment.status) !== 'FAILED') return [];
      return [
        await paymentFailed({ provider: 'GOCARDLESS', eventId: item.eventId, paymentId: payment.id, patientId: payment.metadata?.semble_patient_id ?? null, amountMinor: payment.amount, currency: payment.currency }),
      ];
    }
    return [];
  }

  return {
    async map(event) {
      if (event.topic === CONFLICTS_TOPIC) {
        const payload = event.payload as { id?: unknown; patientId?: unknown } | null;
        if (event.type !== 'conflict.opened' || typeof payload?.id !== 'string') return [];
        const patientId = typeof payload.patientId === 'string' ? payload.patientId : null;
        return [{ id: `conflict:${payload.id}:opened`, type: 'conflict.opened', occurredAt: event.time, patientId, fields: { patientId, conflictId: payload.id } }];
      }
      const items = (event.payload as { items?: unknown } | null)?.items;
      if (!Array.isArray(items)) return [];
      const events: CascadeEvent[] = [];
      for (const item of items as InboxItem[]) events.push(...(await fromItem(item)));
      return events;
    },
  };
}

export interface IntakeOptions {
  bus: EventBus;
  mapper: EventMapper;
  accept: (event: CascadeEvent) => Promise<unknown>;
  logger: Logger;
  consumer: string;
  /**
   * group: a consumer group per topic (Redis, or a bus in this process): replicas share the work.
   * follow: the bus is another process's, over HTTP, which offers no groups: follow each topic
   * from a checkpoint kept in `store`, retrying an event until it is taken.
   */
  mode: 'group' | 'follow';
  store: CascadeStore;
  /** Redelivery of an event whose handling failed (group mode). @default 30000 */
  claimAfterMs?: number;
}

const TOPICS = [SYNC_INBOX_TOPIC, CONFLICTS_TOPIC] as const;

/** Takes events from the sync service's topics into the engine; returns a stop function. */
export async function startIntake(options: IntakeOptions): Promise<Unsubscribe> {
  const { bus, mapper, logger } = options;
  const handle = async (event: BusEvent) => {
    for (const cascadeEvent of await mapper.map(event)) await options.accept(cascadeEvent);
  };
  const stops: Unsubscribe[] = [];
  if (options.mode === 'group') {
    for (const topic of TOPICS) {
      stops.push(
        await bus.consume(
          topic,
          {
            group: INTAKE_GROUP,
            consumer: options.consumer,
            startAt: '$',
            claimAfterMs: options.claimAfterMs ?? 30_000,
            deadLetter: { maxDeliveries: 10, topic: `${INTAKE_GROUP}.dead-letters` },
          },
          async (event) => {
            try {
              await handle(event);
            } catch (error) {
              logger.warn({ topic, cursor: event.cursor, err: (error as Error).name }, 'cascade intake left an event pending for a retry');
              throw error;
            }
          },
        ),
      );
    }
  } else {
    let stopped = false;
    for (const topic of TOPICS) {
      const checkpoint = `intake:${topic}`;
      const after = await options.store.getCheckpoint(checkpoint);
      stops.push(
        await bus.subscribe(
          topic,
          after ? { after } : {},
          async (event) => {
            for (let attempt = 1; !stopped; attempt++) {
              try {
                await handle(event);
                break;
              } catch (error) {
                logger.warn({ topic, cursor: event.cursor, attempt, err: (error as Error).name }, 'cascade intake could not take an event; trying again');
                await new Promise((resolve) => setTimeout(resolve, Math.min(30_000, 500 * 2 ** Math.min(attempt, 6))));
              }
            }
            await options.store.setCheckpoint(checkpoint, event.cursor);
          },
          (error) => logger.warn({ topic, err: error.message }, 'cascade intake lost its subscription'),
        ),
      );
    }
    stops.unshift(async () => {
      stopped = true;
    });
  }
  return async () => {
    for (const stop of stops) await stop();
  };
}
