/**
 * One payment-status vocabulary over Stripe and GoCardless (shared/domain.md), with one table per
 * provider. Both readers of a payment's status use these tables: the payments subgraph
 * (`Payment.status`) and the sync worker (the state it records on the payment's invoice), so
 * the two cannot tell different stories about the same payment.
 *
 * Stripe has no `failed` status. A new PaymentIntent waits in requires_payment_method (what
 * `payment_intent.created` carries), and a declined attempt moves it back to
 * requires_payment_method with `last_payment_error` set (`payment_intent.payment_failed`). The
 * status alone cannot tell the two apart, so Stripe's table is a function of the status and of
 * whether `last_payment_error` is set. Stripe clears the error when the intent next changes, so
 * it is read only where the table says so.
 *
 * Each provider's strings map only within that provider, so a GoCardless-only status arriving
 * from Stripe is reported as unknown (null) rather than silently mapped.
 */
import type { StripePaymentError } from './stripe';

export type PaymentProvider = 'STRIPE' | 'GOCARDLESS';

export type PaymentStatus = 'PENDING' | 'REQUIRES_ACTION' | 'PROCESSING' | 'SUCCEEDED' | 'FAILED' | 'CANCELLED' | 'CHARGED_BACK';

/** A status that means one thing, or one that depends on whether the last attempt failed. */
type StripeRow = PaymentStatus | { readonly withoutError: PaymentStatus; readonly withError: PaymentStatus };

const STRIPE: Readonly<Record<string, StripeRow>> = {
  // Awaiting a payment method (just created); FAILED once an attempt was declined.
  requires_payment_method: { withoutError: 'PENDING', withError: 'FAILED' },
  requires_confirmation: 'PENDING',
  requires_action: 'REQUIRES_ACTION',
  processing: 'PROCESSING',
  requires_capture: 'PROCESSING',
  succeeded: 'SUCCEEDED',
  canceled: 'CANCELLED',
};

const GOCARDLESS: Readonly<Record<string, PaymentStatus>> = {
  pending_customer_approval: 'PENDING',
  pending_submission: 'PENDING',
  submitted: 'PROCESSING',
  confirmed: 'SUCCEEDED',
  paid_out: 'SUCCEEDED',
  failed: 'FAILED',
  customer_approval_denied: 'FAILED',
  cancelled: 'CANCELLED',
  charged_back: 'CHARGED_BACK',
};

/** What of a PaymentIntent decides its status (a payment_intent record or an event's data.object). */
export interface StripeIntentState {
  status: string;
  /** Stripe always sends the field (null when no attempt failed); absent is read as null. */
  last_payment_error?: StripePaymentError | null;
}

/** The normalised status of a Stripe PaymentIntent, or null when Stripe sent a status outside the table. */
export function stripePaymentStatus(intent: StripeIntentState): PaymentStatus | null {
  if (!Object.hasOwn(STRIPE, intent.status)) return null;
  const row = STRIPE[intent.status] as StripeRow;
  if (typeof row === 'string') return row;
  return intent.last_payment_error ? row.withError : row.withoutError;
}

/** The normalised status of a GoCardless payment's status, or null when it is outside the table. */
export function goCardlessPaymentStatus(status: string): PaymentStatus | null {
  return Object.hasOwn(GOCARDLESS, status) ? (GOCARDLESS[status] as PaymentStatus) : null;
}
