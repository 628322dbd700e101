/**
 * A payment intent moved on in Stripe (admin transition) reaches a real receiver as Stripe
 * sends it: a payment_intent.* event with the intent as data.object, signed with
 * Stripe-Signature and re-signed on retries; the new status reads back through the API.
 */
import { readEmulatorConfig } from '../../../lib/emulator-main';
import { createSeedWorld } from '../../../lib/seed';
import { verifyStripe } from '../../../lib/webhooks';
import type { StripeWebhookEvent } from '../../../lib/webhooks';
import { readDeliveries, startRecordingReceiver, waitForDeliveries } from '../../../lib/webhooks/recording-receiver';
import type { RecordingReceiver } from '../../../lib/webhooks/recording-receiver';
import { startStripeEmulator } from '../emulator/server';
import { entrypoint as stripeEmulatorEntry } from '../emulator/main';
import type { StripeEmulator } from '../emulator/server';

const KEY = 'sk_test_webhooks';
const SECRET = 'whsec_webhook_test_secret';

describe('Stripe webhooks', () => {
  const world = createSeedWorld({ patients: 60, seed: 9 });
  const open = world.paymentIntents.filter((p) => p.status !== 'succeeded' && p.status !== 'canceled');
  let receiver: RecordingReceiver;
  let emulator: StripeEmulator;

  const transition = (id: string, status: string) =>
    fetch(`${emulator.url}/__admin/payment_intents/${id}/transition`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ status }),
    });
  const get = async (path: string) => {
    const response = await fetch(`${emulator.url}${path}`, { headers: { authorization: `Bearer ${KEY}` } });
    return { status: response.status, body: (await response.json()) as any };
  };

  beforeEach(async () => {
    receiver = await startRecordingReceiver('/webhooks/stripe');
    emulator = await startStripeEmulator({ world, token: KEY, webhook: { url: receiver.url, secret: SECRET, retryDelaysMs: [20, 40, 80] } });
  });
  afterEach(async () => {
    await emulator.stop();
    await receiver.stop();
  });

  it('sends payment_intent.succeeded, signed with Stripe-Signature, and the intent reads back succeeded', async () => {
    expect(open.length).toBeGreaterThan(3);
    const intent = open[0]!;
    const response = await transition(intent.id, 'succeeded');
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ id: intent.id, object: 'payment_intent', status: 'succeeded' });

    const [hook] = await receiver.waitFor(1);
    expect(hook!.method).toBe('POST');
    expect(hook!.path).toBe('/webhooks/stripe');
    expect(hook!.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(hook!.headers['stripe-signature']).toMatch(/^t=\d+,v1=[0-9a-f]{64}$/);
    const verified = verifyStripe({ headers: hook!.headers, body: hook!.body, secret: SECRET });
    expect(verified.ok).toBe(true);
    expect(verifyStripe({ headers: hook!.headers, body: hook!.body, secret: 'whsec_other' })).toEqual({ ok: false, reason: 'BAD_SIGNATURE' });

    const event = JSON.parse(hook!.body.toString()) as StripeWebhookEvent;
    expect(event).toMatchObject({
      id: expect.stringMatching(/^evt_[0-9a-f]{24}$/),
      object: 'event',
      type: 'payment_intent.succeeded',
      created: expect.any(Number),
      livemode: false,
      data: { object: { id: intent.id, object: 'payment_intent', status: 'succeeded', amount: intent.amount, metadata: { semble_patient_id: intent.patientId } } },
    });
    if (verified.ok) expect(verified.eventId).toBe(event.id);

    expect((await get(`/v1/payment_intents/${intent.id}`)).body.status).toBe('succeeded');
    expect((await get(`/v1/events/${event.id}`)).body).toEqual(event);
  });

  it('names the event after the transition: failed, canceled, processing, requires_action', async () => {
    const cases: Array<[string, string, string]> = [
      ['failed', 'payment_intent.payment_failed', 'requires_payment_method'],
      ['canceled', 'payment_intent.canceled', 'canceled'],
      ['processing', 'payment_intent.processing', 'processing'],
      ['requires_action', 'payment_intent.requires_action', 'requires_action'],
    ];
    const targets = open.filter((p) => !cases.some(([, , status]) => status === p.status)).slice(0, cases.length);
    expect(targets).toHaveLength(cases.length);
    for (const [index, [status]] of cases.entries()) expect((await transition(targets[index]!.id, status)).status).toBe(200);
    const hooks = await receiver.waitFor(cases.length);
    for (const [index, [, type, status]] of cases.entries()) {
      const verified = verifyStripe({ headers: hooks[index]!.headers, body: hooks[index]!.body, secret: SECRET });
      expect(verified).toMatchObject({ ok: true, event: { type, data: { object: { id: targets[index]!.id, status } } } });
    }
    const failed = (await get(`/v1/payment_intents/${targets[0]!.id}`)).body;
    expect(failed).toMatchObject({ status: 'requires_payment_method', last_payment_error: { code: 'card_declined' } });
  });

  it('retries a receiver answering 500 with the same event, signed afresh', async () => {
    receiver.respondWith((count) => (count <= 2 ? 500 : 200));
    const intent = open[1]!;
    expect((await transition(intent.id, 'succeeded')).status).toBe(200);
    const hooks = await receiver.waitFor(3);
    const ids = hooks.map((hook) => {
      const verified = verifyStripe({ headers: hook.headers, body: hook.body, secret: SECRET });
      expect(verified.ok).toBe(true);
      return verified.ok ? verified.eventId : undefined;
    });
    expect(new Set(ids).size).toBe(1);
    const deliveries = await waitForDeliveries(emulator.url, (list) => list[0]?.status === 'delivered');
    expect(deliveries).toEqual([expect.objectContaining({ url: receiver.url, event: 'payment_intent.succeeded', attempts: 3 })]);
  });

  it('refuses unknown statuses and moves out of a final status; only the valid move sends an event', async () => {
    const intent = open[2]!;
    expect((await transition(intent.id, 'refunded')).status).toBe(400);
    expect((await transition('pi_missing', 'succeeded')).status).toBe(404);
    expect((await transition(intent.id, 'canceled')).status).toBe(200);
    const again = await transition(intent.id, 'succeeded');
    expect(again.status).toBe(400);
    expect(((await again.json()) as any).error).toMatchObject({ type: 'invalid_request_error', code: 'payment_intent_unexpected_state' });
    await receiver.waitFor(1);
    expect(receiver.received).toHaveLength(1);
    expect(await readDeliveries(emulator.url)).toHaveLength(1);
  });
});

describe('Stripe emulator without a webhook URL', () => {
  it('applies the transition and sends nothing', async () => {
    const world = createSeedWorld({ patients: 30, seed: 9 });
    const receiver = await startRecordingReceiver();
    const emulator = await startStripeEmulator({ world, token: KEY });
    try {
      const intent = world.paymentIntents.find((p) => p.status !== 'succeeded' && p.status !== 'canceled')!;
      const response = await fetch(`${emulator.url}/__admin/payment_intents/${intent.id}/transition`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ status: 'succeeded' }),
      });
      expect(response.status).toBe(200);
      expect(emulator.store.paymentIntents.get(intent.id)!.status).toBe('succeeded');
      expect(await readDeliveries(emulator.url)).toEqual([]);
      expect(receiver.received).toHaveLength(0);
    } finally {
      await emulator.stop();
      await receiver.stop();
    }
  });
});

describe('Stripe emulator webhook settings', () => {
  it('reads STRIPE_WEBHOOK_URL and STRIPE_WEBHOOK_SECRET from the environment (a numeric-looking secret stays text)', async () => {
    const receiver = await startRecordingReceiver();
    const config = readEmulatorConfig(stripeEmulatorEntry, { STRIPE_WEBHOOK_URL: receiver.url, STRIPE_WEBHOOK_SECRET: '31415926', SEED_PATIENTS: '30', SEED: '9' });
    const world = createSeedWorld({ patients: config.patients, seed: config.seed });
    const running = await stripeEmulatorEntry.start({ world, token: config.token, port: 0, host: '127.0.0.1' }, config.extra);
    try {
      const intent = world.paymentIntents.find((p) => p.status !== 'succeeded' && p.status !== 'canceled')!;
      expect((await fetch(`${running.url}/__admin/payment_intents/${intent.id}/transition`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ status: 'succeeded' }) })).status).toBe(200);
      const [hook] = await receiver.waitFor(1);
      expect(verifyStripe({ headers: hook!.headers, body: hook!.body, secret: '31415926' }).ok).toBe(true);
    } finally {
      await running.stop();
      await receiver.stop();
    }
  });

  it('sends nothing without STRIPE_WEBHOOK_URL, and refuses a malformed one naming the variable', () => {
    expect(readEmulatorConfig(stripeEmulatorEntry, {}).extra.webhookUrl).toBeUndefined();
    expect(() => readEmulatorConfig(stripeEmulatorEntry, { STRIPE_WEBHOOK_URL: 'not a url' })).toThrow(/STRIPE_WEBHOOK_URL: expected an http\(s\) URL/);
  });
});
