/**
 * The sync engine end to end through the real stack: users change records in the vendor
 * emulators' admin APIs, the emulators send their signed webhooks to the sync service, the
 * worker decides, and subscribers on the gateway (the real graphql-ws client over a real
 * WebSocket) see every step, with fields resolved from other subgraphs.
 */
import { createClient } from 'graphql-ws';
import type { Client } from 'graphql-ws';
import WebSocket from 'ws';
import { createLogger } from '../lib/logger';
import { startSyncWorker } from '../subgraphs/sync/src/worker';
import { startPatientGraph } from './stack';
import type { PatientGraphStack } from './stack';

async function until<T>(what: string, check: () => Promise<T | undefined | false>, deadlineMs = 15_000): Promise<T> {
  const deadline = Date.now() + deadlineMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

function subscribe(client: Client, query: string, variables: Record<string, unknown> = {}) {
  const results: any[] = [];
  const dispose = client.subscribe({ query, variables }, { next: (r) => void results.push(r), error: (e) => void results.push({ error: e }), complete: () => undefined });
  return { results, dispose };
}

const CONFLICTS = `subscription { conflicts { id field sembleValue crmValue status cursor
  patient { id fullName crmContact { lifecycleStage } payments { status } } } }`;
const SYNC_EVENTS = 'subscription ($patientId: ID, $after: String) { syncEvents(patientId: $patientId, after: $after) { id type outcome fields patient { id } } }';

describe('sync with conflict review, pushed live through the gateway', () => {
  let stack: PatientGraphStack;
  let client: Client;

  beforeAll(async () => {
    stack = await startPatientGraph({ patients: 40 });
    client = createClient({
      url: stack.gateway.graphqlUrl.replace('http://', 'ws://'),
      webSocketImpl: WebSocket,
      connectionParams: { authorization: `Bearer ${stack.token}` },
      retryAttempts: 0,
    });
  });
  afterAll(async () => {
    await client?.dispose();
    await stack?.stop();
  });

  const admin = (vendor: 'semble' | 'hubspot', path: string, body: unknown) =>
    fetch(`${stack.emulators[vendor]}/__admin${path}`, { method: 'PATCH', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }).then(async (r) => {
      if (!r.ok) throw new Error(`${vendor} admin ${path}: ${r.status} ${await r.text()}`);
    });
  const deliveriesDone = async (vendor: 'semble' | 'hubspot') => {
    const { deliveries } = (await (await fetch(`${stack.emulators[vendor]}/__admin/webhooks`)).json()) as { deliveries: Array<{ status: string }> };
    return deliveries.length > 0 && deliveries.every((d) => d.status === 'delivered');
  };
  const hubspotContact = async (id: string) =>
    ((await (
      await fetch(`${stack.emulators.hubspot}/crm/v3/objects/contacts/${id}?properties=phone,firstname,email`, { headers: { authorization: 'Bearer hubspot-test-token' } })
    ).json()) as { properties: Record<string, string | null> }).properties;

  it('opens one conflict when the phone changes on both sides, resolves it into both systems, and streams every step', async () => {
    const { world } = stack;
    // A patient whose data is clean (so writes are not held), with a CRM contact and payments.
    const patient = world.patients.find(
      (p) =>
        p.email?.endsWith('.co.uk') &&
        p.phones.length === 1 &&
        /^07[4-9]/.test(p.phones[0]!.number) &&
        (!p.nhsNumber || !isInvalidNhs(p.nhsNumber)) &&
        world.contacts.some((c) => c.patientId === p.id) &&
        world.paymentIntents.some((pi) => pi.patientId === p.id),
    )!;
    expect(patient).toBeDefined();
    const contact = world.contacts.find((c) => c.patientId === patient.id)!;

    const conflicts = subscribe(client, CONFLICTS);
    const steps = subscribe(client, SYNC_EVENTS, { patientId: patient.id });
    await until('both subscriptions', async () => {
      const text = await (await fetch(`${stack.gateway.url}/metrics`)).text();
      return Number(/^gateway_subscriptions_active (\d+)/m.exec(text)?.[1]) === 2;
    });

    // 1. A non-critical change in Semble flows to the CRM (and makes the last-synced copy).
    await admin('semble', `/patients/${patient.id}`, { firstName: 'Rowan' });
    await until('the first name in HubSpot', async () => (await hubspotContact(contact.id)).firstname === 'Rowan');
    const firstSync = await until('a sync event for the patient', async () => steps.results.find((r) => r.data?.syncEvents?.type === 'CONTACT_SYNCED'));
    expect(firstSync.data.syncEvents).toMatchObject({ outcome: 'APPLIED', patient: { id: patient.id } });
    expect(firstSync.data.syncEvents.fields).toContain('firstName');

    // 2. Both sides change the phone while the worker is stopped, so both changes are seen together.
    await stack.sync.worker!.stop();
    await admin('hubspot', `/contacts/${contact.id}`, { properties: { phone: '07911 123456' } });
    await admin('semble', `/patients/${patient.id}`, { phone: '07922 654321' });
    await until('webhooks delivered to the sync service', async () => (await deliveriesDone('hubspot')) && (await deliveriesDone('semble')));
    const worker = await startSyncWorker({ bus: stack.bus, store: stack.sync.store, clients: stack.sync.clients, logger: createLogger('test-worker', 'silent'), consumer: 'test-worker' });
    try {
      const opened = await until('the conflict on the subscription', async () => conflicts.results.find((r) => r.data?.conflicts?.status === 'OPEN'));
      expect(opened.data.conflicts).toMatchObject({
        field: 'phone',
        sembleValue: '+447922654321',
        crmValue: '+447911123456',
        patient: { id: patient.id, fullName: `Rowan ${patient.lastName}`, crmContact: { lifecycleStage: contact.lifecycleStage } },
      });
      expect(opened.data.conflicts.patient.payments.length).toBeGreaterThan(0);

      // Exactly one, and neither side was overwritten.
      const open = await stack.query('{ conflicts(status: OPEN) { totalCount nodes { id } } }');
      expect(open.data.conflicts).toEqual({ totalCount: 1, nodes: [{ id: opened.data.conflicts.id }] });
      expect((await hubspotContact(contact.id)).phone).toBe('07911 123456');
      const beforeResolve = await stack.query('query ($id: ID!) { patient(id: $id) { phones { number } syncStatus { state openConflicts } } }', { id: patient.id });
      expect(beforeResolve.data.patient).toEqual({ phones: [{ number: '07922 654321' }], syncStatus: { state: 'CONFLICT', openConflicts: 1 } });

      // 3. A reviewer keeps the CRM's value: both systems get it, and the resolution is streamed.
      const resolved = await stack.query(
        'mutation ($id: ID!) { resolveConflict(id: $id, resolution: KEEP_CRM) { status resolution resolvedValue resolvedBy resolvedAt } }',
        { id: opened.data.conflicts.id },
      );
      expect(resolved.errors).toBeUndefined();
      expect(resolved.data.resolveConflict).toMatchObject({ status: 'RESOLVED', resolution: 'KEEP_CRM', resolvedValue: '+447911123456', resolvedBy: 'stack-test' });
      expect(Date.parse(resolved.data.resolveConflict.resolvedAt)).not.toBeNaN();
      const after = await stack.query('query ($id: ID!) { patient(id: $id) { phones { e164 } } }', { id: patient.id });
      expect(after.data.patient.phones).toEqual([{ e164: '+447911123456' }]);
      expect(await hubspotContact(contact.id)).toMatchObject({ phone: expect.stringMatching(/^(\+447911123456|07911 123456)$/) });
      await until('the resolution on the subscription', async () => conflicts.results.find((r) => r.data?.conflicts?.status === 'RESOLVED'));
      const types = steps.results.map((r) => r.data?.syncEvents?.type);
      expect(types).toEqual(expect.arrayContaining(['CONTACT_SYNCED', 'CONFLICT_OPENED', 'CONFLICT_RESOLVED']));

      // 4. A client that reconnects with `after` gets every event it missed, in order.
      const seen = steps.results.map((r) => r.data.syncEvents.id);
      const resumed = subscribe(client, SYNC_EVENTS, { patientId: patient.id, after: seen[0] });
      await until('the replay', async () => resumed.results.length >= seen.length - 1);
      expect(resumed.results.map((r) => r.data.syncEvents.id).slice(0, seen.length - 1)).toEqual(seen.slice(1));
      resumed.dispose();
    } finally {
      conflicts.dispose();
      steps.dispose();
      await worker.stop();
    }
  });

  it('holds low-quality data for review instead of writing it', async () => {
    const { world } = stack;
    // A seeded patient with an NHS number that fails modulus 11; bad email and phone make 3 issues.
    const patient = world.patients.find((p) => p.nhsNumber && isInvalidNhs(p.nhsNumber) && world.contacts.some((c) => c.patientId === p.id))!;
    expect(patient).toBeDefined();
    const contact = world.contacts.find((c) => c.patientId === patient.id)!;
    const before = await hubspotContact(contact.id);
    const initially = await stack.query('query ($id: ID!) { patient(id: $id) { syncStatus { state } } }', { id: patient.id });
    expect(initially.data.patient.syncStatus.state).toBe('NEVER_SYNCED');
    // Both systems get the same bad email and phone before the worker runs: had only Semble changed
    // them, those critical fields would differ from the CRM's and be conflicts (see
    // subgraphs/sync/test/no-silent-overwrite.test.ts) rather than a hold.
    await admin('hubspot', `/contacts/${contact.id}`, { properties: { email: 'not-an-email', phone: '12345' } });
    const typed = await hubspotContact(contact.id);
    expect(typed).toEqual({ ...before, email: 'not-an-email', phone: '12345', lastmodifieddate: expect.any(String) });
    await admin('semble', `/patients/${patient.id}`, { email: 'not-an-email', phone: '12345' });
    await until('webhooks delivered to the sync service', async () => (await deliveriesDone('hubspot')) && (await deliveriesDone('semble')));
    const worker = await startSyncWorker({ bus: stack.bus, store: stack.sync.store, clients: stack.sync.clients, logger: createLogger('test-worker', 'silent'), consumer: 'held-test' });
    try {
      const status = await until('the held status', async () => {
        const result = await stack.query('query ($id: ID!) { patient(id: $id) { dataQuality { score route } syncStatus { state } } }', { id: patient.id });
        return result.data?.patient?.syncStatus?.state === 'HELD_FOR_REVIEW' && result.data.patient;
      });
      expect(status.dataQuality).toEqual({ score: 40, route: 'HOLD_FOR_REVIEW' });
      // Nothing written by the sync: the contact holds what the CRM user typed, nothing more.
      expect(await hubspotContact(contact.id)).toEqual(typed);
    } finally {
      await worker.stop();
    }
  });
});

describe('payment outcomes reach the invoice', () => {
  let stack: PatientGraphStack;
  beforeAll(async () => {
    stack = await startPatientGraph({ patients: 40 });
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it('records a Stripe payment that succeeded on its invoice, visible through the gateway', async () => {
    const intent = stack.world.paymentIntents.find((pi) => pi.invoiceId && !['succeeded', 'canceled'].includes(pi.status))!;
    expect(intent).toBeDefined();
    const query = 'query ($id: ID!) { invoice(id: $id) { id paymentState { state provider paymentId amount currency } payments { id status } } }';
    const before = await stack.query(query, { id: intent.invoiceId });
    expect(before.data.invoice.paymentState).toBeNull();

    const response = await fetch(`${stack.emulators.stripe}/__admin/payment_intents/${intent.id}/transition`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ status: 'succeeded' }),
    });
    expect(response.status).toBe(200);
    const after = await until('the payment state on the invoice', async () => {
      const result = await stack.query(query, { id: intent.invoiceId });
      return result.data?.invoice?.paymentState && result.data.invoice;
    });
    expect(after.paymentState).toEqual({ state: 'PAID', provider: 'stripe', paymentId: intent.id, amount: intent.amount, currency: 'GBP' });
    expect(after.payments).toEqual(expect.arrayContaining([{ id: intent.id, status: 'SUCCEEDED' }]));
  });

  it('records a GoCardless payment paid out on its invoice, visible through the gateway', async () => {
    const stripeInvoices = new Set(stack.world.paymentIntents.map((pi) => pi.invoiceId));
    const payment = stack.world.goCardlessPayments.find(
      (p) => p.invoiceId && !stripeInvoices.has(p.invoiceId) && ['pending_customer_approval', 'pending_submission', 'submitted', 'confirmed'].includes(p.status),
    )!;
    expect(payment).toBeDefined();
    const query = 'query ($id: ID!) { invoice(id: $id) { id paymentState { state provider paymentId amount currency } payments { id provider status } } }';
    const before = await stack.query(query, { id: payment.invoiceId });
    expect(before.data.invoice.paymentState).toBeNull();
    expect(before.data.invoice.payments).toEqual(expect.arrayContaining([expect.objectContaining({ id: payment.id, provider: 'GOCARDLESS' })]));

    const response = await fetch(`${stack.emulators.gocardless}/__admin/payments/${payment.id}/transition`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ status: 'paid_out' }),
    });
    expect(response.status).toBe(200);
    const after = await until('the GoCardless payment state on the invoice', async () => {
      const result = await stack.query(query, { id: payment.invoiceId });
      return result.data?.invoice?.paymentState && result.data.invoice;
    });
    expect(after.paymentState).toEqual({ state: 'PAID', provider: 'gocardless', paymentId: payment.id, amount: payment.amount, currency: 'GBP' });
    expect(after.payments).toEqual(expect.arrayContaining([{ id: payment.id, provider: 'GOCARDLESS', status: 'SUCCEEDED' }]));
  });
});

function isInvalidNhs(raw: string): boolean {
  const digits = raw.replace(/\s/g, '');
  const sum = [...digits.slice(0, 9)].reduce((acc, d, i) => acc + Number(d) * (10 - i), 0);
  const check = 11 - (sum % 11);
  return check === 10 || (check === 11 ? 0 : check) !== Number(digits[9]);
}
