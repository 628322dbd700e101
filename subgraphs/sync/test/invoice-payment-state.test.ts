/**
 * The state the worker records on an invoice for every status a payment can be in at Stripe
 * (with and without a failed attempt) and at GoCardless, re-read over HTTP from the emulators.
 * The expected states are written out here, not taken from the tables under test.
 */
import type { GoCardlessPaymentStatus } from '../../../lib/vendors/gocardless';
import type { StripePaymentError, StripePaymentIntentStatus } from '../../../lib/vendors/stripe';
import type { InvoicePaymentRecord } from '../src/store';
import { startSyncHarness } from './sync-harness';
import type { SyncHarness } from './sync-harness';

let h: SyncHarness;
beforeAll(async () => {
  h = await startSyncHarness({ patients: 30 });
});
afterAll(() => h.stop());

const DECLINED: StripePaymentError = { type: 'card_error', code: 'card_declined', decline_code: 'generic_decline', message: 'Your card was declined.' };

const handle = (item: Parameters<SyncHarness['handler']['handle']>[0]['items'][number]) => h.handler.handle({ receivedAt: new Date().toISOString(), items: [item] });

/** A record no sync writes, so a row passes only on what its own handling wrote over it. */
const putPlaceholder = (invoiceId: string) =>
  h.store.putInvoicePayment({ invoiceId, patientId: null, provider: 'stripe', paymentId: 'placeholder', state: 'CANCELLED', amount: 0, currency: 'gbp', updatedAt: new Date(0).toISOString() });

describe('a Stripe payment intent', () => {
  const intentOf = () => {
    const seeded = h.world.paymentIntents.find((candidate) => candidate.invoiceId)!;
    return { id: seeded.id, invoiceId: seeded.invoiceId!, record: h.stripe.store.paymentIntents.get(seeded.id)! };
  };

  it.each<[StripePaymentIntentStatus, StripePaymentError | null, InvoicePaymentRecord['state']]>([
    ['requires_payment_method', null, 'PENDING'], // new: what payment_intent.created carries
    ['requires_payment_method', DECLINED, 'FAILED'], // an attempt was declined: payment_intent.payment_failed
    ['requires_confirmation', null, 'PENDING'],
    ['requires_action', null, 'PENDING'],
    ['processing', null, 'PENDING'],
    ['requires_capture', null, 'PENDING'],
    ['succeeded', null, 'PAID'],
    ['canceled', null, 'CANCELLED'],
  ])('in %s with last_payment_error %j puts %s on its invoice', async (status, lastPaymentError, expected) => {
    const intent = intentOf();
    Object.assign(intent.record, { status, last_payment_error: lastPaymentError });
    await putPlaceholder(intent.invoiceId);
    await handle({ vendor: 'stripe', eventId: `evt_${status}`, type: 'payment_intent.updated', objectId: intent.id });
    expect(await h.store.getInvoicePayment(intent.invoiceId)).toMatchObject({ provider: 'stripe', paymentId: intent.id, state: expected });
  });

  it('in a status outside the table leaves the invoice as it was, and the step FAILED', async () => {
    const intent = intentOf();
    Object.assign(intent.record, { status: 'succeeded', last_payment_error: null });
    await handle({ vendor: 'stripe', eventId: 'evt_known', type: 'payment_intent.succeeded', objectId: intent.id });
    const before = await h.store.getInvoicePayment(intent.invoiceId);
    expect(before).toMatchObject({ state: 'PAID' });

    Object.assign(intent.record, { status: 'requires_reauthorization' });
    const published = (await h.syncEvents()).length;
    await handle({ vendor: 'stripe', eventId: 'evt_unknown', type: 'payment_intent.updated', objectId: intent.id });
    expect(await h.store.getInvoicePayment(intent.invoiceId)).toEqual(before);
    expect((await h.syncEvents()).slice(published)).toEqual([expect.objectContaining({ type: 'FAILED', source: 'PAYMENTS', target: 'SEMBLE', outcome: 'FAILED' })]);
  });
});

describe('a GoCardless payment', () => {
  it.each<[GoCardlessPaymentStatus, InvoicePaymentRecord['state']]>([
    ['pending_customer_approval', 'PENDING'],
    ['pending_submission', 'PENDING'],
    ['submitted', 'PENDING'],
    ['confirmed', 'PAID'],
    ['paid_out', 'PAID'],
    ['failed', 'FAILED'],
    ['customer_approval_denied', 'FAILED'],
    ['cancelled', 'CANCELLED'],
    // The money went back to the payer: the invoice is unpaid.
    ['charged_back', 'FAILED'],
  ])('in %s puts %s on its invoice', async (status, expected) => {
    const seeded = h.world.goCardlessPayments.find((candidate) => candidate.invoiceId)!;
    h.goCardless.store.payments.get(seeded.id)!.status = status;
    await putPlaceholder(seeded.invoiceId!);
    await handle({ vendor: 'gocardless', eventId: `EV${status}`, resourceType: 'payments', action: status, links: { payment: seeded.id } });
    expect(await h.store.getInvoicePayment(seeded.invoiceId!)).toMatchObject({ provider: 'gocardless', paymentId: seeded.id, state: expected });
  });
});
