/** Pure logic: Google event → CalendarEvent, which event wins for a booking, the list window. */
import { formatInZone } from '../emulator/server';
import type { GoogleEvent } from '../../../lib/vendors/google-calendar';
import { mapEventStatus, toCalendarEvent, toInstant } from '../src/event-model';
import { indexByBooking, preferredEvent, windowFor } from '../src/loaders';

const event = (overrides: Partial<GoogleEvent> = {}): GoogleEvent => ({
  kind: 'calendar#event',
  id: 'semble0001',
  etag: '"1"',
  status: 'confirmed',
  summary: 'Follow-up',
  start: { dateTime: '2025-06-03T10:00:00+01:00', timeZone: 'Europe/London' },
  end: { dateTime: '2025-06-03T10:30:00+01:00', timeZone: 'Europe/London' },
  updated: '2025-05-01T00:00:00.000Z',
  extendedProperties: { private: { sembleBookingId: '0001' } },
  ...overrides,
});

describe('toCalendarEvent', () => {
  it('maps status, normalises times to UTC and keeps the booking link', () => {
    expect(toCalendarEvent(event(), 'clinic@example.test')).toEqual({
      id: 'semble0001',
      provider: 'GOOGLE',
      calendarId: 'clinic@example.test',
      summary: 'Follow-up',
      start: '2025-06-03T09:00:00.000Z',
      end: '2025-06-03T09:30:00.000Z',
      timeZone: 'Europe/London',
      status: 'CONFIRMED',
      updated: '2025-05-01T00:00:00.000Z',
      etag: '"1"',
      sembleBookingId: '0001',
    });
    expect(toCalendarEvent(event({ extendedProperties: undefined, summary: undefined }), 'c')).toMatchObject({ sembleBookingId: null, summary: null });
  });

  it('maps every Google status and refuses an unknown one as a bad vendor response', () => {
    expect(['confirmed', 'tentative', 'cancelled'].map(mapEventStatus)).toEqual(['CONFIRMED', 'TENTATIVE', 'CANCELLED']);
    expect(() => mapEventStatus('deleted')).toThrow(expect.objectContaining({ extensions: expect.objectContaining({ code: 'VENDOR_BAD_RESPONSE', vendor: 'google-calendar' }) }));
  });

  it('reads all-day dates and refuses a missing time', () => {
    expect(toInstant({ date: '2025-06-03' }, 'start')).toBe('2025-06-03T00:00:00.000Z');
    expect(() => toInstant({}, 'end')).toThrow(/event end expected/);
  });
});

describe('matching events to bookings', () => {
  it('prefers a live event, then the most recently updated', () => {
    const cancelled = event({ id: 'a', status: 'cancelled', updated: '2025-09-01T00:00:00.000Z' });
    const live = event({ id: 'b', updated: '2025-01-01T00:00:00.000Z' });
    const newer = event({ id: 'c', updated: '2025-02-01T00:00:00.000Z' });
    expect(preferredEvent(cancelled, live).id).toBe('b');
    expect(preferredEvent(live, cancelled).id).toBe('b');
    expect(preferredEvent(live, newer).id).toBe('c');
    expect([...indexByBooking([cancelled, live, event({ id: 'x', extendedProperties: {} })]).entries()].map(([k, v]) => [k, v.id])).toEqual([['0001', 'b']]);
  });

  it('lists from the earliest start to a day after the latest', () => {
    expect(windowFor([Date.parse('2025-03-01T10:00:00Z'), Date.parse('2025-01-01T09:00:00Z'), Date.parse('2025-02-01T00:00:00Z')])).toEqual({
      timeMin: '2025-01-01T09:00:00.000Z',
      timeMax: '2025-03-02T10:00:00.000Z',
    });
  });
});

describe('formatInZone (emulator)', () => {
  it('writes London summer time with +01:00 and winter time with Z', () => {
    expect(formatInZone('2025-06-03T09:00:00.000Z', 'Europe/London')).toBe('2025-06-03T10:00:00+01:00');
    expect(formatInZone('2025-01-03T09:00:00.000Z', 'Europe/London')).toBe('2025-01-03T09:00:00Z');
  });
});
