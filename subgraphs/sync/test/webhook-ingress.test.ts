/**
 * Webhook ingress end to end over real HTTP: each vendor's correctly signed delivery becomes
 * exactly one sync-inbox event with the right items; a bad, stale or missing signature is
 * refused with 401 and leaves the bus untouched; a replay is answered as a duplicate and not
 * published again. HubSpot and Stripe deliveries come from the real emulators' admin APIs.
 * With the bus down, deliveries are refused with 503 (never acknowledged) and the vendor's
 * retry, once the bus is back, is published exactly once.
 */
import { createMemoryEventBus, createRedisEventBus } from '../../../lib/event-bus';
import type { EventBus } from '../../../lib/event-bus';
import { REDIS_URL, deleteKeys, uniqueKeyPrefix } from '../../../lib/event-bus/test/redis-keys';
import { startTcpProxy, unusedPort } from '../../../lib/event-bus/test/tcp-proxy';
import { createSeedWorld } from '../../../lib/seed';
import {
  signGoCardless,
  signGoogleCalendarPush,
  signHubSpotV3,
  signSemble,
  signStripe,
} from '../../../lib/webhooks';
import { waitForDeliveries } from '../../../lib/webhooks/recording-receiver';
import { startHubSpotEmulator } from '../../crm/emulator/server';
import type { HubSpotEmulator } from '../../crm/emulator/server';
import { startStripeEmulator } from '../../payments/emulator/server';
import type { StripeEmulator } from '../../payments/emulator/server';
import { INBOX_TOPIC } from '../src/inbox';
import { createMemoryWebhookDedupe, createRedisWebhookDedupe } from '../src/webhooks';
import type { WebhookDedupe } from '../src/webhooks';
import { SECRETS, startIngress } from './webhook-harness';
import type { Ingress } from './webhook-harness';

const world = createSeedWorld({ patients: 30, seed: 11 });
const HUBSPOT_TOKEN = 'hubspot-ingress-token';
const STRIPE_KEY = 'sk_test_ingress';
const TEN_MINUTES_MS = 10 * 60 * 1000;

const disposers: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const dispose of disposers.splice(0).reverse()) await dispose();
});

/** Memory bus and dedupe. */
async function memoryIngress(options: { secrets?: Parameters<typeof startIngress>[0]['secrets'] } = {}) {
  const bus = createMemoryEventBus();
  const dedupe = createMemoryWebhookDedupe();
  const ingress = await startIngress({ bus, dedupe, ...options });
  disposers.push(async () => {
    await ingress.stop();
    await dedupe.close();
    await bus.close();
  });
  return { ingress };
}

function hubspotDelivery(ingress: Ingress, events: unknown[], options: { timestamp?: number; secret?: string; uri?: string } = {}) {
  const body = JSON.stringify(events);
  const headers = {
    'content-type': 'application/json',
    ...signHubSpotV3({
      clientSecret: options.secret ?? SECRETS.hubspotClientSecret[0],
      method: 'POST',
      uri: options.uri ?? `${ingress.url}/webhooks/hubspot`,
      body,
      timestamp: options.timestamp ?? Date.now(),
    }),
  };
  return { headers, body };
}

const hubspotEvent = (eventId: number, objectId = '1001') => ({
  eventId,
  subscriptionId: 2641543,
  portalId: 62515,
  appId: 1160452,
  occurredAt: 1_700_000_000_000,
  subscriptionType: 'contact.propertyChange',
  attemptNumber: 0,
  objectId: Number(objectId),
  propertyName: 'lifecyclestage',
  propertyValue: 'customer',
  changeSource: 'CRM_UI',
});

function stripeDelivery(event: { id: string; type: string; objectId: string }, options: { timestamp?: number; secret?: string } = {}) {
  const body = JSON.stringify({
    id: event.id,
    object: 'event',
    type: event.type,
    created: Math.floor(Date.now() / 1000),
    data: { object: { id: event.objectId, object: 'payment_intent', status: 'succeeded' } },
  });
  const headers = {
    'content-type': 'application/json',
    ...signStripe({
      secret: options.secret ?? SECRETS.stripeWebhookSecret[0],
      body,
      timestamp: options.timestamp ?? Math.floor(Date.now() / 1000),
    }),
  };
  return { headers, body };
}

async function startHubSpot(ingress: Ingress, retryDelaysMs: number[] = [50, 100]): Promise<HubSpotEmulator> {
  const emulator = await startHubSpotEmulator({
    world,
    token: HUBSPOT_TOKEN,
    rateLimit: { max: 10_000 },
    webhook: { url: `${ingress.url}/webhooks/hubspot`, secret: SECRETS.hubspotClientSecret[0], retryDelaysMs },
  });
  disposers.push(() => emulator.stop());
  return emulator;
}

async function startStripe(ingress: Ingress): Promise<StripeEmulator> {
  const emulator = await startStripeEmulator({
    world,
    token: STRIPE_KEY,
    webhook: { url: `${ingress.url}/webhooks/stripe`, secret: SECRETS.stripeWebhookSecret[0], retryDelaysMs: [50, 100] },
  });
  disposers.push(() => emulator.stop());
  return emulator;
}

const patchContact = (emulator: HubSpotEmulator, id: string, properties: Record<string, string>) =>
  fetch(`${emulator.url}/__admin/contacts/${id}`, {
    method: 'PATCH',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ properties }),
  });

const openIntents = world.paymentIntents.filter((intent) => intent.status !== 'succeeded' && intent.status !== 'canceled');

describe('HubSpot webhooks', () => {
  it('publish a contact change made in the emulator as one inbox event with an item per changed property', async () => {
    const { ingress } = await memoryIngress();
    const emulator = await startHubSpot(ingress);
    const contact = world.contacts[0]!;
    const stage = contact.lifecycleStage === 'evangelist' ? 'other' : 'evangelist';
    const response = await patchContact(emulator, contact.id, { email: 'moved.house@example.org', lifecyclestage: stage });
    expect(response.status).toBe(200);
    const [delivery] = await waitForDeliveries(emulator.url, (deliveries) => deliveries[0]?.status === 'delivered');
    expect(delivery).toMatchObject({ attempts: 1, lastStatusCode: 200 });

    const inbox = await ingress.inbox();
    expect(inbox).toHaveLength(1);
    expect(inbox[0]!.type).toBe('webhook.hubspot');
    expect(new Date(inbox[0]!.payload.receivedAt).toISOString()).toBe(inbox[0]!.payload.receivedAt);
    const items = [...inbox[0]!.payload.items].sort((a, b) =>
      (a as { propertyName: string }).propertyName.localeCompare((b as { propertyName: string }).propertyName),
    );
    expect(items).toEqual([
      {
        vendor: 'hubspot',
        eventId: expect.stringMatching(/^\d+$/),
        subscriptionType: 'contact.propertyChange',
        objectId: contact.id,
        propertyName: 'email',
        propertyValue: 'moved.house@example.org',
        occurredAt: expect.any(Number),
        changeSource: 'CRM_UI',
      },
      expect.objectContaining({ vendor: 'hubspot', objectId: contact.id, propertyName: 'lifecyclestage', propertyValue: stage }),
    ]);
    // Bodies carry personal data: the log says what happened, never what was sent.
    expect(ingress.logs.some((line) => line.includes('"outcome":"published"'))).toBe(true);
    expect(ingress.logs.join('\n')).not.toContain('moved.house@example.org');
  });

  it('publish only the not-yet-seen events of a batch, and answer a fully replayed batch as a duplicate', async () => {
    const { ingress } = await memoryIngress();
    const first = hubspotDelivery(ingress, [hubspotEvent(1), hubspotEvent(2)]);
    expect(await ingress.post('/webhooks/hubspot', first.headers, first.body)).toEqual({
      status: 200,
      body: { duplicate: false, accepted: 2, duplicates: 0 },
    });
    const overlapping = hubspotDelivery(ingress, [hubspotEvent(2), hubspotEvent(3)]);
    expect(await ingress.post('/webhooks/hubspot', overlapping.headers, overlapping.body)).toEqual({
      status: 200,
      body: { duplicate: false, accepted: 1, duplicates: 1 },
    });
    // HubSpot's retry: same events, attempt counted up, signed afresh.
    const retry = hubspotDelivery(ingress, [{ ...hubspotEvent(1), attemptNumber: 1 }, { ...hubspotEvent(2), attemptNumber: 1 }]);
    expect(await ingress.post('/webhooks/hubspot', retry.headers, retry.body)).toEqual({ status: 200, body: { duplicate: true } });

    const inbox = await ingress.inbox();
    expect(inbox.map((event) => event.payload.items.map((item) => (item as { eventId: string }).eventId))).toEqual([
      ['1', '2'],
      ['3'],
    ]);
  });

  it('refuse a bad signature, one over another URL, a stale timestamp and a missing signature with 401, publishing nothing', async () => {
    const { ingress } = await memoryIngress();
    const events = [hubspotEvent(10)];
    const wrongSecret = hubspotDelivery(ingress, events, { secret: 'not-the-secret' });
    const otherUrl = hubspotDelivery(ingress, events, { uri: `${ingress.url}/webhooks/elsewhere` });
    const stale = hubspotDelivery(ingress, events, { timestamp: Date.now() - TEN_MINUTES_MS });
    const valid = hubspotDelivery(ingress, events);
    const tampered = valid.body.replace('customer', 'lead');
    const cases: Array<[Record<string, string>, string, string]> = [
      [wrongSecret.headers, wrongSecret.body, 'BAD_SIGNATURE'],
      [otherUrl.headers, otherUrl.body, 'BAD_SIGNATURE'],
      [valid.headers, tampered, 'BAD_SIGNATURE'],
      [stale.headers, stale.body, 'STALE'],
      [{ 'content-type': 'application/json' }, valid.body, 'MISSING_SIGNATURE'],
    ];
    for (const [headers, body, reason] of cases) {
      expect(await ingress.post('/webhooks/hubspot', headers, body)).toEqual({
        status: 401,
        body: { error: { code: 'WEBHOOK_SIGNATURE_INVALID', reason } },
      });
    }
    expect(await ingress.inbox()).toEqual([]);
    // Nothing was recorded either: the genuine delivery is still accepted as new.
    expect((await ingress.post('/webhooks/hubspot', valid.headers, valid.body)).body).toEqual({
      duplicate: false,
      accepted: 1,
      duplicates: 0,
    });
  });
});

describe('Stripe webhooks', () => {
  it('publish a payment intent moved on in the emulator as one inbox event, and a re-signed retry of it as a duplicate', async () => {
    const { ingress } = await memoryIngress();
    const emulator = await startStripe(ingress);
    const intent = openIntents[0]!;
    const response = await fetch(`${emulator.url}/__admin/payment_intents/${intent.id}/transition`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ status: 'succeeded' }),
    });
    expect(response.status).toBe(200);
    await waitForDeliveries(emulator.url, (deliveries) => deliveries[0]?.status === 'delivered');

    const inbox = await ingress.inbox();
    expect(inbox).toEqual([
      {
        type: 'webhook.stripe',
        payload: {
          receivedAt: expect.any(String),
          items: [{ vendor: 'stripe', eventId: expect.stringMatching(/^evt_/), type: 'payment_intent.succeeded', objectId: intent.id }],
        },
      },
    ]);
    const eventId = (inbox[0]!.payload.items[0] as { eventId: string }).eventId;
    const retry = stripeDelivery({ id: eventId, type: 'payment_intent.succeeded', objectId: intent.id });
    expect(await ingress.post('/webhooks/stripe', retry.headers, retry.body)).toEqual({ status: 200, body: { duplicate: true } });
    expect(await ingress.inbox()).toHaveLength(1);
  });

  it('refuse a bad signature, a stale timestamp and a missing signature with 401, publishing nothing', async () => {
    const { ingress } = await memoryIngress();
    const event = { id: 'evt_refused', type: 'payment_intent.succeeded', objectId: 'pi_1' };
    const wrongSecret = stripeDelivery(event, { secret: 'whsec_wrong' });
    const stale = stripeDelivery(event, { timestamp: Math.floor((Date.now() - TEN_MINUTES_MS) / 1000) });
    for (const [headers, body, reason] of [
      [wrongSecret.headers, wrongSecret.body, 'BAD_SIGNATURE'],
      [stale.headers, stale.body, 'STALE'],
      [{ 'content-type': 'application/json', 'stripe-signature': 'nonsense' }, wrongSecret.body, 'MALFORMED_SIGNATURE'],
      [{ 'content-type': 'application/json' }, wrongSecret.body, 'MISSING_SIGNATURE'],
    ] as const) {
      expect(await ingress.post('/webhooks/stripe', headers, body)).toEqual({
        status: 401,
        body: { error: { code: 'WEBHOOK_SIGNATURE_INVALID', reason } },
      });
    }
    expect(await ingress.inbox()).toEqual([]);
  });
});

describe('GoCardless webhooks', () => {
  const body = JSON.stringify({
    events: [
      { id: 'EV0001', created_at: '2025-01-01T10:00:00.000Z', resource_type: 'payments', action: 'confirmed', links: { payment: 'PM0001' } },
      { id: 'EV0002', created_at: '2025-01-01T10:00:01.000Z', resource_type: 'mandates', action: 'active', links: { mandate: 'MD0001' } },
    ],
  });

  it('publish a signed delivery as one inbox event with an item per event, and its replay as a duplicate', async () => {
    const { ingress } = await memoryIngress();
    const headers = { 'content-type': 'application/json', ...signGoCardless({ secret: SECRETS.goCardlessWebhookSecret[0], body }) };
    expect(await ingress.post('/webhooks/gocardless', headers, body)).toEqual({
      status: 200,
      body: { duplicate: false, accepted: 2, duplicates: 0 },
    });
    expect(await ingress.post('/webhooks/gocardless', headers, body)).toEqual({ status: 200, body: { duplicate: true } });
    expect(await ingress.inbox()).toEqual([
      {
        type: 'webhook.gocardless',
        payload: {
          receivedAt: expect.any(String),
          items: [
            { vendor: 'gocardless', eventId: 'EV0001', resourceType: 'payments', action: 'confirmed', links: { payment: 'PM0001' } },
            { vendor: 'gocardless', eventId: 'EV0002', resourceType: 'mandates', action: 'active', links: { mandate: 'MD0001' } },
          ],
        },
      },
    ]);
  });

  it('refuse a bad or missing signature with 401, publishing nothing (GoCardless signs no timestamp)', async () => {
    const { ingress } = await memoryIngress();
    const wrong = { 'content-type': 'application/json', ...signGoCardless({ secret: 'wrong', body }) };
    expect(await ingress.post('/webhooks/gocardless', wrong, body)).toEqual({
      status: 401,
      body: { error: { code: 'WEBHOOK_SIGNATURE_INVALID', reason: 'BAD_SIGNATURE' } },
    });
    expect((await ingress.post('/webhooks/gocardless', { 'content-type': 'application/json' }, body)).body).toEqual({
      error: { code: 'WEBHOOK_SIGNATURE_INVALID', reason: 'MISSING_SIGNATURE' },
    });
    expect(await ingress.inbox()).toEqual([]);
  });
});

describe('Google Calendar push notifications', () => {
  const channelId = 'channel-test-1';
  const token = SECRETS.googleChannelTokens[channelId];
  const push = (messageNumber: number, resourceState: 'sync' | 'exists' | 'not_exists', overrides: { token?: string; channelId?: string } = {}) =>
    signGoogleCalendarPush({
      channelId: overrides.channelId ?? channelId,
      token: overrides.token ?? token,
      resourceState,
      resourceId: 'resource-1',
      messageNumber,
      resourceUri: 'https://www.googleapis.com/calendar/v3/calendars/clinic%40example.org/events?alt=json',
    });

  it('acknowledge the sync message without publishing, publish a change, and answer its replay as a duplicate', async () => {
    const { ingress } = await memoryIngress();
    expect(await ingress.post('/webhooks/google-calendar', push(1, 'sync'))).toEqual({
      status: 200,
      body: { duplicate: false, accepted: 0 },
    });
    expect(await ingress.inbox()).toEqual([]);

    expect((await ingress.post('/webhooks/google-calendar', push(2, 'exists'))).body).toEqual({
      duplicate: false,
      accepted: 1,
      duplicates: 0,
    });
    expect(await ingress.post('/webhooks/google-calendar', push(2, 'exists'))).toEqual({ status: 200, body: { duplicate: true } });
    expect(await ingress.inbox()).toEqual([
      {
        type: 'webhook.google-calendar',
        payload: {
          receivedAt: expect.any(String),
          items: [
            {
              vendor: 'google-calendar',
              channelId,
              resourceState: 'exists',
              resourceId: 'resource-1',
              messageNumber: '2',
              calendarId: 'clinic@example.org',
            },
          ],
        },
      },
    ]);
  });

  it('refuse a wrong token, a missing token and an unknown channel with 401, publishing nothing', async () => {
    const { ingress } = await memoryIngress();
    const { 'X-Goog-Channel-Token': _dropped, ...tokenless } = push(3, 'exists');
    for (const [headers, reason] of [
      [push(3, 'exists', { token: 'not-the-token' }), 'BAD_SIGNATURE'],
      [tokenless, 'MISSING_SIGNATURE'],
      [push(3, 'exists', { channelId: 'someone-elses-channel' }), 'UNKNOWN_CHANNEL'],
    ] as const) {
      expect(await ingress.post('/webhooks/google-calendar', headers)).toEqual({
        status: 401,
        body: { error: { code: 'WEBHOOK_SIGNATURE_INVALID', reason } },
      });
    }
    expect(await ingress.inbox()).toEqual([]);
  });
});

describe('Semble webhooks', () => {
  const body = JSON.stringify({ eventType: 'PATIENT_UPDATED', data: { id: 'patient-123' } });
  const headers = { 'content-type': 'application/json', ...signSemble({ secret: SECRETS.sembleWebhookSecret[0] }) };

  it('publish every notification, identical ones too: Semble sends no event id, and two real edits send the same body', async () => {
    const { ingress } = await memoryIngress();
    // Two edits of one patient a moment apart (or a retry: nothing on the wire tells them apart).
    expect((await ingress.post('/webhooks/semble', headers, body)).body).toEqual({ duplicate: false, accepted: 1, duplicates: 0 });
    expect((await ingress.post('/webhooks/semble', headers, body)).body).toEqual({ duplicate: false, accepted: 1, duplicates: 0 });

    const item = { vendor: 'semble', eventType: 'PATIENT_UPDATED', id: 'patient-123' };
    expect((await ingress.inbox()).map((event) => event.payload.items)).toEqual([[item], [item]]);
  });

  it('refuse a wrong or missing shared secret with 401, publishing nothing', async () => {
    const { ingress } = await memoryIngress();
    expect(await ingress.post('/webhooks/semble', { 'content-type': 'application/json', ...signSemble({ secret: 'wrong' }) }, body)).toEqual({
      status: 401,
      body: { error: { code: 'WEBHOOK_SIGNATURE_INVALID', reason: 'BAD_SIGNATURE' } },
    });
    expect((await ingress.post('/webhooks/semble', { 'content-type': 'application/json' }, body)).status).toBe(401);
    expect(await ingress.inbox()).toEqual([]);
  });
});

describe('webhook endpoints', () => {
  it('answer 404 for a vendor whose secret is not configured', async () => {
    const { ingress } = await memoryIngress({ secrets: { stripeWebhookSecret: [SECRETS.stripeWebhookSecret[0]], sembleWebhookSecret: [''] } });
    const hubspot = hubspotDelivery(ingress, [hubspotEvent(20)]);
    for (const path of ['/webhooks/hubspot', '/webhooks/gocardless', '/webhooks/google-calendar', '/webhooks/semble']) {
      const answer = await ingress.post(path, hubspot.headers, hubspot.body);
      expect({ path, status: answer.status, code: answer.body.error.code }).toEqual({ path, status: 404, code: 'WEBHOOK_ENDPOINT_DISABLED' });
    }
    expect(await ingress.inbox()).toEqual([]);
  });

  it('refuse a body over the size limit with 413, publishing nothing', async () => {
    const { ingress } = await memoryIngress();
    const huge = hubspotDelivery(ingress, [{ ...hubspotEvent(30), propertyValue: 'x'.repeat(1024 * 1024) }]);
    expect(await ingress.post('/webhooks/hubspot', huge.headers, huge.body)).toEqual({
      status: 413,
      body: { error: { code: 'PAYLOAD_TOO_LARGE', message: 'webhook body too large' } },
    });
    expect(await ingress.inbox()).toEqual([]);
  });

  it('answer an authentic body that is not the vendor shape with 400, publishing nothing', async () => {
    const { ingress } = await memoryIngress();
    const notAnArray = hubspotDelivery(ingress, { not: 'events' } as unknown as unknown[]);
    expect(await ingress.post('/webhooks/hubspot', notAnArray.headers, notAnArray.body)).toEqual({
      status: 400,
      body: { error: { code: 'WEBHOOK_BODY_INVALID', reason: 'MALFORMED_BODY' } },
    });
    expect(await ingress.inbox()).toEqual([]);
  });
});

describe('webhook ingress on Redis', () => {
  const keyPrefix = uniqueKeyPrefix();
  afterAll(() => deleteKeys(keyPrefix));
  const redis = new URL(REDIS_URL);

  let tests = 0;

  async function redisIngress(busUrl: string, dedupeUrl = REDIS_URL) {
    // Keys of their own per test: each test sees only its own inbox and dedupe records.
    const prefix = `${keyPrefix}${(tests += 1)}:`;
    const bus: EventBus = await createRedisEventBus({ url: busUrl, keyPrefix: `${prefix}bus:` });
    const dedupe: WebhookDedupe = createRedisWebhookDedupe({ url: dedupeUrl, keyPrefix: `${prefix}dedupe:` });
    const ingress = await startIngress({ bus, dedupe });
    disposers.push(async () => {
      await ingress.stop();
      await dedupe.close();
      await bus.close();
    });
    return ingress;
  }

  it('answer 503 while the bus is down, and publish the retried delivery exactly once when it is back', async () => {
    // A forwarder to Redis that starts cut: the bus's port has nothing listening.
    const proxy = await startTcpProxy(Number(redis.port || 6379), redis.hostname);
    disposers.push(() => proxy.cut());
    await proxy.cut();
    const ingress = await redisIngress(`redis://127.0.0.1:${proxy.port}`);

    const delivery = stripeDelivery({ id: `evt_bus_down`, type: 'payment_intent.succeeded', objectId: 'pi_down' });
    expect(await ingress.post('/webhooks/stripe', delivery.headers, delivery.body)).toEqual({
      status: 503,
      body: { error: { code: 'WEBHOOK_NOT_ACCEPTED', message: 'event bus unavailable; retry later' } },
    });

    await proxy.restore();
    expect(await ingress.inbox()).toEqual([]); // the refused delivery left nothing behind
    // The vendor retries the same delivery: accepted as new (its id was released), once.
    expect((await ingress.post('/webhooks/stripe', delivery.headers, delivery.body)).body).toEqual({
      duplicate: false,
      accepted: 1,
      duplicates: 0,
    });
    expect(await ingress.post('/webhooks/stripe', delivery.headers, delivery.body)).toEqual({ status: 200, body: { duplicate: true } });
    const inbox = await ingress.bus.read(INBOX_TOPIC, { limit: 100 });
    expect(inbox.map((event) => (event.payload as { items: unknown[] }).items)).toEqual([
      [{ vendor: 'stripe', eventId: `evt_bus_down`, type: 'payment_intent.succeeded', objectId: 'pi_down' }],
    ]);
  });

  it('have the HubSpot emulator retry through a bus outage, and publish its change exactly once', async () => {
    const proxy = await startTcpProxy(Number(redis.port || 6379), redis.hostname);
    disposers.push(() => proxy.cut());
    await proxy.cut();
    const ingress = await redisIngress(`redis://127.0.0.1:${proxy.port}`);
    const emulator = await startHubSpot(ingress, [200, 400, 800, 1600, 3200]);
    const contact = world.contacts[1]!;
    const stage = contact.lifecycleStage === 'evangelist' ? 'other' : 'evangelist';

    expect((await patchContact(emulator, contact.id, { lifecyclestage: stage })).status).toBe(200);
    await waitForDeliveries(emulator.url, ([delivery]) => delivery !== undefined && delivery.attempts >= 1 && delivery.lastStatusCode === 503);
    await proxy.restore();
    const [delivery] = await waitForDeliveries(emulator.url, ([first]) => first?.status === 'delivered', 20_000);
    expect(delivery!.attempts).toBeGreaterThan(1);

    const inbox = await ingress.inbox();
    expect(inbox).toHaveLength(1);
    expect(inbox[0]!.payload.items).toEqual([
      expect.objectContaining({ vendor: 'hubspot', objectId: contact.id, propertyName: 'lifecyclestage', propertyValue: stage }),
    ]);
  });

  it('answer 503 when the dedupe store is down, publishing nothing', async () => {
    const ingress = await redisIngress(REDIS_URL, `redis://127.0.0.1:${await unusedPort()}`);
    const delivery = stripeDelivery({ id: 'evt_dedupe_down', type: 'payment_intent.succeeded', objectId: 'pi_x' });
    expect(await ingress.post('/webhooks/stripe', delivery.headers, delivery.body)).toEqual({
      status: 503,
      body: { error: { code: 'WEBHOOK_NOT_ACCEPTED', message: 'dedupe store unavailable; retry later' } },
    });
    expect(await ingress.inbox()).toEqual([]);
  });
});
