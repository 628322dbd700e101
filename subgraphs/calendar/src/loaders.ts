/**
 * The calendar subgraph's DataLoaders, created per request so batches never span requests.
 *
 * - eventByAppointment: every Appointment.calendarEvent of a request is answered by ONE
 *   windowed events.list (from the earliest appointment start to a day after the latest,
 *   cancelled events included, following page tokens), matched on the private extended
 *   property sembleBookingId. Google has no batch read by property, and one
 *   privateExtendedProperty query per appointment would cost a request per appointment.
 * - eventById: CalendarEvent references, one events.get per distinct id (Google has no batch
 *   get over REST), at most GET_CONCURRENCY at a time.
 * - busy: Practitioner.busy, one freeBusy request per window for up to 50 calendars (the
 *   practitioners' emails); a calendar Google does not know is a CALENDAR_NOT_FOUND error for
 *   that practitioner only.
 */
import DataLoader from 'dataloader';
import { GraphQLError } from 'graphql';
import type { GoogleBusyInterval, GoogleCalendarClient, GoogleEvent } from '../../../lib/vendors/google-calendar';
import { FREE_BUSY_MAX_CALENDARS, GOOGLE_CALENDAR_VENDOR, MAX_RESULTS_LIMIT } from '../../../lib/vendors/google-calendar';

/** What the gateway sends for Appointment.calendarEvent (`@requires(fields: "start")`). */
export interface AppointmentRef {
  id: string;
  start: unknown;
}

/** One Practitioner.busy: the practitioner's calendar (their email) and a checked window. */
export interface BusyKey {
  calendarId: string;
  timeMin: string;
  timeMax: string;
}

export interface CalendarLoaders {
  /** Busy spans of one calendar in one window. */
  busy: DataLoader<BusyKey, GoogleBusyInterval[], string>;
  /** The event mirroring an appointment, or null when the calendar has none. */
  eventByAppointment: DataLoader<AppointmentRef, GoogleEvent | null, string>;
  /** An event by its Google id, or null when Google answers 404. */
  eventById: DataLoader<string, GoogleEvent | null>;
}

const DAY_MS = 24 * 60 * 60 * 1000;
/** Parallel events.get calls per batch: enough to be quick, few enough to respect rate limits. */
const GET_CONCURRENCY = 8;
/** The private extended property that links an event back to its Semble booking. */
export const BOOKING_PROPERTY = 'sembleBookingId';

/**
 * When a booking has several events (re-created after a cancellation, say), the live one wins,
 * then the most recently updated.
 */
export function preferredEvent(current: GoogleEvent | undefined, candidate: GoogleEvent): GoogleEvent {
  if (!current) return candidate;
  const live = (event: GoogleEvent) => event.status !== 'cancelled';
  if (live(current) !== live(candidate)) return live(candidate) ? candidate : current;
  return candidate.updated > current.updated ? candidate : current;
}

/** Events keyed by the booking they mirror. */
export function indexByBooking(events: GoogleEvent[]): Map<string, GoogleEvent> {
  const byBooking = new Map<string, GoogleEvent>();
  for (const event of events) {
    const bookingId = event.extendedProperties?.private?.[BOOKING_PROPERTY];
    if (bookingId === undefined) continue;
    byBooking.set(bookingId, preferredEvent(byBooking.get(bookingId), event));
  }
  return byBooking;
}

/** The window one events.list must cover to see every appointment's event. */
export function windowFor(startsMs: number[]): { timeMin: string; timeMax: string } {
  const min = Math.min(...startsMs);
  const max = Math.max(...startsMs);
  // A day past the latest start covers that appointment's event whatever its length.
  return { timeMin: new Date(min).toISOString(), timeMax: new Date(max + DAY_MS).toISOString() };
}

function busyKeyOf(key: BusyKey): string {
  return `${key.timeMin}|${key.timeMax}|${key.calendarId}`;
}

/** Google has no calendar under the practitioner's email, or will not show it to us. */
export function calendarNotFound(): GraphQLError {
  return new GraphQLError("Practitioner.busy: Google Calendar has no calendar under the practitioner's email that this account may read", {
    extensions: { code: 'CALENDAR_NOT_FOUND', vendor: GOOGLE_CALENDAR_VENDOR },
  });
}

function badStart(start: unknown): GraphQLError {
  const got = typeof start === 'string' ? JSON.stringify(start) : typeof start;
  return new GraphQLError(`Appointment.start: expected an RFC 3339 date-time, got ${got}`, {
    extensions: { code: 'BAD_USER_INPUT', argumentName: 'representations', expected: 'an RFC 3339 date-time in Appointment.start' },
  });
}

async function mapWithConcurrency<T, R>(items: readonly T[], limit: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await work(items[index] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

export function createLoaders(client: GoogleCalendarClient): CalendarLoaders {
  const eventByAppointment = new DataLoader<AppointmentRef, GoogleEvent | null, string>(
    async (refs) => {
      const starts = refs.map((ref) => (typeof ref.start === 'string' ? Date.parse(ref.start) : Number.NaN));
      const validStarts = starts.filter((ms) => !Number.isNaN(ms));
      if (validStarts.length === 0) return refs.map((ref) => badStart(ref.start));
      const { items } = await client.listAllEvents({
        ...windowFor(validStarts),
        // A cancelled booking's event is cancelled too; without showDeleted Google hides it.
        showDeleted: true,
        singleEvents: true,
        maxResults: MAX_RESULTS_LIMIT,
      });
      const byBooking = indexByBooking(items);
      return refs.map((ref, i) => (Number.isNaN(starts[i]) ? badStart(ref.start) : (byBooking.get(ref.id) ?? null)));
    },
    // One appointment is one key, whatever start the gateway sent with it.
    { cacheKeyFn: (ref) => ref.id },
  );

  const eventById = new DataLoader<string, GoogleEvent | null>((ids) =>
    mapWithConcurrency(ids, GET_CONCURRENCY, (id) => client.getEvent(id).catch((error: unknown) => (error instanceof Error ? error : new Error(String(error))))),
  );

  const busy = new DataLoader<BusyKey, GoogleBusyInterval[], string>(
    async (keys) => {
      const answers = new Map<string, GoogleBusyInterval[] | Error>();
      const windows = new Map<string, BusyKey[]>();
      for (const key of keys) {
        const window = `${key.timeMin}|${key.timeMax}`;
        windows.set(window, [...(windows.get(window) ?? []), key]);
      }
      await Promise.all(
        [...windows.values()].flatMap((inWindow) => {
          const chunks: BusyKey[][] = [];
          for (let i = 0; i < inWindow.length; i += FREE_BUSY_MAX_CALENDARS) chunks.push(inWindow.slice(i, i + FREE_BUSY_MAX_CALENDARS));
          return chunks.map(async (chunk) => {
            const { timeMin, timeMax } = chunk[0]!;
            try {
              const answer = await client.freeBusy({ timeMin, timeMax, calendarIds: chunk.map((key) => key.calendarId) });
              for (const key of chunk) {
                const calendar = answer.calendars[key.calendarId];
                answers.set(busyKeyOf(key), !calendar || calendar.errors?.length ? calendarNotFound() : calendar.busy);
              }
            } catch (error) {
              for (const key of chunk) answers.set(busyKeyOf(key), error instanceof Error ? error : new Error(String(error)));
            }
          });
        }),
      );
      return keys.map((key) => answers.get(busyKeyOf(key))!);
    },
    { cacheKeyFn: busyKeyOf },
  );

  return { eventByAppointment, eventById, busy };
}
