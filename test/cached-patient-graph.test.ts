/**
 * The entity cache in the whole patient graph, as a user of it notices: a repeated query costs
 * the vendors nothing, a change made at a vendor (its admin API, then its signed webhook to the
 * sync service, then an event on the bus) is in the very next answer, and what one role was
 * served is not served to another.
 */
import { signToken } from '../gateway/src/auth';
import { STACK_JWT_SECRET, startPatientGraph } from './stack';
import type { PatientGraphStack } from './stack';
import { compareCursors, parseCursor } from '../lib/event-bus/cursor';
import type { BusEvent } from '../lib/event-bus/types';
import { waitFor } from '../lib/event-bus/test/wait-for';

const OVERVIEW = `query Overview($first: Int!) {
  patients(first: $first) {
    totalCount
    nodes {
      id fullName dateOfBirth email nhsNumber
      phones { number e164 }
      dataQuality { score issues route }
      appointments { id start status practitioner { fullName } calendarEvent { id status } }
      invoices { id total outstanding payments { id status amountMinor } }
      crmContact { id lifecycleStage marketingConsent }
      deals { id stage amount }
      payments { id provider status amountMinor }
      subscriptions { id status plan }
      mandates { id status }
    }
  }
}`;

const PATIENT = `query Patient($id: ID!) {
  patient(id: $id) { id firstName crmContact { lifecycleStage } payments { id status } }
}`;

describe('the patient graph with its entity cache', () => {
  let stack: PatientGraphStack;
  /** What the sync service announced on `entity-changes` (a test empties it before acting). */
  const changes: BusEvent[] = [];
  beforeAll(async () => {
    stack = await startPatientGraph({ patients: 40 });
    await stack.bus.subscribe('entity-changes', {}, (event) => void changes.push(event));
  });
  afterAll(async () => {
    await stack?.stop();
  });

  const vendorTotals = async () => Object.fromEntries(Object.entries(await stack.vendorRequests()).map(([vendor, counts]) => [vendor, counts.total]));
  const NO_VENDOR_REQUESTS = { semble: 0, hubspot: 0, stripe: 0, gocardless: 0, google: 0 };
  /**
   * Waits until the sync service has announced a change of `type` `id` and the gateway says
   * (on /readyz) that it has applied that event: the signal after which no answer may be stale.
   */
  const gatewayApplied = async (type: string, id: string) => {
    let announced: BusEvent | undefined;
    await waitFor(`the change of ${type} ${id} on the bus`, () => {
      announced = changes.find((event) => (event.payload as { entities: Array<{ type: string; id: string }> }).entities.some((e) => e.type === type && e.id === id));
      return announced !== undefined;
    });
    await waitFor('the gateway to apply it', async () => {
      const ready = (await (await fetch(`${stack.gateway.url}/readyz`)).json()) as { cache: { invalidation: { applied: Record<string, string> } } };
      const applied = ready.cache.invalidation.applied['entity-changes'];
      return applied !== undefined && compareCursors(parseCursor(applied), parseCursor(announced!.cursor)) >= 0;
    });
  };

  it('answers the overview a second time without a single vendor request', async () => {
    await stack.resetVendorRequests();
    const first = await stack.query(OVERVIEW, { first: 20 });
    expect(first.errors).toBeUndefined();
    const cold = await vendorTotals();
    expect(cold.semble).toBeGreaterThan(0);
    expect(cold.hubspot).toBeGreaterThan(0);
    expect(cold.stripe).toBeGreaterThan(0);

    await stack.resetVendorRequests();
    const second = await stack.query(OVERVIEW, { first: 20 });
    expect(second.data).toEqual(first.data);
    expect(await vendorTotals()).toEqual(NO_VENDOR_REQUESTS);
  });

  it('shows a change made at a vendor in the next answer after the vendor says so', async () => {
    const { world } = stack;
    const patient = world.patients.find((p) => world.contacts.some((c) => c.patientId === p.id) && world.paymentIntents.some((pi) => pi.patientId === p.id && pi.status !== 'succeeded'))!;
    const contact = world.contacts.find((c) => c.patientId === patient.id)!;
    const intent = world.paymentIntents.find((pi) => pi.patientId === patient.id && pi.status !== 'succeeded')!;
    const ask = async () => (await stack.query(PATIENT, { id: patient.id })).data.patient;
    const before = await ask();
    await stack.resetVendorRequests();
    expect(await ask()).toEqual(before);
    expect(await vendorTotals()).toEqual(NO_VENDOR_REQUESTS);

    // Semble: a new first name.
    changes.length = 0;
    const patched = await fetch(`${stack.emulators.semble}/__admin/patients/${patient.id}`, {
      method: 'PATCH',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ firstName: 'Quentin' }),
    });
    expect(patched.status).toBe(200);
    await gatewayApplied('Patient', patient.id);
    expect((await ask()).firstName).toBe('Quentin');

    // HubSpot: another lifecycle stage.
    const stage = contact.lifecycleStage === 'customer' ? 'evangelist' : 'customer';
    changes.length = 0;
    const changed = await fetch(`${stack.emulators.hubspot}/__admin/contacts/${contact.id}`, {
      method: 'PATCH',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ properties: { lifecyclestage: stage } }),
    });
    expect(changed.status).toBe(200);
    await gatewayApplied('CrmContact', contact.id);
    expect((await ask()).crmContact.lifecycleStage).toBe(stage);

    // Stripe: the payment succeeds.
    changes.length = 0;
    const moved = await fetch(`${stack.emulators.stripe}/__admin/payment_intents/${intent.id}/transition`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ status: 'succeeded' }),
    });
    expect(moved.status).toBe(200);
    await gatewayApplied('Payment', intent.id);
    expect((await ask()).payments).toEqual(expect.arrayContaining([{ id: intent.id, status: 'SUCCEEDED' }]));
  });

  it('never serves what it cached for one set of roles to another, and shares it within one', async () => {
    const patient = stack.world.patients.find((p) => stack.world.contacts.some((c) => c.patientId === p.id) && p.firstName !== 'Quentin')!;
    const as = (subject: string, roles: string[]) => signToken(STACK_JWT_SECRET, { subject, roles, clinic: 'test' });
    const ask = (token: string) => stack.query('query($id: ID!) { patient(id: $id) { fullName crmContact { lifecycleStage } } }', { id: patient.id }, { token });
    const answer = await ask(as('alice', ['marketing']));
    expect(answer.data.patient.fullName).toBe(`${patient.firstName} ${patient.lastName}`);

    await stack.resetVendorRequests();
    expect((await ask(as('bob', ['marketing']))).data).toEqual(answer.data);
    expect(await vendorTotals()).toEqual(NO_VENDOR_REQUESTS);

    await stack.resetVendorRequests();
    // The same fields are visible to marketing + finance, but that is another scope.
    const finance = await ask(as('alice', ['marketing', 'finance']));
    expect(finance.data).toEqual(answer.data);
    const totals = await vendorTotals();
    expect(totals.semble).toBeGreaterThan(0);
    expect(totals.hubspot).toBeGreaterThan(0);
    expect(finance.extensions.cache.fetches).toEqual(expect.arrayContaining([expect.objectContaining({ subgraph: 'crm', type: 'Patient', hits: 0, misses: 1 })]));
  });
});
