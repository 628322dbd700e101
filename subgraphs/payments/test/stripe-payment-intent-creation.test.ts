/**
 * Creating a PaymentIntent in the Stripe emulator as in Stripe: `POST /v1/payment_intents`,
 * form-encoded, makes an intent in requires_payment_method with no last_payment_error and sends
 * `payment_intent.created` carrying it, signed with Stripe-Signature like every other event. An
 * Idempotency-Key replays the first answer; a first attempt on the new intent can fail
 * (payment_failed, last_payment_error set) and a later one succeed (the error cleared).
 */
import { createSeedWorld } from '../../../lib/seed';
import { verifyStripe } from '../../../lib/webhooks';
import type { StripeWebhookEvent } from '../../../lib/webhooks';
import { readDeliveries, startRecordingReceiver, waitForDeliveries } from '../../../lib/webhooks/recording-receiver';
import type { RecordingReceiver } from '../../../lib/webhooks/recording-receiver';
import type { StripePaymentIntent } from '../../../lib/vendors/stripe';
import { startStripeEmulator } from '../emulator/server';
import type { StripeEmulator } from '../emulator/server';

const KEY = 'sk_test_creation';
const SECRET = 'whsec_creation_test_secret';

const world = createSeedWorld({ patients: 30, seed: 9 });
const customer = world.customers[0]!;
let receiver: RecordingReceiver;
let emulator: StripeEmulator;

beforeEach(async () => {
  receiver = await startRecordingReceiver('/webhooks/stripe');
  emulator = await startStripeEmulator({ world, token: KEY, webhook: { url: receiver.url, secret: SECRET, retryDelaysMs: [20, 40, 80] } });
});
afterEach(async () => {
  await emulator.stop();
  await receiver.stop();
});

async function create(params: Record<string, string>, headers: Record<string, string> = {}) {
  const response = await fetch(`${emulator.url}/v1/payment_intents`, {
    method: 'POST',
    headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: new URLSearchParams(params).toString(),
  });
  return { status: response.status, headers: response.headers, body: (await response.json()) as any };
}

const transition = (id: string, status: string) =>
  fetch(`${emulator.url}/__admin/payment_intents/${id}/transition`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ status }) });

const get = async (path: string) => (await (await fetch(`${emulator.url}${path}`, { headers: { authorization: `Bearer ${KEY}` } })).json()) as any;

const NEW_PAYMENT = {
  amount: '4500',
  currency: 'GBP',
  customer: customer.id,
  'metadata[semble_patient_id]': customer.patientId,
  'metadata[semble_invoice_id]': 'inv-new-1',
};

it('creates an intent awaiting a payment method and sends payment_intent.created with it, signed', async () => {
  const { status, body } = await create(NEW_PAYMENT);
  expect(status).toBe(200);
  expect(body).toEqual({
    id: expect.stringMatching(/^pi_[0-9a-f]{24}$/),
    object: 'payment_intent',
    amount: 4500,
    currency: 'gbp',
    status: 'requires_payment_method',
    last_payment_error: null,
    canceled_at: null,
    customer: customer.id,
    created: expect.any(Number),
    metadata: { semble_patient_id: customer.patientId, semble_invoice_id: 'inv-new-1' },
    livemode: false,
  });

  const [hook] = await receiver.waitFor(1);
  expect(hook!.headers['stripe-signature']).toMatch(/^t=\d+,v1=[0-9a-f]{64}$/);
  const verified = verifyStripe({ headers: hook!.headers, body: hook!.body, secret: SECRET });
  expect(verified).toMatchObject({ ok: true, event: { type: 'payment_intent.created', object: 'event' } });
  const event = JSON.parse(hook!.body.toString()) as StripeWebhookEvent<StripePaymentIntent>;
  expect(event.data.object).toEqual(body);
  expect(await get(`/v1/events/${event.id}`)).toEqual(event);

  // It is a record like any other: read by id, and found by its metadata.
  expect(await get(`/v1/payment_intents/${body.id}`)).toEqual(body);
  const found = await get(`/v1/payment_intents/search?query=${encodeURIComponent("metadata['semble_invoice_id']:'inv-new-1'")}`);
  expect(found.data).toEqual([body]);
});

it('fails a first attempt on the new intent (payment_failed, last_payment_error set), then succeeds (error cleared)', async () => {
  const { body: intent } = await create(NEW_PAYMENT);
  expect((await transition(intent.id, 'failed')).status).toBe(200);
  expect((await transition(intent.id, 'succeeded')).status).toBe(200);
  const hooks = await receiver.waitFor(3);
  const events = hooks.map((hook) => JSON.parse(hook.body.toString()) as StripeWebhookEvent<StripePaymentIntent>);
  // The created event is not awaited by the API call, so it may arrive after the next one.
  expect(events.map((event) => event.type).sort()).toEqual(['payment_intent.created', 'payment_intent.payment_failed', 'payment_intent.succeeded']);
  const failed = events.find((event) => event.type === 'payment_intent.payment_failed')!;
  expect(failed.data.object).toMatchObject({ status: 'requires_payment_method', last_payment_error: { type: 'card_error', code: 'card_declined' } });
  const succeeded = events.find((event) => event.type === 'payment_intent.succeeded')!;
  expect(succeeded.data.object).toMatchObject({ status: 'succeeded', last_payment_error: null });
  for (const hook of hooks) expect(verifyStripe({ headers: hook.headers, body: hook.body, secret: SECRET }).ok).toBe(true);
});

it('replays the first answer for a repeated Idempotency-Key, creating and sending nothing more', async () => {
  const first = await create(NEW_PAYMENT, { 'idempotency-key': 'new-payment-1' });
  const again = await create(NEW_PAYMENT, { 'idempotency-key': 'new-payment-1' });
  expect(again.status).toBe(200);
  expect(again.headers.get('idempotent-replayed')).toBe('true');
  expect(again.body).toEqual(first.body);

  const changed = await create({ ...NEW_PAYMENT, amount: '9000' }, { 'idempotency-key': 'new-payment-1' });
  expect(changed.status).toBe(400);
  expect(changed.body.error).toMatchObject({ type: 'idempotency_error', message: expect.stringMatching(/^Keys for idempotent requests can only be used with the same parameters/) });

  const created = [...emulator.store.paymentIntents.values()].filter((intent) => intent.metadata.semble_invoice_id === 'inv-new-1');
  expect(created).toHaveLength(1);
  await waitForDeliveries(emulator.url, (list) => list.length > 0 && list.every((delivery) => delivery.status === 'delivered'));
  expect((await readDeliveries(emulator.url)).map((delivery) => delivery.event)).toEqual(['payment_intent.created']);
});

it.each([
  [{ currency: 'gbp' }, 'Missing required param: amount.', 'amount'],
  [{ amount: '12.50', currency: 'gbp' }, 'Invalid integer: 12.50', 'amount'],
  [{ amount: '1000' }, 'Missing required param: currency.', 'currency'],
  [{ amount: '1000', currency: 'gbp', customer: 'cus_nobody' }, "No such customer: 'cus_nobody'", 'customer'],
  [{ amount: '1000', currency: 'gbp', confirm: 'true' }, 'Received unknown parameter: confirm', 'confirm'],
])('refuses %j with 400 and sends nothing', async (params, message, param) => {
  const { status, body } = await create(params as Record<string, string>);
  expect(status).toBe(400);
  expect(body.error).toMatchObject({ type: 'invalid_request_error', message, param });
  expect(await readDeliveries(emulator.url)).toEqual([]);
});

it('answers POST /v1/payment_intents without the key with 401', async () => {
  const response = await fetch(`${emulator.url}/v1/payment_intents`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: 'amount=100&currency=gbp',
  });
  expect(response.status).toBe(401);
  expect(await readDeliveries(emulator.url)).toEqual([]);
});
