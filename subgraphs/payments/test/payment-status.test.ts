import { normalisePaymentStatus } from '../src/payment-status';

describe('normalisePaymentStatus', () => {
  it.each([
    ['requires_payment_method', 'PENDING'],
    ['requires_confirmation', 'PENDING'],
    ['requires_action', 'REQUIRES_ACTION'],
    ['processing', 'PROCESSING'],
    ['requires_capture', 'PROCESSING'],
    ['succeeded', 'SUCCEEDED'],
    ['canceled', 'CANCELLED'],
  ])('maps Stripe %s to %s', (status, expected) => {
    expect(normalisePaymentStatus('STRIPE', status)).toBe(expected);
  });

  it.each([
    ['pending_customer_approval', 'PENDING'],
    ['pending_submission', 'PENDING'],
    ['submitted', 'PROCESSING'],
    ['confirmed', 'SUCCEEDED'],
    ['paid_out', 'SUCCEEDED'],
    ['failed', 'FAILED'],
    ['customer_approval_denied', 'FAILED'],
    ['cancelled', 'CANCELLED'],
    ['charged_back', 'CHARGED_BACK'],
  ])('maps GoCardless %s to %s', (status, expected) => {
    expect(normalisePaymentStatus('GOCARDLESS', status)).toBe(expected);
  });

  it('does not map one provider’s spelling with the other’s table', () => {
    // Stripe spells it "canceled", GoCardless "cancelled".
    expect(normalisePaymentStatus('STRIPE', 'cancelled')).toBeNull();
    expect(normalisePaymentStatus('GOCARDLESS', 'canceled')).toBeNull();
    expect(normalisePaymentStatus('STRIPE', 'paid_out')).toBeNull();
  });

  it('returns null for unknown statuses, including inherited object keys', () => {
    expect(normalisePaymentStatus('STRIPE', 'exploded')).toBeNull();
    expect(normalisePaymentStatus('STRIPE', 'toString')).toBeNull();
    expect(normalisePaymentStatus('GOCARDLESS', '')).toBeNull();
  });
});
