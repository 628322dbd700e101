/**
 * GoCardless payment outcomes reach the Semble invoice: a payment moved on at GoCardless (the
 * emulator's admin API) sends a signed payments webhook; the worker re-reads the payment,
 * records its normalised state on the invoice named in metadata.semble_invoice_id, publishes
 * PAYMENT_SYNCED, and the sync subgraph serves it as Invoice.paymentState.
 */
import { startSyncHarness } from './sync-harness';
import type { SyncHarness } from './sync-harness';

let h: SyncHarness;
beforeAll(async () => {
  h = await startSyncHarness({ patients: 60, server: true });
});
afterAll(() => h.stop());

const transition = (id: string, status: string) =>
  fetch(`${h.goCardless.url}/__admin/payments/${id}/transition`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ status }),
  });

const PAYMENT_STATE = `query ($r: [_Any!]!) { _entities(representations: $r) { ... on Invoice { id paymentState { state provider paymentId amount currency } } } }`;

it('records a GoCardless payment paid out on its invoice, served as Invoice.paymentState', async () => {
  const payment = h.world.goCardlessPayments.find((candidate) => candidate.invoiceId && ['pending_customer_approval', 'pending_submission', 'submitted', 'confirmed'].includes(candidate.status))!;
  expect(payment).toBeDefined();
  const before = await h.graphql<{ _entities: Array<{ paymentState: unknown }> }>(PAYMENT_STATE, { r: [{ __typename: 'Invoice', id: payment.invoiceId }] });
  expect(before.data?._entities[0]?.paymentState).toBeNull();

  expect((await transition(payment.id, 'paid_out')).status).toBe(200);
  const items = await h.deliverWebhooks();
  expect(items).toEqual([{ vendor: 'gocardless', eventId: expect.stringMatching(/^EV/), resourceType: 'payments', action: 'paid_out', links: { payment: payment.id } }]);

  const after = await h.graphql<{ _entities: Array<{ id: string; paymentState: unknown }> }>(PAYMENT_STATE, { r: [{ __typename: 'Invoice', id: payment.invoiceId }] });
  expect(after.errors).toBeUndefined();
  expect(after.data?._entities).toEqual([
    { id: payment.invoiceId, paymentState: { state: 'PAID', provider: 'gocardless', paymentId: payment.id, amount: payment.amount, currency: 'GBP' } },
  ]);
  const events = (await h.syncEvents()).filter((event) => event.type === 'PAYMENT_SYNCED');
  expect(events).toEqual([expect.objectContaining({ patientId: payment.patientId, source: 'PAYMENTS', target: 'SEMBLE', fields: ['paymentStatus'], outcome: 'APPLIED' })]);

  // Charged back later: the money went back to the payer, so the invoice is no longer paid.
  expect((await transition(payment.id, 'charged_back')).status).toBe(200);
  await h.deliverWebhooks();
  expect(await h.store.getInvoicePayment(payment.invoiceId!)).toMatchObject({ provider: 'gocardless', paymentId: payment.id, state: 'FAILED' });
});

it('re-reads a payment named several times in one delivery once, and gives up on one that does not exist', async () => {
  const payment = h.world.goCardlessPayments.filter((candidate) => candidate.invoiceId)[1]!;
  const before = (await h.syncEvents()).length;
  await h.handler.handle({
    receivedAt: new Date().toISOString(),
    items: [
      { vendor: 'gocardless', eventId: 'EV_A', resourceType: 'payments', action: 'submitted', links: { payment: payment.id } },
      { vendor: 'gocardless', eventId: 'EV_B', resourceType: 'payments', action: 'confirmed', links: { payment: payment.id } },
      { vendor: 'gocardless', eventId: 'EV_C', resourceType: 'payments', action: 'confirmed', links: { payment: 'PM000MISSING' } },
    ],
  });
  const events = (await h.syncEvents()).slice(before);
  expect(events.map((event) => [event.type, event.outcome])).toEqual([
    ['PAYMENT_SYNCED', 'APPLIED'],
    ['FAILED', 'FAILED'],
  ]);
  expect(await h.store.getInvoicePayment(payment.invoiceId!)).toMatchObject({ provider: 'gocardless', paymentId: payment.id, amount: payment.amount });
});

it('skips a payment without an invoice (a plan instalment)', async () => {
  const payment = h.world.goCardlessPayments.find((candidate) => !candidate.invoiceId)!;
  const before = (await h.syncEvents()).length;
  await h.handler.handle({
    receivedAt: new Date().toISOString(),
    items: [{ vendor: 'gocardless', eventId: 'EV_D', resourceType: 'payments', action: 'confirmed', links: { payment: payment.id } }],
  });
  expect((await h.syncEvents()).slice(before)).toEqual([expect.objectContaining({ type: 'PAYMENT_SYNCED', patientId: payment.patientId, outcome: 'SKIPPED' })]);
});
