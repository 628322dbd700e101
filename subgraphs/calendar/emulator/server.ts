/**
 * A Google Calendar API v3 emulator: the seed world's calendar events served in Google's wire
 * format (paths, Bearer auth, Google's error bodies, page tokens, showDeleted, private extended
 * property filters, sync tokens with 410 Gone). Events live in mutable in-memory Maps so later
 * work can edit them and push notifications; every write moves a revision counter that sync
 * tokens are measured against.
 *
 *   GET  /calendar/v3/calendars/:calendarId/events
 *   GET  /calendar/v3/calendars/:calendarId/events/:eventId
 *   POST /calendar/v3/calendars/:calendarId/events            (insert, client-chosen id)
 *   PUT  /calendar/v3/calendars/:calendarId/events/:eventId   (update, full replacement)
 *   POST /calendar/v3/freeBusy                                 (busy intervals of up to 50 calendars)
 *
 * Besides the clinic calendar (the seed's calendarEvents, mirrors of Semble bookings), every
 * practitioner has a calendar whose id is their email: their private diary (lib/seed's
 * practitionerDiaryEvents), which only freeBusy is used to read.
 *
 * Push notifications: with a `webhook` (a watch channel) configured, a change made in the
 * Calendar UI (the admin route below) is announced as Google does it: a bodiless POST with the
 * X-Goog-* headers (lib/webhooks/google-calendar.ts), X-Goog-Resource-State `exists`, a
 * message number that grows per channel, retried when the receiver fails. The receiver then
 * lists the calendar with its sync token to see what changed.
 *
 *   PATCH /__admin/events/:calendarId/:eventId { summary?, start?, end?, status? } → the updated event
 *   GET   /__admin/webhooks                                                       deliveries so far
 *
 * Emulator simplification: one configured channel covers every calendar (Google has one
 * channel per watched calendar); X-Goog-Resource-URI names the calendar that changed. No
 * `sync` message is sent, as the channel is configured rather than created through events.watch.
 */
import { createHash, randomBytes } from 'node:crypto';
import express from 'express';
import type { Request, Response } from 'express';
import { bearerToken, createEmulatorApp, requireToken } from '../../../lib/emulator';
import { listen } from '../../../lib/listen';
import type { Listening } from '../../../lib/listen';
import { practitionerDiaryEvents } from '../../../lib/seed';
import type { SeedCalendarEvent, SeedDiaryEvent, SeedWorld } from '../../../lib/seed';
import { createAdminFront, createWebhookSender, sendAdminResult, signGoogleCalendarPush } from '../../../lib/webhooks';
import type { WebhookRetryOptions } from '../../../lib/webhooks';
import { FREE_BUSY_MAX_CALENDARS } from '../../../lib/vendors/google-calendar';
import type {
  GoogleBusyInterval,
  GoogleEvent,
  GoogleEventDateTime,
  GoogleEventInput,
  GoogleEventList,
  GoogleEventStatus,
} from '../../../lib/vendors/google-calendar';

/** A watch channel, as events.watch would have created it. */
export interface GoogleCalendarWebhookOptions extends WebhookRetryOptions {
  /** The channel's address: where notifications are POSTed. */
  url: string;
  /** The channel id chosen by the watcher. */
  channelId: string;
  /** The channel token chosen by the watcher, echoed in X-Goog-Channel-Token. */
  token: string;
  /** The opaque id Google gives the watched resource. @default derived from channelId */
  resourceId?: string;
}

export interface GoogleCalendarEmulatorOptions {
  /** The world whose calendarEvents are served, each on its own calendarId. */
  world: SeedWorld;
  /** The only access token accepted (`Authorization: Bearer <token>`). */
  token: string;
  /** @default 0 (any free port) */
  port?: number;
  /** @default 127.0.0.1 */
  host?: string;
  /** The zone calendars report and format event times in. @default Europe/London */
  timeZone?: string;
  /** Send push notifications on changes; without it changes apply and nothing is sent. */
  webhook?: GoogleCalendarWebhookOptions;
}

interface StoredEvent {
  event: GoogleEvent;
  /** Store revision of the last write; sync tokens list what has a higher one. */
  revision: number;
}

export interface StoredCalendar {
  id: string;
  summary: string;
  timeZone: string;
  /** Insertion order is the default list order. */
  events: Map<string, StoredEvent>;
}

export interface GoogleCalendarStore {
  readonly calendars: Map<string, StoredCalendar>;
  /** Write an event as Google does: new etag and `updated`, a new revision. */
  putEvent(calendarId: string, input: GoogleEventInput & { id: string }): GoogleEvent;
  /** A token standing for "everything up to now" on one calendar. */
  issueSyncToken(calendarId: string): string;
  /** The revision a token was issued at, or undefined for an unknown/expired token (→ 410). */
  revisionOfSyncToken(calendarId: string, token: string): number | undefined;
  /** Forget every issued sync token, as Google does when they expire: their next use answers 410. */
  expireSyncTokens(): void;
}

export interface GoogleCalendarEmulator extends Listening {
  store: GoogleCalendarStore;
  counts(): { total: number; byRoute: Record<string, number> };
}

const BASE32HEX_ID = /^[0-9a-v]{5,1024}$/;
/** RFC 3339 date-time with an explicit offset, as Google requires for timeMin/timeMax. */
const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/i;
const DEFAULT_MAX_RESULTS = 250;
const MAX_RESULTS_LIMIT = 2500;

/** Google's `{ error: { code, message, errors: [...] } }` body. */
function googleError(res: Response, code: number, reason: string, message: string, extra: Record<string, string> = {}) {
  res.status(code).json({ error: { code, message, errors: [{ domain: 'global', reason, message, ...extra }] } });
}

const notFound = (res: Response) => googleError(res, 404, 'notFound', 'Not Found');
const invalid = (res: Response, message: string) => googleError(res, 400, 'invalid', message);

/** An instant as Google writes it in a calendar's zone: `2025-06-03T10:00:00+01:00`, `Z` for GMT. */
export function formatInZone(instant: string, timeZone: string): string {
  const parts = new Intl.DateTimeFormat('en-GB', {
    timeZone,
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
    hourCycle: 'h23',
    timeZoneName: 'longOffset',
  }).formatToParts(new Date(instant));
  const part = (type: Intl.DateTimeFormatPartTypes) => parts.find((p) => p.type === type)?.value ?? '';
  // ICU writes GMT as "GMT" or "GMT+00:00" depending on its version; both mean Z.
  const offset = part('timeZoneName').replace(/^GMT/, '').replace(/^[+-]00:00$/, '') || 'Z';
  return `${part('year')}-${part('month')}-${part('day')}T${part('hour')}:${part('minute')}:${part('second')}${offset}`;
}

/** A private diary entry: an event like the clinic's, without the link to a Semble booking. */
function diaryToWire(diary: SeedDiaryEvent, timeZone: string): GoogleEvent {
  const etag = `"${createHash('sha256').update(diary.id).digest().readUInt32BE(0)}"`;
  return toWire({ ...diary, status: 'confirmed', updated: diary.start, etag }, timeZone);
}

/** Google's freeBusy answer for one calendar: its live events' times within the window, merged. */
export function busyIntervals(calendar: StoredCalendar, timeMinMs: number, timeMaxMs: number): GoogleBusyInterval[] {
  const spans: Array<[number, number]> = [];
  for (const { event } of calendar.events.values()) {
    if (event.status === 'cancelled' || event.transparency === 'transparent') continue;
    const start = Date.parse(event.start.dateTime ?? `${event.start.date}T00:00:00Z`);
    const end = Date.parse(event.end.dateTime ?? `${event.end.date}T00:00:00Z`);
    if (Number.isNaN(start) || Number.isNaN(end) || end <= timeMinMs || start >= timeMaxMs) continue;
    spans.push([Math.max(start, timeMinMs), Math.min(end, timeMaxMs)]);
  }
  spans.sort((a, b) => a[0] - b[0]);
  const merged: Array<[number, number]> = [];
  for (const span of spans) {
    const last = merged[merged.length - 1];
    if (last && span[0] <= last[1]) last[1] = Math.max(last[1], span[1]);
    else merged.push([...span]);
  }
  const utc = (ms: number) => new Date(ms).toISOString().replace('.000Z', 'Z');
  return merged.map(([start, end]) => ({ start: utc(start), end: utc(end) }));
}

type SeededEvent = Pick<SeedCalendarEvent, 'id' | 'etag' | 'status' | 'summary' | 'start' | 'end' | 'timeZone' | 'updated'>;

function toWire(seed: SeededEvent, timeZone: string, privateProperties?: Record<string, string>): GoogleEvent {
  return {
    kind: 'calendar#event',
    id: seed.id,
    etag: seed.etag,
    status: seed.status,
    summary: seed.summary,
    start: { dateTime: formatInZone(seed.start, timeZone), timeZone: seed.timeZone },
    end: { dateTime: formatInZone(seed.end, timeZone), timeZone: seed.timeZone },
    created: seed.updated,
    updated: seed.updated,
    iCalUID: `${seed.id}@google.com`,
    sequence: 0,
    ...(privateProperties ? { extendedProperties: { private: privateProperties } } : {}),
  };
}

/** A clinic event mirroring a Semble booking. */
function seedToWire(seed: SeedCalendarEvent, timeZone: string): GoogleEvent {
  return toWire(seed, timeZone, { sembleBookingId: seed.bookingId });
}

export function createGoogleCalendarStore(world: SeedWorld, timeZone = 'Europe/London'): GoogleCalendarStore {
  const calendars = new Map<string, StoredCalendar>();
  const syncTokens = new Map<string, { calendarId: string; revision: number }>();
  let revision = 0;
  const calendarOf = (id: string): StoredCalendar => {
    let calendar = calendars.get(id);
    if (!calendar) {
      calendar = { id, summary: id, timeZone, events: new Map() };
      calendars.set(id, calendar);
    }
    return calendar;
  };
  for (const seed of world.calendarEvents) {
    revision += 1;
    calendarOf(seed.calendarId).events.set(seed.id, { event: seedToWire(seed, timeZone), revision });
  }
  for (const diary of practitionerDiaryEvents(world)) {
    revision += 1;
    calendarOf(diary.calendarId).events.set(diary.id, { event: diaryToWire(diary, timeZone), revision });
  }

  return {
    calendars,
    putEvent(calendarId, input) {
      const calendar = calendarOf(calendarId);
      const previous = calendar.events.get(input.id)?.event;
      revision += 1;
      const now = new Date();
      const event: GoogleEvent = {
        kind: 'calendar#event',
        id: input.id,
        // Google's etags are quoted numbers; the revision keeps two writes in one ms apart.
        etag: `"${now.getTime() * 1000 + (revision % 1000)}"`,
        status: input.status ?? 'confirmed',
        ...(input.summary !== undefined ? { summary: input.summary } : {}),
        start: input.start,
        end: input.end,
        created: previous?.created ?? now.toISOString(),
        updated: now.toISOString(),
        iCalUID: `${input.id}@google.com`,
        sequence: previous ? (previous.sequence ?? 0) + 1 : 0,
        ...(input.extendedProperties ? { extendedProperties: input.extendedProperties } : {}),
      };
      calendar.events.set(input.id, { event, revision });
      return event;
    },
    issueSyncToken(calendarId) {
      // Opaque like Google's: random, so a client cannot forge or guess one.
      const token = randomBytes(12).toString('base64url');
      syncTokens.set(token, { calendarId, revision });
      return token;
    },
    revisionOfSyncToken(calendarId, token) {
      const issued = syncTokens.get(token);
      return issued && issued.calendarId === calendarId ? issued.revision : undefined;
    },
    expireSyncTokens() {
      syncTokens.clear();
    },
  };
}

/** Query values of a key, whether it appeared once or repeated. */
function queryValues(req: Request, key: string): string[] {
  const value = (req.query as Record<string, unknown>)[key];
  if (value === undefined) return [];
  return (Array.isArray(value) ? value : [value]).map(String);
}

function queryValue(req: Request, key: string): string | undefined {
  return queryValues(req, key)[0];
}

/** Where a listing resumes: an offset into the filtered, ordered items, plus the sync start. */
interface PageCursor {
  offset: number;
  since?: number;
}

function encodePageToken(cursor: PageCursor): string {
  return Buffer.from(JSON.stringify(cursor)).toString('base64url');
}

function decodePageToken(token: string): PageCursor | undefined {
  try {
    const cursor = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as Partial<PageCursor>;
    if (typeof cursor.offset !== 'number' || !Number.isInteger(cursor.offset) || cursor.offset < 0) return undefined;
    if (cursor.since !== undefined && typeof cursor.since !== 'number') return undefined;
    return { offset: cursor.offset, since: cursor.since };
  } catch {
    return undefined;
  }
}

function instantOf(time: GoogleEventDateTime): number {
  // All-day events span their date(s) in UTC here: the emulator has no per-event zone rules.
  return Date.parse(time.dateTime ?? `${time.date}T00:00:00Z`);
}

/** Validate an insert/update body the way Google does for the fields we support; a message on failure. */
function validateEventBody(body: unknown): { input: GoogleEventInput } | { reason: string; message: string } {
  if (!body || typeof body !== 'object') return { reason: 'required', message: 'Missing event body.' };
  const input = body as GoogleEventInput;
  const validTime = (time: GoogleEventDateTime | undefined) =>
    !!time && ((typeof time.dateTime === 'string' && RFC3339.test(time.dateTime)) || (typeof time.date === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(time.date)));
  if (!input.start) return { reason: 'required', message: 'Missing start time.' };
  if (!input.end) return { reason: 'required', message: 'Missing end time.' };
  if (!validTime(input.start) || !validTime(input.end)) return { reason: 'invalid', message: 'Invalid start or end time: expected RFC 3339 with an offset.' };
  if (instantOf(input.end) < instantOf(input.start)) return { reason: 'timeRangeEmpty', message: 'The specified time range is empty.' };
  if (input.status !== undefined && !['confirmed', 'tentative', 'cancelled'].includes(input.status)) {
    return { reason: 'invalid', message: 'Invalid value for status: expected confirmed, tentative or cancelled.' };
  }
  const privateProperties = input.extendedProperties?.private;
  if (privateProperties !== undefined && (typeof privateProperties !== 'object' || Object.values(privateProperties).some((v) => typeof v !== 'string'))) {
    return { reason: 'invalid', message: 'Invalid extendedProperties.private: expected string values.' };
  }
  return { input };
}

/** Only the fields a writer may set; read-only fields in the body (etag, updated) are ignored as Google does. */
function writableFields(input: GoogleEventInput): Omit<GoogleEventInput, 'id'> {
  return {
    status: input.status as GoogleEventStatus | undefined,
    summary: input.summary,
    start: input.start,
    end: input.end,
    extendedProperties: input.extendedProperties,
  };
}

const GOOGLE_USER_AGENT = 'APIs-Google; (+https://developers.google.com/webmasters/APIs-Google.html)';
const CHANNEL_LIFETIME_MS = 7 * 24 * 60 * 60 * 1000;

/** An admin start/end: an instant (written in the calendar's zone, as Google stores it) or Google's own object. */
function adminTime(value: unknown, timeZone: string): GoogleEventDateTime | undefined {
  if (typeof value === 'string' && RFC3339.test(value)) return { dateTime: formatInZone(value, timeZone), timeZone };
  if (value && typeof value === 'object' && !Array.isArray(value)) return value as GoogleEventDateTime;
  return undefined;
}

export async function startGoogleCalendarEmulator(options: GoogleCalendarEmulatorOptions): Promise<GoogleCalendarEmulator> {
  const store = createGoogleCalendarStore(options.world, options.timeZone);
  const { app, counts } = createEmulatorApp();
  const webhook = options.webhook;
  const sender = createWebhookSender({ retryDelaysMs: webhook?.retryDelaysMs, timeoutMs: webhook?.timeoutMs });
  const resourceId = webhook?.resourceId ?? (webhook ? createHash('sha256').update(webhook.channelId).digest('base64url').slice(0, 27) : '');
  const channelExpiration = new Date(Date.now() + CHANNEL_LIFETIME_MS).toUTCString();
  // Numbers only grow per channel; starting from the clock keeps them growing across emulator
  // restarts, so a receiver deduplicating on channel id + number never mistakes a new message for a replay.
  let nextMessageNumber = Date.now();

  /** Announce a change on `calendarId`; resolves after the first attempt, or at once with no channel. */
  async function push(calendarId: string) {
    if (!webhook) return null;
    const headers = {
      'user-agent': GOOGLE_USER_AGENT,
      ...signGoogleCalendarPush({
        channelId: webhook.channelId,
        token: webhook.token,
        channelExpiration,
        resourceId,
        resourceUri: `https://www.googleapis.com/calendar/v3/calendars/${encodeURIComponent(calendarId)}/events?alt=json`,
        resourceState: 'exists',
        // Fixed here, not per attempt: a retry is the same message.
        messageNumber: nextMessageNumber++,
      }),
    };
    return sender.send({ url: webhook.url, event: 'exists', build: () => ({ headers }) });
  }
  const api = express.Router();

  api.use(
    requireToken(bearerToken, options.token, (res) => {
      res.setHeader('WWW-Authenticate', 'Bearer realm="https://accounts.google.com/", error="invalid_token"');
      res.status(401).json({
        error: {
          code: 401,
          message:
            'Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project.',
          errors: [
            { message: 'Invalid Credentials', domain: 'global', reason: 'authError', location: 'Authorization', locationType: 'header' },
          ],
          status: 'UNAUTHENTICATED',
        },
      });
    }),
  );

  api.get('/calendars/:calendarId/events', (req, res) => {
    const calendar = store.calendars.get(req.params.calendarId as string);
    if (!calendar) return notFound(res);

    const maxResultsText = queryValue(req, 'maxResults');
    const maxResults = maxResultsText === undefined ? DEFAULT_MAX_RESULTS : Number(maxResultsText);
    if (!Number.isInteger(maxResults) || maxResults < 1) return invalid(res, `Invalid value for maxResults: expected a positive integer, got ${JSON.stringify(maxResultsText)}`);
    // Google silently caps the page size rather than refusing larger values.
    const pageSize = Math.min(maxResults, MAX_RESULTS_LIMIT);

    const timeMin = queryValue(req, 'timeMin');
    const timeMax = queryValue(req, 'timeMax');
    for (const [name, value] of [['timeMin', timeMin], ['timeMax', timeMax]] as const) {
      if (value !== undefined && !RFC3339.test(value)) return invalid(res, `Invalid value for ${name}: expected RFC 3339 with an offset, got ${JSON.stringify(value)}`);
    }
    const properties: Array<[string, string]> = [];
    for (const filter of queryValues(req, 'privateExtendedProperty')) {
      const at = filter.indexOf('=');
      if (at <= 0) return invalid(res, `Invalid value for privateExtendedProperty: expected propertyName=value, got ${JSON.stringify(filter)}`);
      properties.push([filter.slice(0, at), filter.slice(at + 1)]);
    }
    const singleEvents = queryValue(req, 'singleEvents') === 'true';
    const orderBy = queryValue(req, 'orderBy');
    if (orderBy !== undefined && orderBy !== 'startTime' && orderBy !== 'updated') return invalid(res, `Invalid value for orderBy: expected startTime or updated, got ${JSON.stringify(orderBy)}`);
    if (orderBy === 'startTime' && !singleEvents) return invalid(res, 'The requested ordering is not available for the particular query.');

    const pageTokenText = queryValue(req, 'pageToken');
    const cursor = pageTokenText === undefined ? { offset: 0 } : decodePageToken(pageTokenText);
    if (!cursor) return invalid(res, 'Invalid value for pageToken.');

    // Incremental sync: Google refuses filters that could make the client's copy inconsistent.
    const syncToken = queryValue(req, 'syncToken');
    let since = cursor.since;
    if (syncToken !== undefined) {
      if (timeMin !== undefined || timeMax !== undefined || properties.length > 0 || orderBy !== undefined) {
        return invalid(res, 'syncToken cannot be combined with timeMin, timeMax, privateExtendedProperty or orderBy.');
      }
      since = store.revisionOfSyncToken(calendar.id, syncToken);
      if (since === undefined) {
        return googleError(res, 410, 'fullSyncRequired', 'Sync token is no longer valid, a full sync is required.');
      }
    }
    // Deleted events are part of an incremental answer, so the client learns about them.
    const showDeleted = queryValue(req, 'showDeleted') === 'true' || since !== undefined;
    const minMs = timeMin === undefined ? undefined : Date.parse(timeMin);
    const maxMs = timeMax === undefined ? undefined : Date.parse(timeMax);

    let matching = [...calendar.events.values()].filter(({ event, revision }) => {
      if (since !== undefined && revision <= since) return false;
      if (!showDeleted && event.status === 'cancelled') return false;
      // Overlap, as Google defines it: timeMin bounds the end, timeMax bounds the start (both exclusive).
      if (minMs !== undefined && !(instantOf(event.end) > minMs)) return false;
      if (maxMs !== undefined && !(instantOf(event.start) < maxMs)) return false;
      const own = event.extendedProperties?.private ?? {};
      return properties.every(([key, value]) => own[key] === value);
    });
    if (orderBy === 'startTime') matching = matching.sort((a, b) => instantOf(a.event.start) - instantOf(b.event.start));
    if (orderBy === 'updated') matching = matching.sort((a, b) => Date.parse(a.event.updated) - Date.parse(b.event.updated));

    const page = matching.slice(cursor.offset, cursor.offset + pageSize).map((stored) => stored.event);
    const more = cursor.offset + pageSize < matching.length;
    const updated = [...calendar.events.values()].reduce((latest, { event }) => (event.updated > latest ? event.updated : latest), '1970-01-01T00:00:00.000Z');
    const body: GoogleEventList = {
      kind: 'calendar#events',
      etag: `"${Date.parse(updated) * 1000}"`,
      summary: calendar.summary,
      updated,
      timeZone: calendar.timeZone,
      items: page,
      ...(more
        ? { nextPageToken: encodePageToken({ offset: cursor.offset + pageSize, ...(since !== undefined ? { since } : {}) }) }
        : { nextSyncToken: store.issueSyncToken(calendar.id) }),
    };
    res.json(body);
  });

  api.get('/calendars/:calendarId/events/:eventId', (req, res) => {
    const stored = store.calendars.get(req.params.calendarId as string)?.events.get(req.params.eventId as string);
    if (!stored) return notFound(res);
    res.json(stored.event);
  });

  api.post('/calendars/:calendarId/events', (req, res) => {
    const calendar = store.calendars.get(req.params.calendarId as string);
    if (!calendar) return notFound(res);
    const checked = validateEventBody(req.body);
    if ('reason' in checked) return googleError(res, 400, checked.reason, checked.message);
    const id = checked.input.id ?? randomBytes(16).toString('hex'); // hex is a subset of base32hex
    if (typeof id !== 'string' || !BASE32HEX_ID.test(id)) return invalid(res, 'Invalid resource id value.');
    if (calendar.events.has(id)) return googleError(res, 409, 'duplicate', 'The requested identifier already exists.');
    res.json(store.putEvent(calendar.id, { ...writableFields(checked.input), id }));
  });

  api.put('/calendars/:calendarId/events/:eventId', (req, res) => {
    const calendar = store.calendars.get(req.params.calendarId as string);
    const id = req.params.eventId as string;
    if (!calendar || !calendar.events.has(id)) return notFound(res);
    const checked = validateEventBody(req.body);
    if ('reason' in checked) return googleError(res, 400, checked.reason, checked.message);
    res.json(store.putEvent(calendar.id, { ...writableFields(checked.input), id }));
  });

  api.post('/freeBusy', (req, res) => {
    const body = (req.body ?? {}) as { timeMin?: unknown; timeMax?: unknown; items?: unknown };
    for (const name of ['timeMin', 'timeMax'] as const) {
      const value = body[name];
      if (value === undefined) return googleError(res, 400, 'required', `Missing ${name}.`);
      if (typeof value !== 'string' || !RFC3339.test(value)) return invalid(res, `Invalid value for ${name}: expected RFC 3339 with an offset, got ${JSON.stringify(value)}`);
    }
    const timeMin = body.timeMin as string;
    const timeMax = body.timeMax as string;
    const timeMinMs = Date.parse(timeMin);
    const timeMaxMs = Date.parse(timeMax);
    if (timeMaxMs <= timeMinMs) return googleError(res, 400, 'timeRangeEmpty', 'The specified time range is empty.', { location: 'timeMax', locationType: 'parameter' });
    if (!Array.isArray(body.items) || body.items.some((item) => typeof item?.id !== 'string' || item.id === '')) {
      return invalid(res, 'Invalid value for items: expected [{ "id": "<calendar id>" }, ...]');
    }
    const ids = (body.items as Array<{ id: string }>).map((item) => item.id);
    if (ids.length > FREE_BUSY_MAX_CALENDARS) return googleError(res, 400, 'tooManyCalendarsRequested', `At most ${FREE_BUSY_MAX_CALENDARS} calendars can be requested at once.`);
    const calendars: Record<string, { busy: GoogleBusyInterval[]; errors?: Array<{ domain: string; reason: string }> }> = {};
    for (const id of ids) {
      const calendar = store.calendars.get(id);
      calendars[id] = calendar ? { busy: busyIntervals(calendar, timeMinMs, timeMaxMs) } : { errors: [{ domain: 'global', reason: 'notFound' }], busy: [] };
    }
    res.json({ kind: 'calendar#freeBusy', timeMin, timeMax, calendars });
  });

  // Anything else under the API answers like Google does for an unknown resource.
  api.use((_req, res) => notFound(res));

  app.use('/calendar/v3', api);

  const { root, admin } = createAdminFront(app, sender);
  admin.patch('/events/:calendarId/:eventId', async (req, res) => {
    const calendar = store.calendars.get(req.params.calendarId as string);
    const stored = calendar?.events.get(req.params.eventId as string);
    if (!calendar || !stored) return notFound(res);
    const body = (req.body ?? {}) as { summary?: unknown; start?: unknown; end?: unknown; status?: unknown };
    const unknown = Object.keys(body).filter((key) => !['summary', 'start', 'end', 'status'].includes(key));
    if (unknown.length > 0) return invalid(res, `Unknown field(s) ${unknown.join(', ')}: expected any of summary, start, end, status.`);
    if (body.summary !== undefined && typeof body.summary !== 'string') return invalid(res, 'summary must be a string.');
    const start = body.start === undefined ? stored.event.start : adminTime(body.start, calendar.timeZone);
    const end = body.end === undefined ? stored.event.end : adminTime(body.end, calendar.timeZone);
    if (!start || !end) return invalid(res, 'start and end must be RFC 3339 date-times with an offset, or Google event times.');
    const merged = {
      ...writableFields(stored.event),
      ...(body.summary !== undefined ? { summary: body.summary as string } : {}),
      ...(body.status !== undefined ? { status: body.status as GoogleEventStatus } : {}),
      start,
      end,
    };
    const checked = validateEventBody(merged);
    if ('reason' in checked) return googleError(res, 400, checked.reason, checked.message);
    const event = store.putEvent(calendar.id, { ...writableFields(checked.input), id: stored.event.id });
    const delivery = await push(calendar.id);
    sendAdminResult(res, event, delivery ? [delivery.id] : []);
  });

  const listening = await listen(root, options.port ?? 0, options.host);
  return {
    ...listening,
    store,
    counts,
    async stop() {
      sender.stop();
      await listening.stop();
    },
  };
}
