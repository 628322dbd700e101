/**
 * The sync worker: consumes `sync-inbox` in the consumer group 'sync-workers' (any number of
 * workers share the work; an event is acknowledged only after its handler succeeded) and turns
 * each vendor hint into a sync step. Hints are never trusted: every record is re-read from its
 * vendor before anything is decided.
 *
 *   semble PATIENT_* / POLL      → patient sync, both directions (patient-sync.ts)
 *   hubspot contact.*            → the contact's semble_patient_id, then the same patient sync
 *   semble BOOKING_*             → upsert of the Google Calendar event `semble<bookingId>`
 *   stripe payment_intent.*      → the payment state recorded on the Semble invoice
 *   gocardless payments events   → the same, from the GoCardless payment (links.payment)
 *   gocardless other resources   → WEBHOOK_RECEIVED (SKIPPED): mandates etc. are not synced
 *   google-calendar              → WEBHOOK_RECEIVED (SKIPPED): not a source yet
 *
 * A failure that may pass (a vendor down, rate-limited, Redis unreachable) throws out of the
 * handler, so the event stays pending and the bus hands it out again after `claimAfterMs`, up to
 * `maxDeliveries` times before it is set aside as a dead letter (dead-letters.ts);
 * items that already succeeded are then repeated, which the shadow copy and the idempotent
 * writes make harmless. A FAILED sync event is published only where giving up is right (the
 * record does not exist, the vendor refused the data).
 *
 * The group may hand two events about one patient to two workers at once: each patient sync
 * holds the store lock `patient:<id>` (taken in patient-sync.ts, and by a conflict resolution),
 * so the second waits for the first and then plans on what it recorded. A patient locked for
 * longer than the lock's wait is a RETRY (LockTimeoutError): the event stays pending and comes
 * back. The lock is taken inside the handler, per patient, never across the bus's own waiting.
 */
import { SpanKind } from '@opentelemetry/api';
import type { BusEvent, EventBus, Unsubscribe } from '../../../lib/event-bus';
import type { Logger } from '../../../lib/logger';
import { inSpan } from '../../../lib/tracing/spans';
import { VendorError } from '../../../lib/vendor-error';
import type { GoogleEvent, GoogleEventInput } from '../../../lib/vendors/google-calendar';
import { goCardlessPaymentStatus, stripePaymentStatus } from '../../../lib/vendors/payment-status';
import type { PaymentProvider, PaymentStatus } from '../../../lib/vendors/payment-status';
import type { SembleBooking } from '../../../lib/vendors/semble';
import type { SyncClients } from './clients';
import { inboxDeadLetterOptions } from './dead-letters';
import { publishEntityChanges } from './entity-changes';
import { publishSyncEvent } from './events';
import { describeFailure, isPermanentFailure } from './failures';
import { INBOX_TOPIC } from './inbox';
import type { InboxItem, InboxPayload } from './inbox';
import { createPatientSync } from './patient-sync';
import type { PatientSync, PatientSyncResult } from './patient-sync';
import type { InvoicePaymentRecord, SyncStore } from './store';

export const WORKER_GROUP = 'sync-workers';
export const DEFAULT_MAX_DELIVERIES = 10;

export interface SyncWorkerOptions {
  bus: EventBus;
  store: SyncStore;
  clients: SyncClients;
  logger: Logger;
  /** This worker's name in the consumer group (unique per process, e.g. host + pid). */
  consumer: string;
  /** Redelivery of an event whose handler failed or whose worker died. @default 30000 */
  claimAfterMs?: number;
  /** Events taken per read. @default 10 */
  batchSize?: number;
  /**
   * Deliveries of one inbox event before it is set aside as a dead letter (dead-letters.ts).
   * @default 10 (with claimAfterMs 30 s: about five minutes of retries)
   */
  maxDeliveries?: number;
  /** The calendar events' zone. @default Europe/London */
  timeZone?: string;
  /** Last-write-wins clock-skew allowance of the patient sync. @default DEFAULT_CLOCK_SKEW_MS (rules/plan.ts) */
  clockSkewMs?: number;
}

export interface SyncWorker {
  /** Handles one inbox payload as the consumer does (exposed for tests and tools). Throws to ask for a retry. */
  handle(payload: InboxPayload): Promise<void>;
  stop(): Promise<void>;
}

/** Thrown to leave an inbox event pending: something failed that may work later. */
export class RetryLaterError extends Error {
  override readonly name = 'RetryLaterError';
  constructor(
    readonly failures: string[],
  ) {
    super(`sync step failed and will be retried (${failures.join(', ')})`);
  }
}

/** The Google Calendar event id for a Semble booking: base32hex, as Google requires (booking ids are hex). */
export function calendarEventId(bookingId: string): string {
  return `semble${bookingId.toLowerCase()}`;
}

const PATIENT_EVENT = /^PATIENT_|^POLL$/;
const BOOKING_EVENT = /^BOOKING_/;

/**
 * The invoice's view of a payment's normalised status (lib/vendors/payment-status.ts, the table the
 * payments subgraph's Payment.status comes from): paid, failed, cancelled, or still open. A
 * chargeback counts as FAILED: the money went back to the payer, so the invoice is unpaid.
 */
function invoicePaymentState(status: PaymentStatus): InvoicePaymentRecord['state'] {
  switch (status) {
    case 'SUCCEEDED':
      return 'PAID';
    case 'FAILED':
    case 'CHARGED_BACK':
      return 'FAILED';
    case 'CANCELLED':
      return 'CANCELLED';
    case 'PENDING':
    case 'REQUIRES_ACTION':
    case 'PROCESSING':
      return 'PENDING';
  }
}

/** What a payment's change touches in the graph: the payment, its invoice's payments, its patient's. */
function paymentEntities(paymentId: string, invoiceId: string | undefined, patientId: string | null) {
  return [
    { type: 'Payment', id: paymentId },
    ...(invoiceId ? [{ type: 'Invoice', id: invoiceId }] : []),
    ...(patientId ? [{ type: 'Patient', id: patientId }] : []),
  ];
}

function sameInstant(a: string | undefined, b: string | undefined): boolean {
  return a !== undefined && b !== undefined && Date.parse(a) === Date.parse(b);
}

/** True when the calendar already shows what we would write (so nothing is written). */
function eventMatches(existing: GoogleEvent, wanted: GoogleEventInput): boolean {
  return (
    existing.status === wanted.status &&
    existing.summary === wanted.summary &&
    sameInstant(existing.start.dateTime, wanted.start.dateTime) &&
    sameInstant(existing.end.dateTime, wanted.end.dateTime)
  );
}

export function createInboxHandler(options: Omit<SyncWorkerOptions, 'consumer'> & { patientSync?: PatientSync }) {
  const { bus, store, clients, logger } = options;
  const timeZone = options.timeZone ?? 'Europe/London';
  const patientSync = options.patientSync ?? createPatientSync({ clients, store, bus, logger, clockSkewMs: options.clockSkewMs });

  function retryIfNeeded(results: PatientSyncResult[]): void {
    const retries = results.filter((outcome) => outcome.outcome === 'RETRY');
    if (retries.length > 0) throw new RetryLaterError(retries.map((outcome) => describeFailure(outcome.error)));
  }

  async function syncPatientsFrom(trigger: 'SEMBLE' | 'CRM', patientIds: string[]): Promise<void> {
    if (patientIds.length === 0) return;
    const results = await patientSync.syncPatients(
      patientIds.map((patientId) => ({ patientId })),
      { direction: 'BOTH', trigger },
    );
    retryIfNeeded(results);
  }

  /** The patients behind HubSpot contact notifications, re-reading each contact by id. */
  async function patientsOfContacts(contactIds: string[]): Promise<string[]> {
    if (contactIds.length === 0) return [];
    const contacts = await clients.hubspot.batchReadContacts(contactIds, ['semble_patient_id']);
    const patientIds = new Set<string>();
    for (const contact of contacts) {
      const patientId = contact.properties.semble_patient_id;
      if (patientId && !contact.archived) patientIds.add(patientId);
    }
    const unlinked = contactIds.length - contacts.filter((contact) => contact.properties.semble_patient_id).length;
    // A contact that is gone or not linked to a patient has nothing to sync with.
    for (let i = 0; i < unlinked; i++) await publishSyncEvent(bus, { type: 'WEBHOOK_RECEIVED', source: 'CRM', outcome: 'SKIPPED' });
    return [...patientIds];
  }

  async function syncBooking(bookingId: string): Promise<void> {
    const [answer] = await clients.semble.bookingsById([bookingId]);
    if (answer instanceof Error) throw answer;
    const booking = answer as SembleBooking | null;
    const eventId = calendarEventId(bookingId);
    if (booking) await publishEntityChanges(bus, 'semble', [{ type: 'Appointment', id: booking.id }, { type: 'Patient', id: booking.patientId }], logger);
    const existing = await clients.google.getEvent(eventId);
    if (!booking) {
      if (existing && existing.status !== 'cancelled') {
        // The booking is gone from Semble: the appointment is off the calendar too.
        const { summary, start, end, extendedProperties } = existing;
        await clients.google.updateEvent(eventId, { id: eventId, status: 'cancelled', summary, start, end, extendedProperties });
        await publishSyncEvent(bus, { type: 'APPOINTMENT_SYNCED', source: 'SEMBLE', target: 'CALENDAR', fields: ['status'], outcome: 'APPLIED' });
        return;
      }
      await publishSyncEvent(bus, { type: 'FAILED', source: 'SEMBLE', target: 'CALENDAR', outcome: 'FAILED' });
      return;
    }
    const practitioner = [booking.doctor?.firstName, booking.doctor?.lastName].filter(Boolean).join(' ');
    // Appointment type and practitioner only: a shared calendar must not show the patient.
    const summary = [booking.appointment?.title ?? 'Appointment', practitioner ? `with ${practitioner}` : ''].filter(Boolean).join(' ');
    const wanted: GoogleEventInput = {
      id: eventId,
      status: booking.deleted || booking.cancellationReason ? 'cancelled' : 'confirmed',
      summary,
      start: { dateTime: booking.start, timeZone },
      end: { dateTime: booking.end, timeZone },
      extendedProperties: { private: { sembleBookingId: booking.id, semblePatientId: booking.patientId } },
    };
    const fields = ['status', 'summary', 'start', 'end'];
    const base = { type: 'APPOINTMENT_SYNCED' as const, patientId: booking.patientId, source: 'SEMBLE' as const, target: 'CALENDAR' as const };
    if (existing && eventMatches(existing, wanted)) {
      await publishSyncEvent(bus, { ...base, outcome: 'SKIPPED' });
      return;
    }
    if (existing) {
      await clients.google.updateEvent(eventId, wanted);
    } else {
      try {
        await clients.google.insertEvent(wanted);
      } catch (error) {
        // 409: created meanwhile (another worker, or a retried insert that landed): update it.
        if (!(error instanceof VendorError && error.status === 409)) throw error;
        await clients.google.updateEvent(eventId, wanted);
      }
    }
    await publishSyncEvent(bus, { ...base, fields, outcome: 'APPLIED', sourceChangedAt: booking.updatedAt });
  }

  /**
   * Records a payment, as just re-read from its provider, on its Semble invoice. Semble's API for
   * recording a payment on an invoice is unverified, so nothing is written to Semble: the state is
   * recorded on the invoice in the sync store. A status outside the provider's table is not
   * guessed at: the invoice keeps what it had and the step is FAILED.
   */
  async function recordPayment(payment: {
    provider: PaymentProvider;
    id: string;
    invoiceId: string | undefined;
    patientId: string | null;
    status: PaymentStatus | null;
    providerStatus: string;
    amount: number;
    currency: string;
  }): Promise<void> {
    const { invoiceId, patientId } = payment;
    const vendor = payment.provider === 'STRIPE' ? 'stripe' : 'gocardless';
    await publishEntityChanges(bus, vendor, paymentEntities(payment.id, invoiceId, patientId), logger);
    if (!invoiceId) {
      await publishSyncEvent(bus, { type: 'PAYMENT_SYNCED', patientId, source: 'PAYMENTS', target: 'SEMBLE', outcome: 'SKIPPED' });
      return;
    }
    if (payment.status === null) {
      // The provider's own word (not PHI); the payments subgraph reports the same on Payment.status.
      logger.warn({ vendor, providerStatus: payment.providerStatus }, 'payment status not in the table: invoice left as it was');
      await publishSyncEvent(bus, { type: 'FAILED', patientId, source: 'PAYMENTS', target: 'SEMBLE', outcome: 'FAILED' });
      return;
    }
    await store.putInvoicePayment({
      invoiceId,
      patientId,
      provider: vendor,
      paymentId: payment.id,
      state: invoicePaymentState(payment.status),
      amount: payment.amount,
      currency: payment.currency,
      updatedAt: new Date().toISOString(),
    });
    await publishSyncEvent(bus, { type: 'PAYMENT_SYNCED', patientId, source: 'PAYMENTS', target: 'SEMBLE', fields: ['paymentStatus'], outcome: 'APPLIED' });
  }

  /**
   * Any payment_intent.* event (created, processing, payment_failed, succeeded, …): the intent is
   * re-read, so its status and last_payment_error, not the event's name, decide.
   */
  async function syncPayment(paymentIntentId: string): Promise<void> {
    const intent = await clients.stripe.retrievePaymentIntent(paymentIntentId);
    await recordPayment({
      provider: 'STRIPE',
      id: intent.id,
      invoiceId: intent.metadata.semble_invoice_id,
      patientId: intent.metadata.semble_patient_id ?? null,
      status: stripePaymentStatus(intent),
      providerStatus: intent.status,
      amount: intent.amount,
      currency: intent.currency,
    });
  }

  /** The GoCardless counterpart of syncPayment: re-read the payment, record its state on the invoice. */
  async function syncGoCardlessPayment(paymentId: string): Promise<void> {
    const payment = await clients.goCardless.getPayment(paymentId);
    await recordPayment({
      provider: 'GOCARDLESS',
      id: payment.id,
      invoiceId: payment.metadata?.semble_invoice_id,
      patientId: payment.metadata?.semble_patient_id ?? null,
      status: goCardlessPaymentStatus(payment.status),
      providerStatus: payment.status,
      amount: payment.amount,
      currency: payment.currency,
    });
  }

  /** Runs one step; a permanent failure becomes a FAILED event, anything else is rethrown. */
  async function giveUpOrRetry(source: 'SEMBLE' | 'CRM' | 'CALENDAR' | 'PAYMENTS', step: () => Promise<void>): Promise<void> {
    try {
      await step();
    } catch (error) {
      if (!isPermanentFailure(error)) throw error;
      logger.warn({ source, failure: describeFailure(error) }, 'sync step given up');
      await publishSyncEvent(bus, { type: 'FAILED', source, outcome: 'FAILED' });
    }
  }

  /** One step of an inbox event in its own span (its vendor calls are the children). */
  const step = <T>(name: string, body: () => Promise<T>) => inSpan(name, {}, body);

  async function handle(payload: InboxPayload): Promise<void> {
    const items: InboxItem[] = Array.isArray(payload?.items) ? payload.items : [];
    // One webhook request often names the same record several times (HubSpot sends one event
    // per changed property): each patient is synced once per payload.
    const semblePatients = new Set<string>();
    const contacts = new Set<string>();
    // GoCardless sends one event per status change, several in one delivery: re-read each payment once.
    const goCardlessPayments = new Set<string>();
    const steps: Array<() => Promise<void>> = [];
    for (const item of items) {
      switch (item.vendor) {
        case 'semble':
          if (PATIENT_EVENT.test(item.eventType)) semblePatients.add(item.id);
          else if (BOOKING_EVENT.test(item.eventType)) steps.push(() => step('sync.booking', () => giveUpOrRetry('SEMBLE', () => syncBooking(item.id))));
          else steps.push(() => publishSyncEvent(bus, { type: 'WEBHOOK_RECEIVED', source: 'SEMBLE', outcome: 'SKIPPED' }).then(() => undefined));
          break;
        case 'hubspot':
          if (item.subscriptionType.startsWith('contact.')) contacts.add(item.objectId);
          else steps.push(() => publishSyncEvent(bus, { type: 'WEBHOOK_RECEIVED', source: 'CRM', outcome: 'SKIPPED' }).then(() => undefined));
          break;
        case 'stripe':
          if (item.type.startsWith('payment_intent.')) steps.push(() => step('sync.payment', () => giveUpOrRetry('PAYMENTS', () => syncPayment(item.objectId))));
          else steps.push(() => publishSyncEvent(bus, { type: 'WEBHOOK_RECEIVED', source: 'PAYMENTS', outcome: 'SKIPPED' }).then(() => undefined));
          break;
        case 'gocardless': {
          const paymentId = item.resourceType === 'payments' ? item.links?.payment : undefined;
          if (paymentId) {
            if (!goCardlessPayments.has(paymentId)) {
              goCardlessPayments.add(paymentId);
              steps.push(() => step('sync.payment', () => giveUpOrRetry('PAYMENTS', () => syncGoCardlessPayment(paymentId))));
            }
          } else {
            steps.push(() => publishSyncEvent(bus, { type: 'WEBHOOK_RECEIVED', source: 'PAYMENTS', outcome: 'SKIPPED' }).then(() => undefined));
          }
          break;
        }
        case 'google-calendar':
          // The calendar is a target, not a source (for now): its changes are noted, not synced back.
          steps.push(() => publishSyncEvent(bus, { type: 'WEBHOOK_RECEIVED', source: 'CALENDAR', outcome: 'SKIPPED' }).then(() => undefined));
          break;
        default:
          logger.warn({ vendor: (item as { vendor?: unknown }).vendor }, 'unknown inbox item ignored');
      }
    }
    await syncPatientsFrom('SEMBLE', [...semblePatients]);
    if (contacts.size > 0) {
      const fromCrm = (await step('sync.contacts', () => patientsOfContacts([...contacts]))).filter((id) => !semblePatients.has(id));
      await syncPatientsFrom('CRM', fromCrm);
    }
    for (const step of steps) await step();
  }

  return { handle };
}

/** What an inbox event's span says about it: how many items, from which vendors (no ids, no values). */
function inboxAttributes(payload: InboxPayload | undefined) {
  const items: unknown[] = Array.isArray(payload?.items) ? payload.items : [];
  const vendors = new Set(items.map((item) => String((item as { vendor?: unknown } | null)?.vendor)));
  return { 'patient_graph.sync.items': items.length, 'patient_graph.sync.vendors': [...vendors].sort() };
}

export async function startSyncWorker(options: SyncWorkerOptions): Promise<SyncWorker> {
  const handler = createInboxHandler(options);
  const unsubscribe: Unsubscribe = await options.bus.consume(
    INBOX_TOPIC,
    {
      group: WORKER_GROUP,
      consumer: options.consumer,
      startAt: '0',
      ...(options.claimAfterMs !== undefined ? { claimAfterMs: options.claimAfterMs } : {}),
      ...(options.batchSize !== undefined ? { batchSize: options.batchSize } : {}),
      deadLetter: inboxDeadLetterOptions(options.bus, options.logger, options.maxDeliveries ?? DEFAULT_MAX_DELIVERIES),
    },
    // Each delivery is the root of a trace of its own: the webhook that put it on the bus answered long ago.
    (event: BusEvent) =>
      inSpan(
        'sync.inbox_event',
        {
          kind: SpanKind.CONSUMER,
          root: true,
          attributes: {
            'messaging.destination.name': INBOX_TOPIC,
            'messaging.consumer.group.name': WORKER_GROUP,
            'messaging.message.id': event.cursor,
            ...inboxAttributes(event.payload as InboxPayload | undefined),
          },
        },
        async () => {
          try {
            await handler.handle(event.payload as InboxPayload);
          } catch (error) {
            options.logger.warn({ cursor: event.cursor, failure: describeFailure(error) }, 'inbox event left pending for a retry');
            throw error;
          }
        },
      ),
  );
  return {
    handle: handler.handle,
    stop: unsubscribe,
  };
}
