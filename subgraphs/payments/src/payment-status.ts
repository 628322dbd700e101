/**
 * One payment-status vocabulary over Stripe and GoCardless (domain.md's table). Each provider's
 * strings map only within that provider, so a GoCardless-only status arriving from Stripe is
 * reported as unknown rather than silently mapped.
 */

export type PaymentProvider = 'STRIPE' | 'GOCARDLESS';

export type PaymentStatus = 'PENDING' | 'REQUIRES_ACTION' | 'PROCESSING' | 'SUCCEEDED' | 'FAILED' | 'CANCELLED' | 'CHARGED_BACK';

const STRIPE: Readonly<Record<string, PaymentStatus>> = {
  requires_payment_method: 'PENDING',
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

/** The normalised status, or null when the provider sent a status outside the table. */
export function normalisePaymentStatus(provider: PaymentProvider, status: string): PaymentStatus | null {
  const table = provider === 'STRIPE' ? STRIPE : GOCARDLESS;
  return Object.hasOwn(table, status) ? (table[status] as PaymentStatus) : null;
}
