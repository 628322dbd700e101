/**
 * Appointment.calendarEvent and CalendarEvent references answer with the seed world's events,
 * in the graph's shape: statuses mapped, times in UTC, the link back to the booking.
 */
import { createSeedWorld } from '../../../lib/seed';
import type { SeedCalendarEvent, SeedWorld } from '../../../lib/seed';
import { appointmentRepresentation, EVENT_FIELDS, startCalendarStack } from './calendar-stack';
import type { CalendarStack } from './calendar-stack';

interface EventResult {
  id: string;
  provider: string;
  calendarId: string;
  summary: string | null;
  start: string;
  end: string;
  timeZone: string | null;
  status: string;
  updated: string | null;
  etag: string | null;
  appointment: { id: string } | null;
}

function expected(seed: SeedCalendarEvent): EventResult {
  return {
    id: seed.id,
    provider: 'GOOGLE',
    calendarId: seed.calendarId,
    summary: seed.summary,
    start: seed.start,
    end: seed.end,
    timeZone: seed.timeZone,
    status: seed.status.toUpperCase(),
    updated: seed.updated,
    etag: seed.etag,
    appointment: { id: seed.bookingId },
  };
}

describe('Appointment.calendarEvent', () => {
  let world: SeedWorld;
  let stack: CalendarStack;
  /** A booking whose event was removed from the calendar the emulator serves. */
  let bookingWithoutEvent: string;

  beforeAll(async () => {
    const seedWorld = createSeedWorld({ patients: 60, seed: 42 });
    bookingWithoutEvent = seedWorld.bookings[3]!.id;
    world = { ...seedWorld, calendarEvents: seedWorld.calendarEvents.filter((event) => event.bookingId !== bookingWithoutEvent) };
    stack = await startCalendarStack(world);
  });
  afterAll(() => stack?.stop());

  it('answers every booking with its seeded event', async () => {
    const response = await stack.entities<{ id: string; calendarEvent: EventResult | null }>(
      `... on Appointment { id calendarEvent { ${EVENT_FIELDS} } }`,
      world.bookings.map(appointmentRepresentation),
    );
    expect(response.errors).toBeUndefined();
    const byBooking = new Map(world.calendarEvents.map((event) => [event.bookingId, event]));
    const results = response.data!._entities;
    expect(results).toHaveLength(world.bookings.length);
    world.bookings.forEach((booking, i) => {
      const seed = byBooking.get(booking.id);
      expect(results[i]!.id).toBe(booking.id);
      expect(results[i]!.calendarEvent).toEqual(seed ? expected(seed) : null);
    });
  });

  it('shows a cancelled booking as a CANCELLED event (Google hides those without showDeleted)', async () => {
    const cancelled = world.bookings.filter((booking) => booking.state === 'CANCELLED');
    expect(cancelled.length).toBeGreaterThan(0);
    const response = await stack.entities<{ calendarEvent: { status: string } | null }>(
      '... on Appointment { calendarEvent { status } }',
      cancelled.map(appointmentRepresentation),
    );
    expect(response.errors).toBeUndefined();
    expect(response.data!._entities.map((entity) => entity.calendarEvent?.status)).toEqual(cancelled.map(() => 'CANCELLED'));
  });

  it('answers null for a booking with no event and for an unknown booking id', async () => {
    const withoutEvent = world.bookings.find((booking) => booking.id === bookingWithoutEvent)!;
    const response = await stack.entities<{ id: string; calendarEvent: { id: string } | null }>(
      '... on Appointment { id calendarEvent { id } }',
      [
        appointmentRepresentation(withoutEvent),
        { __typename: 'Appointment', id: 'no-such-booking', start: world.bookings[0]!.start },
        appointmentRepresentation(world.bookings[0]!),
      ],
    );
    expect(response.errors).toBeUndefined();
    expect(response.data!._entities).toEqual([
      { id: withoutEvent.id, calendarEvent: null },
      { id: 'no-such-booking', calendarEvent: null },
      { id: world.bookings[0]!.id, calendarEvent: { id: `semble${world.bookings[0]!.id}` } },
    ]);
  });

  it('refuses a representation whose start is not a date-time, naming what it expected', async () => {
    const response = await stack.entities<{ calendarEvent: unknown }>('... on Appointment { calendarEvent { id } }', [
      { __typename: 'Appointment', id: world.bookings[0]!.id, start: 'yesterday' },
    ]);
    expect(response.data!._entities).toEqual([{ calendarEvent: null }]);
    expect(response.errors).toHaveLength(1);
    expect(response.errors![0]!.extensions).toMatchObject({ code: 'BAD_USER_INPUT', argumentName: 'representations' });
    expect(response.errors![0]!.message).toMatch(/expected an RFC 3339 date-time, got "yesterday"/);
  });
});

describe('CalendarEvent references', () => {
  let world: SeedWorld;
  let stack: CalendarStack;

  beforeAll(async () => {
    world = createSeedWorld({ patients: 60, seed: 42 });
    stack = await startCalendarStack(world);
  });
  afterAll(() => stack?.stop());

  it('resolves events by id, cancelled ones included, and null for an unknown id', async () => {
    const seeds = world.calendarEvents.slice(0, 10);
    const response = await stack.entities<EventResult | null>(`... on CalendarEvent { ${EVENT_FIELDS} }`, [
      ...seeds.map((event) => ({ __typename: 'CalendarEvent', id: event.id })),
      { __typename: 'CalendarEvent', id: 'sembledoesnotexist' },
    ]);
    expect(response.errors).toBeUndefined();
    expect(response.data!._entities).toEqual([...seeds.map(expected), null]);
  });
});
