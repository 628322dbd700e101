/**
 * An event changed in the Calendar UI (admin route) is announced to a real receiver as Google
 * does it: a bodiless POST with the channel's X-Goog-* headers and token, message numbers
 * growing per channel, retried when the receiver fails; the change reads back through the API
 * and shows up in an incremental sync.
 */
import { readEmulatorConfig } from '../../../lib/emulator-main';
import { createSeedWorld, SEED_CALENDAR_ID } from '../../../lib/seed';
import { verifyGoogleCalendarPush } from '../../../lib/webhooks';
import { readDeliveries, startRecordingReceiver, waitForDeliveries } from '../../../lib/webhooks/recording-receiver';
import type { RecordingReceiver } from '../../../lib/webhooks/recording-receiver';
import { startGoogleCalendarEmulator } from '../emulator/server';
import { entrypoint as googleCalendarEmulatorEntry } from '../emulator/main';
import type { GoogleCalendarEmulator } from '../emulator/server';
import type { GoogleEvent, GoogleEventList } from '../../../lib/vendors/google-calendar';

const TOKEN = 'google-push-test-token';
const CHANNEL_ID = 'sync-channel-1';
const CHANNEL_TOKEN = 'channel-token-for-tests';
const EVENTS_PATH = `/calendar/v3/calendars/${encodeURIComponent(SEED_CALENDAR_ID)}/events`;

describe('Google Calendar push notifications', () => {
  const world = createSeedWorld({ patients: 40, seed: 13 });
  let receiver: RecordingReceiver;
  let emulator: GoogleCalendarEmulator;

  const api = async <T>(path: string): Promise<T> => {
    const response = await fetch(`${emulator.url}${path}`, { headers: { authorization: `Bearer ${TOKEN}` } });
    return (await response.json()) as T;
  };
  const patchEvent = (eventId: string, body: unknown, calendarId = SEED_CALENDAR_ID) =>
    fetch(`${emulator.url}/__admin/events/${encodeURIComponent(calendarId)}/${eventId}`, {
      method: 'PATCH',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
  const verify = (headers: RecordingReceiver['received'][number]['headers']) => verifyGoogleCalendarPush({ headers, token: CHANNEL_TOKEN });

  beforeEach(async () => {
    receiver = await startRecordingReceiver('/webhooks/google-calendar');
    emulator = await startGoogleCalendarEmulator({
      world,
      token: TOKEN,
      webhook: { url: receiver.url, channelId: CHANNEL_ID, token: CHANNEL_TOKEN, retryDelaysMs: [20, 40, 80] },
    });
  });
  afterEach(async () => {
    await emulator.stop();
    await receiver.stop();
  });

  it('PATCH /__admin/events updates the event and POSTs a bodiless push with the channel headers', async () => {
    const seed = world.calendarEvents[0]!;
    const full = await api<GoogleEventList>(`${EVENTS_PATH}?maxResults=2500&showDeleted=true`);
    expect(full.nextSyncToken).toEqual(expect.any(String));

    const response = await patchEvent(seed.id, { summary: 'Moved by reception', start: '2031-05-06T09:00:00Z', end: '2031-05-06T09:30:00Z' });
    expect(response.status).toBe(200);
    const event = (await response.json()) as GoogleEvent;
    expect(event).toMatchObject({ id: seed.id, summary: 'Moved by reception', start: { dateTime: '2031-05-06T10:00:00+01:00' } });
    expect(event.etag).not.toBe(seed.etag);
    expect(event.updated > seed.updated).toBe(true);

    const [hook] = await receiver.waitFor(1);
    expect(hook!.method).toBe('POST');
    expect(hook!.path).toBe('/webhooks/google-calendar');
    expect(hook!.body).toHaveLength(0);
    expect(hook!.headers).toMatchObject({
      'x-goog-channel-id': CHANNEL_ID,
      'x-goog-channel-token': CHANNEL_TOKEN,
      'x-goog-resource-state': 'exists',
      'x-goog-resource-id': expect.any(String),
      'x-goog-message-number': expect.stringMatching(/^\d+$/),
      'x-goog-resource-uri': `https://www.googleapis.com/calendar/v3/calendars/${encodeURIComponent(SEED_CALENDAR_ID)}/events?alt=json`,
      'x-goog-channel-expiration': expect.any(String),
    });
    const verified = verify(hook!.headers);
    expect(verified).toMatchObject({ ok: true, notification: { channelId: CHANNEL_ID, resourceState: 'exists' } });
    if (verified.ok) expect(verified.eventId).toBe(`${CHANNEL_ID}:${hook!.headers['x-goog-message-number']}`);
    expect(verifyGoogleCalendarPush({ headers: hook!.headers, token: 'another-token' })).toEqual({ ok: false, reason: 'BAD_SIGNATURE' });

    expect(await api<GoogleEvent>(`${EVENTS_PATH}/${seed.id}`)).toEqual(event);
    const changes = await api<GoogleEventList>(`${EVENTS_PATH}?syncToken=${encodeURIComponent(full.nextSyncToken!)}`);
    expect(changes.items).toEqual([event]);
  });

  it('numbers messages upwards per channel and announces cancellations', async () => {
    const [first, second] = world.calendarEvents;
    expect((await patchEvent(first!.id, { summary: 'One' })).status).toBe(200);
    const cancelled = await patchEvent(second!.id, { status: 'cancelled' });
    expect(((await cancelled.json()) as GoogleEvent).status).toBe('cancelled');
    const hooks = await receiver.waitFor(2);
    const numbers = hooks.map((hook) => Number(hook.headers['x-goog-message-number']));
    expect(numbers[1]).toBeGreaterThan(numbers[0]!);
    for (const hook of hooks) expect(verify(hook.headers).ok).toBe(true);
  });

  it('retries a receiver answering 500 with the same message', async () => {
    receiver.respondWith((count) => (count <= 2 ? 500 : 200));
    expect((await patchEvent(world.calendarEvents[2]!.id, { summary: 'Retried' })).status).toBe(200);
    const hooks = await receiver.waitFor(3);
    expect(new Set(hooks.map((hook) => hook.headers['x-goog-message-number'])).size).toBe(1);
    const deliveries = await waitForDeliveries(emulator.url, (list) => list[0]?.status === 'delivered');
    expect(deliveries).toEqual([expect.objectContaining({ url: receiver.url, event: 'exists', attempts: 3 })]);
  });

  it("refuses unknown events and invalid changes with Google's error body, sending nothing", async () => {
    const seed = world.calendarEvents[3]!;
    expect((await patchEvent('nosuchevent', { summary: 'x' })).status).toBe(404);
    expect((await patchEvent(seed.id, { status: 'postponed' })).status).toBe(400);
    const backwards = await patchEvent(seed.id, { start: '2031-01-01T10:00:00Z', end: '2031-01-01T09:00:00Z' });
    expect(backwards.status).toBe(400);
    expect(((await backwards.json()) as { error: { errors: Array<{ reason: string }> } }).error.errors[0]!.reason).toBe('timeRangeEmpty');
    expect((await patchEvent(seed.id, { start: 'tomorrow' })).status).toBe(400);
    expect(receiver.received).toHaveLength(0);
    expect(await readDeliveries(emulator.url)).toEqual([]);
  });
});

describe('Google Calendar emulator without a channel', () => {
  it('applies changes and sends nothing', async () => {
    const world = createSeedWorld({ patients: 10, seed: 13 });
    const receiver = await startRecordingReceiver();
    const emulator = await startGoogleCalendarEmulator({ world, token: TOKEN });
    try {
      const seed = world.calendarEvents[0]!;
      const response = await fetch(`${emulator.url}/__admin/events/${encodeURIComponent(seed.calendarId)}/${seed.id}`, {
        method: 'PATCH',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ summary: 'Quiet change' }),
      });
      expect(response.status).toBe(200);
      expect(emulator.store.calendars.get(seed.calendarId)!.events.get(seed.id)!.event.summary).toBe('Quiet change');
      expect(await readDeliveries(emulator.url)).toEqual([]);
      expect(receiver.received).toHaveLength(0);
    } finally {
      await emulator.stop();
      await receiver.stop();
    }
  });
});

describe('Google Calendar emulator webhook settings', () => {
  it('reads GOOGLE_CALENDAR_WEBHOOK_URL and GOOGLE_CALENDAR_CHANNEL_TOKEN from the environment (a numeric-looking secret stays text)', async () => {
    const receiver = await startRecordingReceiver();
    const config = readEmulatorConfig(googleCalendarEmulatorEntry, { GOOGLE_CALENDAR_WEBHOOK_URL: receiver.url, GOOGLE_CALENDAR_CHANNEL_TOKEN: '987654', GOOGLE_CALENDAR_CHANNEL_ID: 'env-channel', SEED_PATIENTS: '20' });
    const world = createSeedWorld({ patients: config.patients, seed: config.seed });
    const running = await googleCalendarEmulatorEntry.start({ world, token: config.token, port: 0, host: '127.0.0.1' }, config.extra);
    try {
      const seed = world.calendarEvents[0]!;
      expect((await fetch(`${running.url}/__admin/events/${encodeURIComponent(seed.calendarId)}/${seed.id}`, { method: 'PATCH', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ summary: 'Env' }) })).status).toBe(200);
      const [hook] = await receiver.waitFor(1);
      expect(verifyGoogleCalendarPush({ headers: hook!.headers, token: (channelId) => (channelId === 'env-channel' ? '987654' : undefined) }).ok).toBe(true);
    } finally {
      await running.stop();
      await receiver.stop();
    }
  });

  it('sends nothing without GOOGLE_CALENDAR_WEBHOOK_URL, and refuses a malformed one naming the variable', () => {
    expect(readEmulatorConfig(googleCalendarEmulatorEntry, {}).extra.webhookUrl).toBeUndefined();
    expect(() => readEmulatorConfig(googleCalendarEmulatorEntry, { GOOGLE_CALENDAR_WEBHOOK_URL: 'not a url' })).toThrow(/GOOGLE_CALENDAR_WEBHOOK_URL: expected an http\(s\) URL/);
  });
});
