/**
 * A Stripe key the vendor rejects surfaces as a field error with code VENDOR_UNAUTHORIZED and
 * vendor "stripe", not as a crash; the subgraph keeps serving, and a patient's GoCardless
 * payments still come back next to the error.
 */
import { startPaymentsStack } from './payments-stack';
import type { PaymentsStack } from './payments-stack';

let stack: PaymentsStack;

beforeAll(async () => {
  stack = await startPaymentsStack({ patients: 20, subgraphKey: 'sk_test_not_the_right_key' });
});
afterAll(async () => {
  await stack?.stop();
});

describe('a wrong Stripe key', () => {
  it('gives VENDOR_UNAUTHORIZED field errors naming stripe', async () => {
    // A patient who also pays by GoCardless: their list keeps those payments.
    const patient = stack.world.goCardlessPayments[0]!.patientId;
    const result = await stack.query<{ _entities: unknown[] }>(
      `query ($r: [_Any!]!) { _entities(representations: $r) { ... on Patient { id payments { id } } ... on Payment { id } } }`,
      { r: [{ __typename: 'Patient', id: patient }, { __typename: 'Payment', id: stack.world.paymentIntents[0]?.id }] },
    );
    const goCardlessIds = stack.world.goCardlessPayments.filter((p) => p.patientId === patient).map((p) => ({ id: p.id }));
    expect(result.data?._entities).toEqual([{ id: patient, payments: expect.arrayContaining(goCardlessIds) }, null]);
    expect((result.data?._entities[0] as { payments: unknown[] }).payments).toHaveLength(goCardlessIds.length);
    expect(result.errors?.length).toBe(2);
    for (const error of result.errors ?? []) {
      expect(error.extensions).toMatchObject({ code: 'VENDOR_UNAUTHORIZED', vendor: 'stripe' });
      // Neither the key nor the vendor's body reaches the client.
      expect(JSON.stringify(error)).not.toContain('sk_test');
    }
    // Errors arrive in completion order, which is not the representation order.
    expect(result.errors?.map((e) => e.path?.join('.')).sort()).toEqual(['_entities.0.payments', '_entities.1']);
  });

  it('leaves the subgraph serving', async () => {
    const response = await fetch(`${stack.subgraph.url}/healthz`);
    expect(response.status).toBe(200);
  });
});
