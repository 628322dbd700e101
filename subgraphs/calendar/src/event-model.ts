/**
 * How a Google Calendar event becomes the graph's CalendarEvent: status to the schema's enum,
 * times normalised to UTC ISO strings (Google answers in the calendar's zone, with an offset),
 * and the link back to the Semble booking.
 */
import { VendorError, VendorErrorCode } from '../../../lib/vendor-error';
import type { GoogleEvent, GoogleEventDateTime, GoogleEventStatus } from '../../../lib/vendors/google-calendar';
import { GOOGLE_CALENDAR_VENDOR } from '../../../lib/vendors/google-calendar';
import { BOOKING_PROPERTY } from './loaders';

export type CalendarEventStatus = 'CONFIRMED' | 'TENTATIVE' | 'CANCELLED';

/** The parent object of CalendarEvent's fields. */
export interface CalendarEventModel {
  id: string;
  provider: 'GOOGLE';
  calendarId: string;
  summary: string | null;
  start: string;
  end: string;
  timeZone: string | null;
  status: CalendarEventStatus;
  updated: string | null;
  etag: string | null;
  /** The Semble booking this event mirrors, from extendedProperties.private.sembleBookingId. */
  sembleBookingId: string | null;
}

const STATUS: Record<GoogleEventStatus, CalendarEventStatus> = {
  confirmed: 'CONFIRMED',
  tentative: 'TENTATIVE',
  cancelled: 'CANCELLED',
};

function badResponse(detail: string): VendorError {
  return new VendorError(GOOGLE_CALENDAR_VENDOR, VendorErrorCode.BadResponse, detail);
}

export function mapEventStatus(status: string): CalendarEventStatus {
  const mapped = STATUS[status as GoogleEventStatus];
  if (!mapped) throw badResponse(`event status expected confirmed, tentative or cancelled, got ${JSON.stringify(status)}`);
  return mapped;
}

/** An event time as a UTC ISO string; all-day events start at midnight UTC of their date. */
export function toInstant(time: GoogleEventDateTime | undefined, which: 'start' | 'end'): string {
  const text = time?.dateTime ?? (time?.date ? `${time.date}T00:00:00Z` : undefined);
  const ms = text === undefined ? Number.NaN : Date.parse(text);
  if (Number.isNaN(ms)) throw badResponse(`event ${which} expected an RFC 3339 dateTime or a date`);
  return new Date(ms).toISOString();
}

export function toCalendarEvent(event: GoogleEvent, calendarId: string): CalendarEventModel {
  return {
    id: event.id,
    provider: 'GOOGLE',
    calendarId,
    summary: event.summary ?? null,
    start: toInstant(event.start, 'start'),
    end: toInstant(event.end, 'end'),
    timeZone: event.start?.timeZone ?? null,
    status: mapEventStatus(event.status),
    updated: event.updated ?? null,
    etag: event.etag ?? null,
    sembleBookingId: event.extendedProperties?.private?.[BOOKING_PROPERTY] ?? null,
  };
}
