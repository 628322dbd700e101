/**
 * Batching bounds, measured at the emulator's request counters: links from many patients are
 * answered with OR-grouped searches (⌈patients / 10⌉ per field), never one request per patient.
 */
import { PAYMENT_FIELDS, startPaymentsStack, SUBSCRIPTION_FIELDS } from './payments-stack';
import type { PaymentsStack } from './payments-stack';

const PATIENT_LINKS = `query ($representations: [_Any!]!) {
  _entities(representations: $representations) {
    ... on Patient { id payments { ${PAYMENT_FIELDS} } subscriptions { ${SUBSCRIPTION_FIELDS} } }
    ... on Invoice { id payments { id } }
    ... on Payment { id amountMinor }
  }
}`;

describe('Stripe batching with 60 patients', () => {
  let stack: PaymentsStack;
  beforeAll(async () => {
    stack = await startPaymentsStack({ patients: 60 });
  });
  afterAll(async () => {
    await stack?.stop();
  });
  beforeEach(async () => {
    await stack.resetVendorRequests();
  });

  it('costs at most 14 Stripe requests for payments + subscriptions of 60 patients', async () => {
    const result = await stack.query(PATIENT_LINKS, {
      representations: stack.world.patients.map((p) => ({ __typename: 'Patient', id: p.id })),
    });
    expect(result.errors).toBeUndefined();
    const counts = await stack.vendorRequests();
    expect(counts.total).toBeLessThanOrEqual(14);
    expect(counts.byRoute).toEqual({ 'GET /v1/payment_intents/search': 6, 'GET /v1/subscriptions/search': 6 });
  });

  it('groups invoices the same way', async () => {
    const invoices = stack.world.invoices;
    await stack.query(PATIENT_LINKS, { representations: invoices.map((i) => ({ __typename: 'Invoice', id: i.id })) });
    const counts = await stack.vendorRequests();
    expect(counts.byRoute).toEqual({ 'GET /v1/payment_intents/search': Math.ceil(invoices.length / 10) });
  });

  it('fetches each referenced Payment once, however often it is referenced', async () => {
    const ids = stack.world.paymentIntents.slice(0, 4).map((i) => i.id);
    const representations = [...ids, ...ids].map((id) => ({ __typename: 'Payment', id }));
    const result = await stack.query(PATIENT_LINKS, { representations });
    expect(result.errors).toBeUndefined();
    expect((await stack.vendorRequests()).byRoute).toEqual({ 'GET /v1/payment_intents/:id': 4 });
  });
});

describe('Stripe batching with 500 patients', () => {
  let stack: PaymentsStack;
  beforeAll(async () => {
    stack = await startPaymentsStack({ patients: 500 });
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it('costs ⌈500 / 10⌉ searches per field: 100 requests for payments + subscriptions', async () => {
    await stack.resetVendorRequests();
    const result = await stack.query<{ _entities: Array<{ payments: unknown[] }> }>(PATIENT_LINKS, {
      representations: stack.world.patients.map((p) => ({ __typename: 'Patient', id: p.id })),
    });
    expect(result.errors).toBeUndefined();
    expect(result.data?._entities.flatMap((p) => p.payments)).toHaveLength(stack.world.paymentIntents.length + stack.world.goCardlessPayments.length);
    const counts = await stack.vendorRequests();
    expect(counts.byRoute).toEqual({ 'GET /v1/payment_intents/search': 50, 'GET /v1/subscriptions/search': 50 });
  });
});
