/**
 * A token Google rejects becomes a field error with code VENDOR_UNAUTHORIZED and the vendor
 * named, for every field that needed Google, and never a crashed request.
 */
import { createSeedWorld } from '../../../lib/seed';
import type { SeedWorld } from '../../../lib/seed';
import { appointmentRepresentation, startCalendarStack } from './calendar-stack';
import type { CalendarStack } from './calendar-stack';

describe('a wrong Google Calendar token', () => {
  let world: SeedWorld;
  let stack: CalendarStack;

  beforeAll(async () => {
    world = createSeedWorld({ patients: 10, seed: 42 });
    stack = await startCalendarStack(world, { subgraphToken: 'not-the-token' });
  });
  afterAll(() => stack?.stop());

  it('gives Appointment.calendarEvent a VENDOR_UNAUTHORIZED error naming google-calendar', async () => {
    const bookings = world.bookings.slice(0, 3);
    const response = await stack.entities<{ id: string; calendarEvent: unknown }>(
      '... on Appointment { id calendarEvent { id } }',
      bookings.map(appointmentRepresentation),
    );
    expect(response.data!._entities).toEqual(bookings.map((booking) => ({ id: booking.id, calendarEvent: null })));
    expect(response.errors).toHaveLength(bookings.length);
    for (const [i, error] of response.errors!.entries()) {
      expect(error.path).toEqual(['_entities', i, 'calendarEvent']);
      expect(error.extensions).toMatchObject({ code: 'VENDOR_UNAUTHORIZED', vendor: 'google-calendar', vendorStatus: 401 });
    }
  });

  it('gives a CalendarEvent reference the same error', async () => {
    const response = await stack.entities<unknown>('... on CalendarEvent { id }', [{ __typename: 'CalendarEvent', id: world.calendarEvents[0]!.id }]);
    expect(response.data!._entities).toEqual([null]);
    expect(response.errors![0]!.extensions).toMatchObject({ code: 'VENDOR_UNAUTHORIZED', vendor: 'google-calendar' });
  });
});
