/**
 * The emulator speaks Google Calendar v3 as the client needs it: Google's error bodies, page
 * tokens, showDeleted, ANDed private extended property filters, time windows, incremental sync
 * with 410 Gone, and inserts/updates with client-chosen base32hex ids. Checked through the
 * typed client where it has a method, and with raw fetch where the body shape is the point.
 */
import { createSeedWorld, SEED_CALENDAR_ID } from '../../../lib/seed';
import type { SeedWorld } from '../../../lib/seed';
import { VendorError } from '../../../lib/vendor-error';
import { startGoogleCalendarEmulator } from '../emulator/server';
import type { GoogleCalendarEmulator } from '../emulator/server';
import { createGoogleCalendarClient, isFullSyncRequired } from '../../../lib/vendors/google-calendar';
import type { GoogleCalendarClient, GoogleEventInput } from '../../../lib/vendors/google-calendar';
import { TOKEN } from './calendar-stack';

const CALENDAR_PATH = `/calendar/v3/calendars/${encodeURIComponent(SEED_CALENDAR_ID)}/events`;

describe('Google Calendar emulator', () => {
  let world: SeedWorld;
  let emulator: GoogleCalendarEmulator;
  let client: GoogleCalendarClient;

  const raw = (path: string, init: RequestInit = {}) =>
    fetch(`${emulator.url}${path}`, { ...init, headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json', ...init.headers } });

  /** The VendorError a rejected promise carries. */
  const failure = (promise: Promise<unknown>) =>
    promise.then(
      () => {
        throw new Error('expected a failure');
      },
      (error: unknown) => error as VendorError,
    );

  beforeAll(async () => {
    world = createSeedWorld({ patients: 60, seed: 42 });
    emulator = await startGoogleCalendarEmulator({ world, token: TOKEN });
    client = createGoogleCalendarClient({ baseUrl: emulator.url, token: TOKEN, calendarId: SEED_CALENDAR_ID, timeoutMs: 5000 });
  });
  afterAll(() => emulator?.stop());

  it("answers a wrong token with Google's 401 body", async () => {
    const response = await raw(CALENDAR_PATH, { headers: { authorization: 'Bearer wrong' } });
    expect(response.status).toBe(401);
    const body = (await response.json()) as { error: Record<string, unknown> };
    expect(body.error).toMatchObject({
      code: 401,
      status: 'UNAUTHENTICATED',
      errors: [{ domain: 'global', reason: 'authError', location: 'Authorization', locationType: 'header' }],
    });
    expect(body.error.message).toMatch(/^Request had invalid authentication credentials/);
  });

  it("answers an unknown event or calendar with Google's 404 body", async () => {
    const notFound = { error: { code: 404, message: 'Not Found', errors: [{ domain: 'global', reason: 'notFound', message: 'Not Found' }] } };
    const unknownEvent = await raw(`${CALENDAR_PATH}/sembleunknown`);
    expect(unknownEvent.status).toBe(404);
    expect(await unknownEvent.json()).toEqual(notFound);
    const unknownCalendar = await raw('/calendar/v3/calendars/someone-else%40example.com/events');
    expect(unknownCalendar.status).toBe(404);
    expect(await unknownCalendar.json()).toEqual(notFound);
    expect(await client.getEvent('sembleunknown')).toBeNull();
  });

  it('hides cancelled events unless showDeleted=true, and pages with nextPageToken', async () => {
    const live = world.calendarEvents.filter((event) => event.status !== 'cancelled');
    const first = await client.listEvents();
    expect(first).toMatchObject({ kind: 'calendar#events', summary: SEED_CALENDAR_ID, timeZone: 'Europe/London' });
    expect(first.items.length).toBe(Math.min(250, live.length));

    const visible = await client.listAllEvents({ maxResults: 25 });
    expect(visible.pages).toBe(Math.ceil(live.length / 25));
    expect(visible.items.map((event) => event.id)).toEqual(live.map((event) => event.id));
    expect(visible.nextSyncToken).toEqual(expect.any(String));

    const all = await client.listAllEvents({ maxResults: 40, showDeleted: true });
    expect(all.items.map((event) => event.id)).toEqual(world.calendarEvents.map((event) => event.id));
  });

  it('serves events in the wire format, times in the calendar zone with an offset', async () => {
    const seed = world.calendarEvents[0]!;
    const event = await client.getEvent(seed.id);
    expect(event).toMatchObject({
      kind: 'calendar#event',
      id: seed.id,
      etag: seed.etag,
      status: seed.status,
      summary: seed.summary,
      updated: seed.updated,
      start: { timeZone: 'Europe/London' },
      extendedProperties: { private: { sembleBookingId: seed.bookingId } },
    });
    expect(event!.start.dateTime).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(Z|[+-]\d{2}:\d{2})$/);
    expect(Date.parse(event!.start.dateTime!)).toBe(Date.parse(seed.start));
    expect(Date.parse(event!.end.dateTime!)).toBe(Date.parse(seed.end));
  });

  it('filters by private extended properties, ANDed like Google', async () => {
    const seed = world.calendarEvents[2]!;
    const match = await client.listEvents({ privateExtendedProperty: { sembleBookingId: seed.bookingId }, showDeleted: true });
    expect(match.items.map((event) => event.id)).toEqual([seed.id]);
    const query = new URLSearchParams([
      ['privateExtendedProperty', `sembleBookingId=${seed.bookingId}`],
      ['privateExtendedProperty', 'other=value'],
      ['showDeleted', 'true'],
    ]);
    const both = (await (await raw(`${CALENDAR_PATH}?${query}`)).json()) as { items: unknown[] };
    expect(both.items).toEqual([]);
  });

  it('lists the events overlapping [timeMin, timeMax), ordered by start when asked', async () => {
    const timeMin = '2025-06-01T00:00:00Z';
    const timeMax = '2025-07-01T00:00:00+01:00';
    const expected = world.calendarEvents
      .filter((event) => event.status !== 'cancelled' && Date.parse(event.end) > Date.parse(timeMin) && Date.parse(event.start) < Date.parse(timeMax))
      .sort((a, b) => Date.parse(a.start) - Date.parse(b.start));
    expect(expected.length).toBeGreaterThan(0);
    const listed = await client.listEvents({ timeMin, timeMax, singleEvents: true, orderBy: 'startTime' });
    expect(listed.items.map((event) => event.id)).toEqual(expected.map((event) => event.id));

    const unordered = await failure(client.listEvents({ orderBy: 'startTime' }));
    expect(unordered.status).toBe(400);
    const badTime = await raw(`${CALENDAR_PATH}?timeMin=2025-06-01`);
    expect(badTime.status).toBe(400);
    expect(await badTime.json()).toMatchObject({ error: { code: 400, errors: [{ domain: 'global', reason: 'invalid' }] } });
  });

  it('inserts with a client-chosen id, refuses a duplicate (409) and a non-base32hex id (400)', async () => {
    const event: GoogleEventInput = {
      id: 'sembletest0001',
      summary: 'Follow-up',
      start: { dateTime: '2026-01-05T09:00:00Z', timeZone: 'Europe/London' },
      end: { dateTime: '2026-01-05T09:30:00Z', timeZone: 'Europe/London' },
      extendedProperties: { private: { sembleBookingId: 'test0001' } },
    };
    const created = await client.insertEvent(event);
    expect(created).toMatchObject({ kind: 'calendar#event', id: 'sembletest0001', status: 'confirmed', summary: 'Follow-up' });
    expect(await client.getEvent('sembletest0001')).toEqual(created);

    const duplicate = await raw(CALENDAR_PATH, { method: 'POST', body: JSON.stringify(event) });
    expect(duplicate.status).toBe(409);
    expect(await duplicate.json()).toMatchObject({ error: { code: 409, errors: [{ domain: 'global', reason: 'duplicate' }] } });

    for (const id of ['semble_with_underscore', 'WXYZ12345', 'abc', 'sembleXYZ']) {
      const invalid = await raw(CALENDAR_PATH, { method: 'POST', body: JSON.stringify({ ...event, id }) });
      expect(invalid.status).toBe(400);
      expect(await invalid.json()).toMatchObject({ error: { code: 400, message: 'Invalid resource id value.', errors: [{ reason: 'invalid' }] } });
    }
    const throughClient = await failure(client.insertEvent({ ...event, id: 'not base32hex!' }));
    expect(throughClient).toBeInstanceOf(VendorError);
    expect(throughClient.status).toBe(400);

    const missingEnd = await raw(CALENDAR_PATH, { method: 'POST', body: JSON.stringify({ id: 'sembletest0002', start: event.start }) });
    expect(missingEnd.status).toBe(400);
    expect(await missingEnd.json()).toMatchObject({ error: { errors: [{ reason: 'required' }] } });
  });

  it('updates an event in place: new etag and updated, 404 for an unknown id', async () => {
    const seed = world.calendarEvents[1]!;
    const before = (await client.getEvent(seed.id))!;
    const updated = await client.updateEvent(seed.id, { ...before, status: 'tentative', summary: 'Moved' });
    expect(updated).toMatchObject({ id: seed.id, status: 'tentative', summary: 'Moved', sequence: 1 });
    expect(updated.etag).not.toBe(before.etag);
    expect(updated.updated > before.updated).toBe(true);
    const missing = await failure(client.updateEvent('sembleunknown', { start: before.start, end: before.end }));
    expect(missing.status).toBe(404);
  });

  it('answers a sync token with only what changed since, and 410 Gone for an unknown or expired one', async () => {
    const full = await client.listAllEvents({ showDeleted: true, maxResults: 2500 });
    const token = full.nextSyncToken!;
    expect(token).toEqual(expect.any(String));

    const quiet = await client.listEvents({ syncToken: token });
    expect(quiet.items).toEqual([]);

    const seed = world.calendarEvents[5]!;
    const current = (await client.getEvent(seed.id))!;
    // A cancellation is a change too: incremental answers include cancelled events.
    await client.updateEvent(seed.id, { ...current, status: 'cancelled' });
    const changed = await client.listEvents({ syncToken: token });
    expect(changed.items.map((event) => [event.id, event.status])).toEqual([[seed.id, 'cancelled']]);
    expect(changed.nextSyncToken).toEqual(expect.any(String));

    const combined = await failure(client.listEvents({ syncToken: token, timeMin: '2025-01-01T00:00:00Z' }));
    expect(combined.status).toBe(400);

    const unknown = await raw(`${CALENDAR_PATH}?syncToken=made-up`);
    expect(unknown.status).toBe(410);
    expect(await unknown.json()).toEqual({
      error: {
        code: 410,
        message: 'Sync token is no longer valid, a full sync is required.',
        errors: [{ domain: 'global', reason: 'fullSyncRequired', message: 'Sync token is no longer valid, a full sync is required.' }],
      },
    });

    emulator.store.expireSyncTokens();
    const expired = await failure(client.listEvents({ syncToken: token }));
    expect(expired.status).toBe(410);
    expect(isFullSyncRequired(expired)).toBe(true);
  });
});
