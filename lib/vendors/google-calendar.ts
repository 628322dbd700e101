/**
 * Typed client for the part of Google Calendar API v3 the patient graph uses: events.list,
 * events.get, events.insert and events.update on one calendar, and freeBusy over any calendars. The wire records keep Google's
 * field names (they are the vendor's format, shared with the emulator as types only); every
 * request goes through createVendorHttp, so timeouts, retries and VendorError codes are the
 * same as for every other vendor.
 */
import { createVendorHttp } from '../vendor-http';
import { VendorError } from '../vendor-error';

/** The vendor name in errors (`extensions.vendor`). */
export const GOOGLE_CALENDAR_VENDOR = 'google-calendar';

/** Google caps one page of events.list at 2500 items. */
export const MAX_RESULTS_LIMIT = 2500;

export type GoogleEventStatus = 'confirmed' | 'tentative' | 'cancelled';

export interface GoogleEventDateTime {
  /** RFC 3339 with an offset (Google answers in the calendar's zone); absent for all-day events. */
  dateTime?: string;
  /** YYYY-MM-DD, all-day events only. */
  date?: string;
  /** IANA zone the event was created in. */
  timeZone?: string;
}

export interface GoogleExtendedProperties {
  private?: Record<string, string>;
  shared?: Record<string, string>;
}

/** `calendar#event`, the subset of fields we read. */
export interface GoogleEvent {
  kind: 'calendar#event';
  id: string;
  etag: string;
  status: GoogleEventStatus;
  summary?: string;
  start: GoogleEventDateTime;
  end: GoogleEventDateTime;
  created?: string;
  updated: string;
  iCalUID?: string;
  sequence?: number;
  /** `transparent` events do not block time (freeBusy skips them). @default opaque */
  transparency?: 'opaque' | 'transparent';
  extendedProperties?: GoogleExtendedProperties;
}

/** One busy span of a freeBusy answer (UTC). */
export interface GoogleBusyInterval {
  start: string;
  end: string;
}

/** `calendar#freeBusy`: per requested calendar id, its busy spans or why there are none. */
export interface GoogleFreeBusy {
  kind: 'calendar#freeBusy';
  timeMin: string;
  timeMax: string;
  calendars: Record<string, { busy: GoogleBusyInterval[]; errors?: Array<{ domain: string; reason: string }> }>;
}

/** Google's ceiling on calendars per freeBusy request (calendarExpansionMax). */
export const FREE_BUSY_MAX_CALENDARS = 50;

/** `calendar#events`, one page of events.list. */
export interface GoogleEventList {
  kind: 'calendar#events';
  etag: string;
  summary: string;
  updated: string;
  timeZone: string;
  items: GoogleEvent[];
  /** Present when there are more pages. */
  nextPageToken?: string;
  /** Present on the last page only: pass it as `syncToken` to get what changed since. */
  nextSyncToken?: string;
}

/** What a caller writes on insert/update; Google ignores the read-only fields (etag, updated). */
export interface GoogleEventInput {
  /** Client-chosen id: base32hex (0-9, a-v), 5–1024 characters. Makes inserts idempotent. */
  id?: string;
  status?: GoogleEventStatus;
  summary?: string;
  start: GoogleEventDateTime;
  end: GoogleEventDateTime;
  extendedProperties?: GoogleExtendedProperties;
}

export interface ListEventsParams {
  /** Lower bound (exclusive) for an event's end: events overlapping [timeMin, timeMax) are listed. */
  timeMin?: string;
  /** Upper bound (exclusive) for an event's start. */
  timeMax?: string;
  /** Private extended properties every listed event must have (Google ANDs them). */
  privateExtendedProperty?: Record<string, string>;
  pageToken?: string;
  /** Page size, 1–2500. @default 250 (Google's) */
  maxResults?: number;
  /** Include cancelled events; Google hides them otherwise. @default false */
  showDeleted?: boolean;
  /** Expand recurring events into instances. @default false */
  singleEvents?: boolean;
  /** `startTime` needs singleEvents. */
  orderBy?: 'startTime' | 'updated';
  /** Incremental sync: only what changed since the token. Cannot be combined with time or property filters. */
  syncToken?: string;
}

export interface GoogleCalendarClientOptions {
  /** e.g. https://www.googleapis.com or an emulator's URL; the client appends /calendar/v3/…. */
  baseUrl: string;
  /** OAuth access token, sent as `Authorization: Bearer`. */
  token: string;
  /** The calendar every call reads and writes. */
  calendarId: string;
  /** Abort one attempt after this long. @default 10000 */
  timeoutMs?: number;
  /** Injected for tests; the global fetch otherwise. */
  fetch?: typeof fetch;
}

export interface GoogleCalendarClient {
  readonly calendarId: string;
  /** One page of events.list. */
  listEvents(params?: ListEventsParams): Promise<GoogleEventList>;
  /** Every page of events.list, following nextPageToken; the last page's nextSyncToken is kept. */
  listAllEvents(params?: Omit<ListEventsParams, 'pageToken'>): Promise<{ items: GoogleEvent[]; nextSyncToken?: string; pages: number }>;
  /** events.get; null when Google answers 404. Cancelled events are returned with status cancelled. */
  getEvent(eventId: string): Promise<GoogleEvent | null>;
  /** events.insert. A 409 (VendorError with status 409) means an event with that id exists. */
  insertEvent(event: GoogleEventInput): Promise<GoogleEvent>;
  /** events.update (full replacement). */
  updateEvent(eventId: string, event: GoogleEventInput): Promise<GoogleEvent>;
  /** freeBusy: busy spans of up to FREE_BUSY_MAX_CALENDARS calendars in [timeMin, timeMax). */
  freeBusy(query: { timeMin: string; timeMax: string; calendarIds: readonly string[] }): Promise<GoogleFreeBusy>;
}

/** True when Google says a sync token is no longer valid and a full sync is needed. */
export function isFullSyncRequired(error: unknown): boolean {
  return error instanceof VendorError && error.status === 410;
}

function listQuery(params: ListEventsParams): string {
  const query = new URLSearchParams();
  if (params.timeMin !== undefined) query.set('timeMin', params.timeMin);
  if (params.timeMax !== undefined) query.set('timeMax', params.timeMax);
  for (const [key, value] of Object.entries(params.privateExtendedProperty ?? {})) {
    query.append('privateExtendedProperty', `${key}=${value}`);
  }
  if (params.pageToken !== undefined) query.set('pageToken', params.pageToken);
  if (params.maxResults !== undefined) query.set('maxResults', String(params.maxResults));
  if (params.showDeleted !== undefined) query.set('showDeleted', String(params.showDeleted));
  if (params.singleEvents !== undefined) query.set('singleEvents', String(params.singleEvents));
  if (params.orderBy !== undefined) query.set('orderBy', params.orderBy);
  if (params.syncToken !== undefined) query.set('syncToken', params.syncToken);
  const text = query.toString();
  return text ? `?${text}` : '';
}

export function createGoogleCalendarClient(options: GoogleCalendarClientOptions): GoogleCalendarClient {
  const http = createVendorHttp({
    vendor: GOOGLE_CALENDAR_VENDOR,
    baseUrl: options.baseUrl,
    headers: { authorization: `Bearer ${options.token}` },
    timeoutMs: options.timeoutMs,
    fetch: options.fetch,
  });
  const eventsPath = `/calendar/v3/calendars/${encodeURIComponent(options.calendarId)}/events`;

  const client: GoogleCalendarClient = {
    calendarId: options.calendarId,

    listEvents(params = {}) {
      return http.request<GoogleEventList>({ path: `${eventsPath}${listQuery(params)}` });
    },

    async listAllEvents(params = {}) {
      const items: GoogleEvent[] = [];
      let pageToken: string | undefined;
      let pages = 0;
      for (;;) {
        const page = await client.listEvents({ ...params, pageToken });
        pages += 1;
        items.push(...page.items);
        if (!page.nextPageToken) return { items, nextSyncToken: page.nextSyncToken, pages };
        pageToken = page.nextPageToken;
      }
    },

    async getEvent(eventId) {
      try {
        return await http.request<GoogleEvent>({ path: `${eventsPath}/${encodeURIComponent(eventId)}` });
      } catch (error) {
        if (error instanceof VendorError && error.status === 404) return null;
        throw error;
      }
    },

    insertEvent(event) {
      // With a client-chosen id a retried insert cannot create a second event: at worst it
      // answers 409 because the first attempt landed. Without an id it must not be retried.
      return http.request<GoogleEvent>({ method: 'POST', path: eventsPath, body: event, retryable: event.id !== undefined });
    },

    updateEvent(eventId, event) {
      // A full replacement is idempotent, so retrying it is safe.
      return http.request<GoogleEvent>({ method: 'PUT', path: `${eventsPath}/${encodeURIComponent(eventId)}`, body: event });
    },

    freeBusy(query) {
      if (query.calendarIds.length > FREE_BUSY_MAX_CALENDARS) {
        throw new RangeError(`calendarIds: expected at most ${FREE_BUSY_MAX_CALENDARS}, got ${query.calendarIds.length}`);
      }
      // A query, though a POST: retrying it is safe.
      return http.request<GoogleFreeBusy>({
        method: 'POST',
        path: '/calendar/v3/freeBusy',
        body: { timeMin: query.timeMin, timeMax: query.timeMax, items: query.calendarIds.map((id) => ({ id })) },
        retryable: true,
      });
    },
  };
  return client;
}
