/**
 * Each practitioner's own Google calendar, whose id is their email (as for a Google account's
 * primary calendar): the time of every booking of theirs that is not cancelled, and a two-day
 * leave that Semble knows nothing about. Derived from the world without drawing random numbers,
 * so the rest of the seed is unchanged. These events are private diary entries, not mirrors of
 * bookings: they carry no sembleBookingId and the clinic calendar does not show them.
 */
import type { SeedWorld } from './seed';

export interface SeedDiaryEvent {
  calendarId: string;
  /** base32hex, as Google wants client-chosen ids. */
  id: string;
  summary: string;
  start: string;
  end: string;
  timeZone: string;
}

const DAY = 24 * 60 * 60 * 1000;
const LEAVE_FROM = Date.UTC(2025, 3, 7, 8, 0); // a Monday, 09:00 London (BST)

export function practitionerDiaryEvents(world: Pick<SeedWorld, 'practitioners' | 'bookings'>): SeedDiaryEvent[] {
  const events: SeedDiaryEvent[] = [];
  const emailOf = new Map(world.practitioners.map((practitioner) => [practitioner.id, practitioner.email]));
  for (const booking of world.bookings) {
    const calendarId = emailOf.get(booking.practitionerId);
    if (!calendarId || booking.state === 'CANCELLED') continue;
    events.push({ calendarId, id: `clinic${booking.id}`, summary: 'Clinic', start: booking.start, end: booking.end, timeZone: 'Europe/London' });
  }
  world.practitioners.forEach((practitioner, index) => {
    const start = LEAVE_FROM + index * 28 * DAY;
    events.push({
      calendarId: practitioner.email,
      id: `leave${practitioner.id}`,
      summary: 'Annual leave',
      start: new Date(start).toISOString(),
      end: new Date(start + DAY + 8 * 60 * 60 * 1000).toISOString(), // to 17:00 the next day
      timeZone: 'Europe/London',
    });
  });
  return events;
}
