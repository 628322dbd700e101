/**
 * Batching bounds, read from the emulator's request counters: every Appointment.calendarEvent
 * of a request costs one windowed events.list (plus a page per 2500 events), never a request
 * per appointment; CalendarEvent references cost one events.get per distinct id.
 */
import { createSeedWorld } from '../../../lib/seed';
import type { SeedWorld } from '../../../lib/seed';
import { appointmentRepresentation, startCalendarStack } from './calendar-stack';
import type { CalendarStack } from './calendar-stack';

const LIST_ROUTE = 'GET /calendar/v3/calendars/:calendarId/events';
const GET_ROUTE = 'GET /calendar/v3/calendars/:calendarId/events/:eventId';

describe.each([60, 500])('batching with %i patients', (patients) => {
  let world: SeedWorld;
  let stack: CalendarStack;

  beforeAll(async () => {
    world = createSeedWorld({ patients, seed: 42 });
    stack = await startCalendarStack(world);
  });
  afterAll(() => stack?.stop());

  it('answers every appointment of one request with at most 2 vendor requests', async () => {
    await stack.resetRequests();
    const response = await stack.entities<{ calendarEvent: { id: string } | null }>(
      '... on Appointment { calendarEvent { id } }',
      world.bookings.map(appointmentRepresentation),
    );
    expect(response.errors).toBeUndefined();
    expect(response.data!._entities.filter((entity) => entity.calendarEvent !== null)).toHaveLength(world.calendarEvents.length);
    const counts = await stack.requests();
    expect(counts.total).toBeLessThanOrEqual(2);
    expect(counts.byRoute).toEqual({ [LIST_ROUTE]: counts.total });
  });

  it('fetches each distinct CalendarEvent once per request', async () => {
    await stack.resetRequests();
    const ids = world.calendarEvents.slice(0, 5).map((event) => event.id);
    const response = await stack.entities<{ id: string }>('... on CalendarEvent { id }', [...ids, ...ids].map((id) => ({ __typename: 'CalendarEvent', id })));
    expect(response.errors).toBeUndefined();
    expect(response.data!._entities.map((entity) => entity.id)).toEqual([...ids, ...ids]);
    expect((await stack.requests()).byRoute).toEqual({ [GET_ROUTE]: ids.length });
  });
});
