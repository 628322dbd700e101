/**
 * The subgraph's answers equal the seed world, through the real emulators and the real subgraph:
 * Patient and Invoice links via `_entities` (payments from Stripe and GoCardless merged, newest
 * first), and Payment/PlanSubscription resolved by id.
 */
import type { SeedGoCardlessPayment, SeedPaymentIntent, SeedSubscription, SeedWorld } from '../../../lib/seed';
import { goCardlessPaymentStatus, stripePaymentStatus } from '../../../lib/vendors/payment-status';
import { PAYMENT_FIELDS, startPaymentsStack, SUBSCRIPTION_FIELDS } from './payments-stack';
import type { PaymentsStack } from './payments-stack';

let stack: PaymentsStack;

beforeAll(async () => {
  stack = await startPaymentsStack({ patients: 60 });
});
afterAll(async () => {
  await stack?.stop();
});

const newestFirst = (a: { created: number; id: string }, b: { created: number; id: string }) =>
  b.created - a.created || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0);

function expectedPayment(intent: SeedPaymentIntent) {
  return {
    id: intent.id,
    provider: 'STRIPE',
    amountMinor: intent.amount,
    currency: 'GBP',
    status: stripePaymentStatus({ status: intent.status, last_payment_error: null }),
    providerStatus: intent.status,
    createdAt: new Date(intent.created * 1000).toISOString(),
    invoice: intent.invoiceId ? { id: intent.invoiceId } : null,
    patient: { id: intent.patientId },
  };
}

function expectedGoCardlessPayment(payment: SeedGoCardlessPayment) {
  return {
    id: payment.id,
    provider: 'GOCARDLESS',
    amountMinor: payment.amount,
    currency: 'GBP',
    status: goCardlessPaymentStatus(payment.status),
    providerStatus: payment.status,
    createdAt: payment.createdAt,
    invoice: payment.invoiceId ? { id: payment.invoiceId } : null,
    patient: { id: payment.patientId },
  };
}

/** Both providers' payments matching `keep`, newest first, as the subgraph answers them. */
function expectedPayments(world: SeedWorld, keep: (payment: { patientId: string; invoiceId: string | null }) => boolean) {
  return [
    ...world.paymentIntents.filter(keep).map((intent) => ({ created: intent.created, id: intent.id, payment: expectedPayment(intent) })),
    ...world.goCardlessPayments.filter(keep).map((payment) => ({ created: Date.parse(payment.createdAt) / 1000, id: payment.id, payment: expectedGoCardlessPayment(payment) })),
  ]
    .sort(newestFirst)
    .map((entry) => entry.payment);
}

function expectedSubscription(subscription: SeedSubscription) {
  return {
    id: subscription.id,
    provider: 'STRIPE',
    status: subscription.status,
    plan: subscription.plan,
    amountMinor: subscription.amount,
    interval: subscription.interval,
    currentPeriodEnd: new Date(subscription.currentPeriodEnd * 1000).toISOString(),
  };
}

const ENTITIES = `query ($representations: [_Any!]!) {
  _entities(representations: $representations) {
    ... on Patient { id payments { ${PAYMENT_FIELDS} } subscriptions { ${SUBSCRIPTION_FIELDS} } }
    ... on Invoice { id payments { ${PAYMENT_FIELDS} } }
    ... on Payment { ${PAYMENT_FIELDS} }
  }
}`;

// A separate document: Payment.status and PlanSubscription.status have different types, so the
// two fragments cannot share one selection set without aliases.
const PLAN_ENTITIES = `query ($representations: [_Any!]!) {
  _entities(representations: $representations) { ... on PlanSubscription { ${SUBSCRIPTION_FIELDS} } }
}`;

describe('payments subgraph values equal the seed world', () => {
  it('gives every patient their payments (newest first) and subscriptions', async () => {
    const { world } = stack;
    const result = await stack.query<{ _entities: unknown[] }>(ENTITIES, {
      representations: world.patients.map((p) => ({ __typename: 'Patient', id: p.id })),
    });
    expect(result.errors).toBeUndefined();
    const expected = world.patients.map((patient) => ({
      id: patient.id,
      payments: expectedPayments(world, (p) => p.patientId === patient.id),
      subscriptions: world.subscriptions.filter((s) => s.patientId === patient.id).sort(newestFirst).map(expectedSubscription),
    }));
    expect(result.data?._entities).toEqual(expected);
    // The seed must actually exercise the mapping, or this test proves little.
    expect(expected.filter((p) => p.payments.length > 1).length).toBeGreaterThan(3);
    expect(expected.some((p) => p.subscriptions.length > 0)).toBe(true);
    expect(new Set(expected.flatMap((p) => p.payments.map((x) => x.status))).size).toBeGreaterThan(2);
    expect(expected.some((p) => new Set(p.payments.map((x) => x.provider)).size === 2)).toBe(true);
  });

  it('gives every invoice the payments taken against it', async () => {
    const { world } = stack;
    const result = await stack.query<{ _entities: unknown[] }>(ENTITIES, {
      representations: world.invoices.map((i) => ({ __typename: 'Invoice', id: i.id })),
    });
    expect(result.errors).toBeUndefined();
    expect(result.data?._entities).toEqual(
      world.invoices.map((invoice) => ({
        id: invoice.id,
        payments: expectedPayments(world, (p) => p.invoiceId === invoice.id),
      })),
    );
  });

  it('answers an unknown patient or invoice with empty lists', async () => {
    const result = await stack.query<{ _entities: unknown[] }>(ENTITIES, {
      representations: [
        { __typename: 'Patient', id: 'no-such-patient' },
        { __typename: 'Invoice', id: "it's-not-there" },
      ],
    });
    expect(result.errors).toBeUndefined();
    expect(result.data?._entities).toEqual([
      { id: 'no-such-patient', payments: [], subscriptions: [] },
      { id: "it's-not-there", payments: [] },
    ]);
  });

  it('resolves Payment and PlanSubscription references by id', async () => {
    const { world } = stack;
    const intents = world.paymentIntents.slice(0, 5);
    const subscriptions = world.subscriptions.slice(0, 3);
    const payments = await stack.query<{ _entities: unknown[] }>(ENTITIES, {
      representations: intents.map((i) => ({ __typename: 'Payment', id: i.id })),
    });
    expect(payments.errors).toBeUndefined();
    expect(payments.data?._entities).toEqual(intents.map(expectedPayment));
    const plans = await stack.query<{ _entities: unknown[] }>(PLAN_ENTITIES, {
      representations: subscriptions.map((s) => ({ __typename: 'PlanSubscription', id: s.id })),
    });
    expect(plans.errors).toBeUndefined();
    expect(plans.data?._entities).toEqual(subscriptions.map(expectedSubscription));
  });

  it('reports an unknown Payment or PlanSubscription id as NOT_FOUND in its own slot', async () => {
    const known = stack.world.paymentIntents[0] as SeedPaymentIntent;
    const payments = await stack.query<{ _entities: Array<unknown> }>(ENTITIES, {
      representations: [
        { __typename: 'Payment', id: 'pi_missing' },
        { __typename: 'Payment', id: known.id },
      ],
    });
    expect(payments.data?._entities).toEqual([null, expectedPayment(known)]);
    expect(payments.errors?.map((e) => [e.path, e.extensions?.code, e.extensions?.argumentName])).toEqual([[['_entities', 0], 'NOT_FOUND', 'id']]);
    const plans = await stack.query<{ _entities: Array<unknown> }>(PLAN_ENTITIES, {
      representations: [{ __typename: 'PlanSubscription', id: 'sub_missing' }],
    });
    expect(plans.data?._entities).toEqual([null]);
    expect(plans.errors?.map((e) => [e.path, e.extensions?.code, e.extensions?.argumentName])).toEqual([[['_entities', 0], 'NOT_FOUND', 'id']]);
  });
});
