/**
 * The provider tables, against values written out here from Stripe's and GoCardless's own
 * documentation (shared/domain.md), not from the tables themselves.
 */
import { goCardlessPaymentStatus, stripePaymentStatus } from './payment-status';

const DECLINED = { type: 'card_error', code: 'card_declined', decline_code: 'generic_decline', message: 'Your card was declined.' };

describe('stripePaymentStatus', () => {
  it.each([
    // status, last_payment_error, expected
    ['requires_payment_method', null, 'PENDING'], // just created (payment_intent.created): awaiting a method
    ['requires_payment_method', DECLINED, 'FAILED'], // an attempt was declined (payment_intent.payment_failed)
    ['requires_confirmation', null, 'PENDING'],
    ['requires_action', null, 'REQUIRES_ACTION'],
    ['processing', null, 'PROCESSING'],
    ['requires_capture', null, 'PROCESSING'],
    ['succeeded', null, 'SUCCEEDED'],
    ['canceled', null, 'CANCELLED'],
  ] as const)('maps Stripe %s with last_payment_error %j to %s', (status, lastPaymentError, expected) => {
    expect(stripePaymentStatus({ status, last_payment_error: lastPaymentError })).toBe(expected);
  });

  it('reads a missing last_payment_error as none: a new intent is PENDING', () => {
    expect(stripePaymentStatus({ status: 'requires_payment_method' })).toBe('PENDING');
  });

  it('heeds last_payment_error only in requires_payment_method (elsewhere the status says what happened)', () => {
    expect(stripePaymentStatus({ status: 'succeeded', last_payment_error: DECLINED })).toBe('SUCCEEDED');
    expect(stripePaymentStatus({ status: 'canceled', last_payment_error: DECLINED })).toBe('CANCELLED');
    expect(stripePaymentStatus({ status: 'processing', last_payment_error: DECLINED })).toBe('PROCESSING');
    expect(stripePaymentStatus({ status: 'requires_action', last_payment_error: DECLINED })).toBe('REQUIRES_ACTION');
  });
});

describe('goCardlessPaymentStatus', () => {
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
    expect(goCardlessPaymentStatus(status)).toBe(expected);
  });
});

describe('unknown statuses', () => {
  it('does not map one provider’s spelling with the other’s table', () => {
    // Stripe spells it "canceled", GoCardless "cancelled".
    expect(stripePaymentStatus({ status: 'cancelled', last_payment_error: null })).toBeNull();
    expect(goCardlessPaymentStatus('canceled')).toBeNull();
    expect(stripePaymentStatus({ status: 'paid_out', last_payment_error: null })).toBeNull();
    expect(goCardlessPaymentStatus('requires_payment_method')).toBeNull();
  });

  it('returns null for unknown statuses, including inherited object keys', () => {
    expect(stripePaymentStatus({ status: 'exploded', last_payment_error: null })).toBeNull();
    expect(stripePaymentStatus({ status: 'toString', last_payment_error: DECLINED })).toBeNull();
    expect(goCardlessPaymentStatus('')).toBeNull();
    expect(goCardlessPaymentStatus('hasOwnProperty')).toBeNull();
  });
});
