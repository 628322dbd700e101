/**
 * Through the gateway, a GoCardless outage costs only the GoCardless payments: every patient's
 * list still holds their Stripe payments, and each list carries a VENDOR_UNAVAILABLE error
 * naming gocardless (and the payments subgraph) at its own path.
 */
import { startPatientGraph } from './stack';
import type { PatientGraphStack } from './stack';

describe('a GoCardless outage seen through the gateway', () => {
  let stack: PatientGraphStack;
  beforeAll(async () => {
    stack = await startPatientGraph({ patients: 40 });
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it('serves the Stripe payments with a field error per list', async () => {
    await fetch(`${stack.emulators.gocardless}/__admin/faults`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ status: 503 }) });
    const result = await stack.query('{ patients(first: 5) { nodes { id fullName payments { id provider } } } }');
    expect(result.status).toBe(200);
    const nodes = result.data.patients.nodes as Array<{ id: string; fullName: string; payments: Array<{ id: string; provider: string }> }>;
    for (const node of nodes) {
      expect(node.fullName).toBeTruthy();
      expect(node.payments.map((p) => p.id).sort()).toEqual(stack.world.paymentIntents.filter((i) => i.patientId === node.id).map((i) => i.id).sort());
    }
    expect(result.errors!.map((e) => e.path)).toEqual(expect.arrayContaining(nodes.map((_, index) => ['patients', 'nodes', index, 'payments'])));
    for (const error of result.errors!) {
      expect(error.extensions).toMatchObject({ code: 'VENDOR_UNAVAILABLE', vendor: 'gocardless', serviceName: 'payments' });
    }
  });
});
