/**
 * Contact changes in HubSpot's UI (admin route) and through batch/upsert reach a real receiver
 * as HubSpot sends them: a JSON array of contact.propertyChange events, signed with signature
 * v3 over the URL called, retried with attemptNumber counting up; the change is visible
 * through the CRM API either way.
 */
import { readEmulatorConfig } from '../../../lib/emulator-main';
import { createSeedWorld } from '../../../lib/seed';
import { verifyHubSpotV3 } from '../../../lib/webhooks';
import type { HubSpotWebhookEvent } from '../../../lib/webhooks';
import { readDeliveries, startRecordingReceiver, waitForDeliveries } from '../../../lib/webhooks/recording-receiver';
import type { ReceivedWebhook, RecordingReceiver } from '../../../lib/webhooks/recording-receiver';
import { startHubSpotEmulator } from '../emulator/server';
import { entrypoint as hubSpotEmulatorEntry } from '../emulator/main';
import type { HubSpotEmulator } from '../emulator/server';

const TOKEN = 'hubspot-webhook-test-token';
const CLIENT_SECRET = 'hubspot-webhook-client-secret';

describe('HubSpot webhooks', () => {
  const world = createSeedWorld({ patients: 30, seed: 5 });
  let receiver: RecordingReceiver;
  let emulator: HubSpotEmulator;

  const api = async (method: string, path: string, body?: unknown) => {
    const response = await fetch(`${emulator.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: response.status, body: (await response.json()) as any };
  };
  const patchContact = (id: string, body: unknown) =>
    fetch(`${emulator.url}/__admin/contacts/${id}`, { method: 'PATCH', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const verify = (hook: ReceivedWebhook) =>
    verifyHubSpotV3({ headers: hook.headers, method: hook.method, uri: receiver.url, body: hook.body, clientSecret: CLIENT_SECRET });
  const eventsOf = (hook: ReceivedWebhook) => JSON.parse(hook.body.toString()) as HubSpotWebhookEvent[];

  beforeEach(async () => {
    receiver = await startRecordingReceiver('/webhooks/hubspot?portal=62515');
    emulator = await startHubSpotEmulator({
      world,
      token: TOKEN,
      rateLimit: { max: 10_000 },
      webhook: { url: receiver.url, secret: CLIENT_SECRET, retryDelaysMs: [20, 40, 80] },
    });
  });
  afterEach(async () => {
    await emulator.stop();
    await receiver.stop();
  });

  it('PATCH /__admin/contacts/:id sends one signed contact.propertyChange per changed property, from CRM_UI', async () => {
    const contact = world.contacts[0]!;
    const response = await patchContact(contact.id, {
      properties: { email: 'changed@example.org', phone: '+447700900555', firstname: contact.firstName },
    });
    expect(response.status).toBe(200);
    const record = (await response.json()) as { properties: Record<string, string> };
    expect(record.properties).toMatchObject({ email: 'changed@example.org', phone: '+447700900555' });
    expect(record.properties.lastmodifieddate! > contact.updatedAt).toBe(true);

    const [hook] = await receiver.waitFor(1);
    expect(hook!.method).toBe('POST');
    expect(hook!.path).toBe('/webhooks/hubspot?portal=62515');
    expect(hook!.headers['content-type']).toBe('application/json');
    expect(hook!.headers['x-hubspot-signature-v3']).toEqual(expect.any(String));
    expect(Number(hook!.headers['x-hubspot-request-timestamp'])).toBeGreaterThan(0);
    const verified = verify(hook!);
    expect(verified.ok).toBe(true);
    expect(verifyHubSpotV3({ headers: hook!.headers, method: 'POST', uri: receiver.url, body: hook!.body, clientSecret: 'wrong' })).toEqual({ ok: false, reason: 'BAD_SIGNATURE' });

    const events = eventsOf(hook!);
    // The unchanged first name is not an event.
    expect(events.map((e) => [e.propertyName, e.propertyValue])).toEqual([
      ['email', 'changed@example.org'],
      ['phone', '+447700900555'],
    ]);
    for (const event of events) {
      expect(event).toEqual({
        eventId: expect.any(Number),
        subscriptionId: expect.any(Number),
        portalId: 62515,
        appId: expect.any(Number),
        occurredAt: expect.any(Number),
        subscriptionType: 'contact.propertyChange',
        attemptNumber: 0,
        objectId: Number(contact.id),
        propertyName: expect.any(String),
        propertyValue: expect.any(String),
        changeSource: 'CRM_UI',
      });
    }
    expect(new Set(events.map((e) => e.eventId)).size).toBe(2);
    if (verified.ok) expect(verified.eventIds).toEqual(events.map((e) => String(e.eventId)));

    const read = await api('GET', `/crm/v3/objects/contacts/${contact.id}?properties=email,phone,lastmodifieddate`);
    expect(read.body.properties).toMatchObject({ email: 'changed@example.org', phone: '+447700900555', lastmodifieddate: record.properties.lastmodifieddate });
  });

  it('batch/upsert sends propertyChange events from INTEGRATION for changed and new contacts', async () => {
    const contact = world.contacts[1]!;
    const stage = contact.lifecycleStage === 'customer' ? 'evangelist' : 'customer';
    const answer = await api('POST', '/crm/v3/objects/contacts/batch/upsert', {
      inputs: [
        { id: contact.patientId, idProperty: 'semble_patient_id', properties: { lifecyclestage: stage, email: contact.email } },
        { id: 'new-patient-1', idProperty: 'semble_patient_id', properties: { email: 'new@example.org', firstname: 'New' } },
      ],
    });
    expect(answer.status).toBe(200);
    const newId = answer.body.results.find((r: { new: boolean }) => r.new).id as string;
    const [hook] = await receiver.waitFor(1);
    expect(verify(hook!).ok).toBe(true);
    const events = eventsOf(hook!);
    expect(events.every((e) => e.changeSource === 'INTEGRATION' && e.attemptNumber === 0)).toBe(true);
    const changes = events.map((e) => [e.objectId, e.propertyName, e.propertyValue]);
    expect(changes).toContainEqual([Number(contact.id), 'lifecyclestage', stage]);
    expect(changes).not.toContainEqual([Number(contact.id), 'email', contact.email]);
    expect(changes).toEqual(
      expect.arrayContaining([
        [Number(newId), 'email', 'new@example.org'],
        [Number(newId), 'firstname', 'New'],
        [Number(newId), 'semble_patient_id', 'new-patient-1'],
      ]),
    );
  });

  it('retries a receiver answering 500 with attemptNumber counting up, each attempt freshly signed', async () => {
    receiver.respondWith((count) => (count <= 2 ? 500 : 204));
    const contact = world.contacts[2]!;
    const stage = contact.lifecycleStage === 'evangelist' ? 'customer' : 'evangelist';
    expect((await patchContact(contact.id, { properties: { lifecyclestage: stage } })).status).toBe(200);
    const hooks = await receiver.waitFor(3);
    expect(hooks.map((h) => eventsOf(h)[0]!.attemptNumber)).toEqual([0, 1, 2]);
    expect(new Set(hooks.map((h) => eventsOf(h)[0]!.eventId)).size).toBe(1);
    for (const hook of hooks) expect(verify(hook).ok).toBe(true);
    const deliveries = await waitForDeliveries(emulator.url, (list) => list[0]?.status === 'delivered');
    expect(deliveries).toEqual([expect.objectContaining({ url: receiver.url, event: 'contact.propertyChange', attempts: 3, lastStatusCode: 204 })]);
  });

  it('refuses read-only or unknown properties and unknown contacts, sending nothing; no change, no event', async () => {
    const contact = world.contacts[3]!;
    expect((await patchContact(contact.id, { properties: { hs_object_id: '1' } })).status).toBe(400);
    expect((await patchContact(contact.id, { properties: { favourite_colour: 'blue' } })).status).toBe(400);
    expect((await patchContact(contact.id, { email: 'x@example.org' })).status).toBe(400);
    expect((await patchContact('999999999', { properties: { email: 'x@example.org' } })).status).toBe(404);
    const same = await patchContact(contact.id, { properties: { email: contact.email } });
    expect(same.status).toBe(200);
    expect(receiver.received).toHaveLength(0);
    expect(await readDeliveries(emulator.url)).toEqual([]);
  });
});

describe('HubSpot emulator without a webhook URL', () => {
  it('applies changes and sends nothing', async () => {
    const world = createSeedWorld({ patients: 5, seed: 3 });
    const receiver = await startRecordingReceiver();
    const emulator = await startHubSpotEmulator({ world, token: TOKEN });
    try {
      const contact = world.contacts[0]!;
      const response = await fetch(`${emulator.url}/__admin/contacts/${contact.id}`, {
        method: 'PATCH',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ properties: { lifecyclestage: 'other' } }),
      });
      expect(response.status).toBe(200);
      expect(emulator.objects.contacts.get(contact.id)!.properties.lifecyclestage).toBe('other');
      expect(await readDeliveries(emulator.url)).toEqual([]);
      expect(receiver.received).toHaveLength(0);
    } finally {
      await emulator.stop();
      await receiver.stop();
    }
  });
});

describe('HubSpot emulator webhook settings', () => {
  it('reads HUBSPOT_WEBHOOK_URL and HUBSPOT_CLIENT_SECRET from the environment (a numeric-looking secret stays text)', async () => {
    const receiver = await startRecordingReceiver();
    const config = readEmulatorConfig(hubSpotEmulatorEntry, { HUBSPOT_WEBHOOK_URL: receiver.url, HUBSPOT_CLIENT_SECRET: '424242', SEED_PATIENTS: '20' });
    const world = createSeedWorld({ patients: config.patients, seed: config.seed });
    const running = await hubSpotEmulatorEntry.start({ world, token: config.token, port: 0, host: '127.0.0.1' }, config.extra);
    try {
      const contact = world.contacts[0]!;
      const stage = contact.lifecycleStage === 'lead' ? 'customer' : 'lead';
      expect((await fetch(`${running.url}/__admin/contacts/${contact.id}`, { method: 'PATCH', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ properties: { lifecyclestage: stage } }) })).status).toBe(200);
      const [hook] = await receiver.waitFor(1);
      expect(verifyHubSpotV3({ headers: hook!.headers, method: 'POST', uri: receiver.url, body: hook!.body, clientSecret: '424242' }).ok).toBe(true);
    } finally {
      await running.stop();
      await receiver.stop();
    }
  });

  it('sends nothing without HUBSPOT_WEBHOOK_URL, and refuses a malformed one naming the variable', () => {
    expect(readEmulatorConfig(hubSpotEmulatorEntry, {}).extra.webhookUrl).toBeUndefined();
    expect(() => readEmulatorConfig(hubSpotEmulatorEntry, { HUBSPOT_WEBHOOK_URL: 'not a url' })).toThrow(/HUBSPOT_WEBHOOK_URL: expected an http\(s\) URL/);
  });
});
