import type { StripePaymentIntent, StripeSubscription } from '../../../lib/vendors/stripe';
import { toPayment, toPlanSubscription } from '../src/models';

const intent: StripePaymentIntent = {
  id: 'pi_1',
  object: 'payment_intent',
  amount: 12345,
  currency: 'gbp',
  status: 'requires_capture',
  last_payment_error: null,
  customer: 'cus_1',
  created: 1_750_000_000,
  metadata: { semble_patient_id: 'p1' },
  livemode: false,
};

describe('Stripe records to subgraph shapes', () => {
  it('maps a payment intent without an invoice', () => {
    expect(toPayment(intent)).toEqual({
      id: 'pi_1',
      provider: 'STRIPE',
      amountMinor: 12345,
      currency: 'GBP',
      status: 'PROCESSING',
      providerStatus: 'requires_capture',
      createdAt: '2025-06-15T15:06:40.000Z',
      invoice: null,
      patient: { __typename: 'Patient', id: 'p1' },
      created: 1_750_000_000,
    });
  });

  it('takes the plan from the price nickname when metadata has none, and the period from the item', () => {
    const subscription: StripeSubscription = {
      id: 'sub_1',
      object: 'subscription',
      status: 'active',
      customer: 'cus_1',
      created: 1,
      items: {
        object: 'list',
        url: '/v1/subscription_items?subscription=sub_1',
        has_more: false,
        data: [{ id: 'si_1', object: 'subscription_item', current_period_end: 1_750_000_000, price: { id: 'price_1', object: 'price', unit_amount: 4000, currency: 'gbp', recurring: { interval: 'month' }, nickname: 'Essential Health Plan' } }],
      },
      metadata: {},
      livemode: false,
    };
    expect(toPlanSubscription(subscription)).toEqual({
      id: 'sub_1',
      provider: 'STRIPE',
      status: 'active',
      plan: 'Essential Health Plan',
      amountMinor: 4000,
      interval: 'month',
      currentPeriodEnd: '2025-06-15T15:06:40.000Z',
    });
  });
});
