/**
 * A GoCardless outage fails only the GoCardless part: Patient.payments and Invoice.payments
 * still return the Stripe payments, with a field error at the same path (VENDOR_UNAVAILABLE,
 * vendor "gocardless"); Patient.mandates, GoCardless only, fails with that error; Stripe-only
 * fields are untouched. When GoCardless is back, the next request is whole again. Only when
 * both providers fail does the list fail, with one error per vendor.
 */
import { startPaymentsStack } from './payments-stack';
import type { PaymentsStack } from './payments-stack';

let stack: PaymentsStack;

beforeAll(async () => {
  stack = await startPaymentsStack({ patients: 40 });
});
afterAll(async () => {
  await stack?.stop();
});
afterEach(async () => {
  await fetch(`${stack.goCardless.url}/__admin/faults`, { method: 'DELETE' });
});

const QUERY = `query ($r: [_Any!]!) { _entities(representations: $r) {
  ... on Patient { id payments { id provider } subscriptions { id } }
  ... on Invoice { id payments { id provider } }
} }`;
const MANDATES = `query ($r: [_Any!]!) { _entities(representations: $r) { ... on Patient { id mandates { id } } } }`;

describe('a GoCardless outage', () => {
  it('returns the Stripe payments with a VENDOR_UNAVAILABLE error naming gocardless', async () => {
    const { world } = stack;
    // A patient with payments at both providers, and an invoice paid through Stripe.
    const patient = world.patients.find((p) => world.paymentIntents.some((i) => i.patientId === p.id) && world.goCardlessPayments.some((g) => g.patientId === p.id))!;
    const invoice = world.paymentIntents.find((i) => i.invoiceId)!.invoiceId!;
    expect(patient).toBeDefined();
    // Every GoCardless request answers 503 (retries included) until the fault is cleared.
    await fetch(`${stack.goCardless.url}/__admin/faults`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ status: 503 }) });

    const result = await stack.query<{ _entities: Array<{ id: string; payments: Array<{ id: string; provider: string }>; subscriptions?: unknown[] }> }>(QUERY, {
      r: [
        { __typename: 'Patient', id: patient.id },
        { __typename: 'Invoice', id: invoice },
      ],
    });
    const [patientResult, invoiceResult] = result.data!._entities;
    expect(patientResult!.payments.map((p) => p.id).sort()).toEqual(world.paymentIntents.filter((i) => i.patientId === patient.id).map((i) => i.id).sort());
    expect(patientResult!.payments.every((p) => p.provider === 'STRIPE')).toBe(true);
    expect(patientResult!.subscriptions).toEqual(world.subscriptions.filter((s) => s.patientId === patient.id).map((s) => ({ id: s.id })));
    expect(invoiceResult!.payments.map((p) => p.id).sort()).toEqual(world.paymentIntents.filter((i) => i.invoiceId === invoice).map((i) => i.id).sort());

    expect(result.errors?.map((e) => e.path?.join('.')).sort()).toEqual(['_entities.0.payments', '_entities.1.payments']);
    for (const error of result.errors ?? []) {
      expect(error.extensions).toMatchObject({ code: 'VENDOR_UNAVAILABLE', vendor: 'gocardless' });
    }
  });

  it('fails Patient.mandates (GoCardless only) with the same error', async () => {
    const patient = stack.world.goCardlessCustomers[0]!.patientId;
    await fetch(`${stack.goCardless.url}/__admin/faults`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ status: 503 }) });
    const result = await stack.query<{ _entities: unknown[] }>(MANDATES, { r: [{ __typename: 'Patient', id: patient }] });
    // The list is nullable: the patient stays, only its mandates are missing.
    expect(result.data?._entities).toEqual([{ id: patient, mandates: null }]);
    expect(result.errors?.map((e) => [e.path?.join('.'), e.extensions?.code, e.extensions?.vendor])).toEqual([['_entities.0.mandates', 'VENDOR_UNAVAILABLE', 'gocardless']]);
  });

  it('is whole again once GoCardless answers', async () => {
    const patient = stack.world.goCardlessPayments[0]!.patientId;
    const result = await stack.query<{ _entities: Array<{ payments: Array<{ provider: string }> }> }>(QUERY, { r: [{ __typename: 'Patient', id: patient }] });
    expect(result.errors).toBeUndefined();
    expect(result.data!._entities[0]!.payments.some((p) => p.provider === 'GOCARDLESS')).toBe(true);
  });
});

describe('both payment providers failing', () => {
  let broken: PaymentsStack;
  beforeAll(async () => {
    broken = await startPaymentsStack({ patients: 20, subgraphKey: 'sk_test_not_the_right_key' });
    await fetch(`${broken.goCardless.url}/__admin/faults`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ status: 503 }) });
  });
  afterAll(async () => {
    await broken?.stop();
  });

  it('fails the list with one error per vendor', async () => {
    const patient = broken.world.patients[0]!.id;
    const result = await broken.query<{ _entities: unknown[] }>(`query ($r: [_Any!]!) { _entities(representations: $r) { ... on Patient { id payments { id } } } }`, {
      r: [{ __typename: 'Patient', id: patient }],
    });
    expect(result.data?._entities).toEqual([{ id: patient, payments: null }]);
    expect(result.errors?.map((e) => [e.path?.join('.'), e.extensions?.code, e.extensions?.vendor]).sort()).toEqual([
      ['_entities.0.payments', 'VENDOR_UNAUTHORIZED', 'stripe'],
      ['_entities.0.payments', 'VENDOR_UNAVAILABLE', 'gocardless'],
    ]);
  });
});
