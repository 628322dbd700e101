/**
 * Stripe and GoCardless wire records turned into the subgraph's Payment, PlanSubscription and
 * Mandate shapes. Pure, so the mapping is tested without a server; the resolvers only add
 * error reporting.
 */
import type { GoCardlessMandate, GoCardlessPayment } from '../../../lib/vendors/gocardless';
import type { StripePaymentIntent, StripeSubscription } from '../../../lib/vendors/stripe';
import { goCardlessPaymentStatus, stripePaymentStatus } from '../../../lib/vendors/payment-status';
import type { PaymentProvider, PaymentStatus } from '../../../lib/vendors/payment-status';

export interface EntityReference<T extends string> {
  __typename: T;
  id: string;
}

export interface PaymentModel {
  id: string;
  provider: PaymentProvider;
  amountMinor: number;
  currency: string;
  /** null when the provider's status is outside the table; the resolver reports it. */
  status: PaymentStatus | null;
  providerStatus: string;
  createdAt: string;
  invoice: EntityReference<'Invoice'> | null;
  patient: EntityReference<'Patient'> | null;
  /** Unix seconds, kept for newest-first ordering. */
  created: number;
}

export interface MandateModel {
  id: string;
  status: string;
  scheme: string;
  reference: string;
  nextPossibleChargeDate: string | null;
  createdAt: string;
}

export interface PlanSubscriptionModel {
  id: string;
  provider: PaymentProvider;
  status: string;
  plan: string;
  amountMinor: number;
  interval: string;
  currentPeriodEnd: string | null;
}

function isoFromUnix(seconds: number): string {
  return new Date(seconds * 1000).toISOString();
}

export function toPayment(intent: StripePaymentIntent): PaymentModel {
  const invoiceId = intent.metadata.semble_invoice_id;
  const patientId = intent.metadata.semble_patient_id;
  return {
    id: intent.id,
    provider: 'STRIPE',
    amountMinor: intent.amount,
    currency: intent.currency.toUpperCase(),
    status: stripePaymentStatus(intent),
    providerStatus: intent.status,
    createdAt: isoFromUnix(intent.created),
    invoice: invoiceId ? { __typename: 'Invoice', id: invoiceId } : null,
    patient: patientId ? { __typename: 'Patient', id: patientId } : null,
    created: intent.created,
  };
}

export function goCardlessToPayment(payment: GoCardlessPayment): PaymentModel {
  const invoiceId = payment.metadata?.semble_invoice_id;
  const patientId = payment.metadata?.semble_patient_id;
  const createdMs = Date.parse(payment.created_at);
  return {
    id: payment.id,
    provider: 'GOCARDLESS',
    amountMinor: payment.amount,
    currency: payment.currency.toUpperCase(),
    status: goCardlessPaymentStatus(payment.status),
    providerStatus: payment.status,
    createdAt: new Date(createdMs).toISOString(),
    invoice: invoiceId ? { __typename: 'Invoice', id: invoiceId } : null,
    patient: patientId ? { __typename: 'Patient', id: patientId } : null,
    // Not floored: GoCardless timestamps carry milliseconds, and the order should keep them.
    created: createdMs / 1000,
  };
}

export function toMandate(mandate: GoCardlessMandate): MandateModel {
  return {
    id: mandate.id,
    status: mandate.status,
    scheme: mandate.scheme,
    reference: mandate.reference,
    nextPossibleChargeDate: mandate.next_possible_charge_date,
    createdAt: new Date(Date.parse(mandate.created_at)).toISOString(),
  };
}

export function toPlanSubscription(subscription: StripeSubscription): PlanSubscriptionModel {
  // A health plan is one price; the first item is that price.
  const item = subscription.items.data[0];
  const price = item?.price;
  const periodEnd = subscription.current_period_end ?? item?.current_period_end ?? null;
  return {
    id: subscription.id,
    provider: 'STRIPE',
    status: subscription.status,
    plan: subscription.metadata.plan || price?.nickname || price?.id || '',
    amountMinor: price?.unit_amount ?? 0,
    interval: price?.recurring?.interval ?? '',
    currentPeriodEnd: periodEnd === null ? null : isoFromUnix(periodEnd),
  };
}

/** Newest first; ties by id (descending) so the order is stable. */
export function newestFirst(a: { created: number; id: string }, b: { created: number; id: string }): number {
  return b.created - a.created || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0);
}
