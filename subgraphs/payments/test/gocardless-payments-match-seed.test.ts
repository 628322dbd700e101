/**
 * GoCardless through the payments subgraph equals the seed world: a patient's GoCardless
 * payments (provider GOCARDLESS, normalised status, raw providerStatus) sit in Patient.payments
 * and Invoice.payments next to Stripe's, Patient.mandates lists their mandates, Payment and
 * Mandate references resolve by id — and a request costs GoCardless a bounded number of list
 * requests however many patients it asks about (the API has no metadata search). That cost is
 * what a request pays that reaches GoCardless, so the vendor cache is off here
 * (vendor-cache.test.ts is about what it saves).
 */
import type { SeedGoCardlessMandate, SeedGoCardlessPayment } from '../../../lib/seed';
import { goCardlessPaymentStatus } from '../../../lib/vendors/payment-status';
import { PAYMENT_FIELDS, startPaymentsStack } from './payments-stack';
import type { PaymentsStack } from './payments-stack';

let stack: PaymentsStack;

beforeAll(async () => {
  stack = await startPaymentsStack({ patients: 60, env: { VENDOR_CACHE_ENABLED: 'false' } });
});
afterAll(async () => {
  await stack?.stop();
});

const MANDATE_FIELDS = 'id status scheme reference nextPossibleChargeDate createdAt';
const ENTITIES = `query ($representations: [_Any!]!) {
  _entities(representations: $representations) {
    ... on Patient { id payments { ${PAYMENT_FIELDS} } mandates { ${MANDATE_FIELDS} } }
    ... on Invoice { id payments { ${PAYMENT_FIELDS} } }
    ... on Payment { ${PAYMENT_FIELDS} }
  }
}`;
// A separate document: Payment.status and Mandate.status have different types, so the two
// fragments cannot share one selection set without aliases.
const MANDATE_ENTITIES = `query ($representations: [_Any!]!) {
  _entities(representations: $representations) { ... on Mandate { ${MANDATE_FIELDS} } }
}`;

function expectedPayment(payment: SeedGoCardlessPayment) {
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

function expectedMandate(mandate: SeedGoCardlessMandate) {
  return {
    id: mandate.id,
    status: mandate.status,
    scheme: 'bacs',
    reference: mandate.reference,
    nextPossibleChargeDate: mandate.nextPossibleChargeDate,
    createdAt: mandate.createdAt,
  };
}

const byNewest = (a: { createdAt: string; id: string }, b: { createdAt: string; id: string }) =>
  Date.parse(b.createdAt) - Date.parse(a.createdAt) || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0);

describe('GoCardless in the payments subgraph', () => {
  it('gives patients their GoCardless payments (merged, newest first) and mandates, equal to the seed', async () => {
    const { world } = stack;
    // A few patients: with several GoCardless payments, with one, and without GoCardless.
    const withMany = world.goCardlessCustomers.filter((c) => world.goCardlessPayments.filter((p) => p.patientId === c.patientId).length > 1).slice(0, 2);
    const withOne = world.goCardlessCustomers.filter((c) => world.goCardlessPayments.filter((p) => p.patientId === c.patientId).length === 1).slice(0, 1);
    const without = world.patients.filter((p) => !world.goCardlessCustomers.some((c) => c.patientId === p.id)).slice(0, 2);
    const patientIds = [...withMany.map((c) => c.patientId), ...withOne.map((c) => c.patientId), ...without.map((p) => p.id)];
    expect(withMany.length + withOne.length).toBe(3);

    await stack.resetVendorRequests();
    const result = await stack.query<{ _entities: Array<{ id: string; payments: Array<{ provider: string; createdAt: string; id: string }>; mandates: unknown[] }> }>(ENTITIES, {
      representations: patientIds.map((id) => ({ __typename: 'Patient', id })),
    });
    expect(result.errors).toBeUndefined();
    for (const patient of result.data!._entities) {
      const goCardless = world.goCardlessPayments.filter((p) => p.patientId === patient.id);
      expect(patient.payments.filter((p) => p.provider === 'GOCARDLESS')).toEqual([...goCardless].sort(byNewest).map(expectedPayment));
      expect(patient.payments.filter((p) => p.provider === 'STRIPE').map((p) => p.id).sort()).toEqual(
        world.paymentIntents.filter((i) => i.patientId === patient.id).map((i) => i.id).sort(),
      );
      // One list, newest first across both providers.
      expect([...patient.payments].sort(byNewest)).toEqual(patient.payments);
      expect(patient.mandates).toEqual(world.goCardlessMandates.filter((m) => m.patientId === patient.id).sort(byNewest).map(expectedMandate));
    }
    // One listing of each kind for the whole request (the seed fits in a page of 500).
    expect((await stack.goCardlessRequests()).byRoute).toEqual({ 'GET /payments': 1, 'GET /customers': 1, 'GET /mandates': 1 });
  });

  it('costs GoCardless three list requests for all 60 patients and their invoices together', async () => {
    const { world } = stack;
    await stack.resetVendorRequests();
    const result = await stack.query<{ _entities: Array<{ payments: Array<{ provider: string }> }> }>(ENTITIES, {
      representations: [...world.patients.map((p) => ({ __typename: 'Patient', id: p.id })), ...world.invoices.map((i) => ({ __typename: 'Invoice', id: i.id }))],
    });
    expect(result.errors).toBeUndefined();
    const goCardless = result.data!._entities.slice(0, world.patients.length).flatMap((p) => p.payments.filter((x) => x.provider === 'GOCARDLESS'));
    expect(goCardless).toHaveLength(world.goCardlessPayments.length);
    expect((await stack.goCardlessRequests()).byRoute).toEqual({ 'GET /payments': 1, 'GET /customers': 1, 'GET /mandates': 1 });
  });

  it('gives an invoice the GoCardless payments taken against it', async () => {
    const { world } = stack;
    const invoiceIds = [...new Set(world.goCardlessPayments.flatMap((p) => (p.invoiceId ? [p.invoiceId] : [])))].slice(0, 4);
    expect(invoiceIds.length).toBeGreaterThan(1);
    const result = await stack.query<{ _entities: Array<{ id: string; payments: Array<{ provider: string }> }> }>(ENTITIES, {
      representations: invoiceIds.map((id) => ({ __typename: 'Invoice', id })),
    });
    expect(result.errors).toBeUndefined();
    for (const invoice of result.data!._entities) {
      expect(invoice.payments.filter((p) => p.provider === 'GOCARDLESS')).toEqual(
        world.goCardlessPayments.filter((p) => p.invoiceId === invoice.id).sort(byNewest).map(expectedPayment),
      );
    }
  });

  it('resolves GoCardless Payment and Mandate references by id, and an unknown id as NOT_FOUND', async () => {
    const { world } = stack;
    const payments = world.goCardlessPayments.slice(0, 3);
    const mandate = world.goCardlessMandates[0]!;
    const result = await stack.query<{ _entities: unknown[] }>(ENTITIES, {
      representations: [...payments.map((p) => ({ __typename: 'Payment', id: p.id })), { __typename: 'Payment', id: 'PM000MISSING' }],
    });
    expect(result.data?._entities).toEqual([...payments.map(expectedPayment), null]);
    expect(result.errors?.map((e) => [e.path?.join('.'), e.extensions?.code, e.extensions?.argumentName])).toEqual([['_entities.3', 'NOT_FOUND', 'id']]);
    const mandates = await stack.query<{ _entities: unknown[] }>(MANDATE_ENTITIES, {
      representations: [
        { __typename: 'Mandate', id: mandate.id },
        { __typename: 'Mandate', id: 'MD000MISSING' },
      ],
    });
    expect(mandates.data?._entities).toEqual([expectedMandate(mandate), null]);
    expect(mandates.errors?.map((e) => [e.path?.join('.'), e.extensions?.code, e.extensions?.argumentName])).toEqual([['_entities.1', 'NOT_FOUND', 'id']]);
  });
});
