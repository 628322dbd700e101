/**
 * Practitioner.busy: the practitioner's own calendar (its id is their email) read through Google
 * freeBusy. The emulator answers in Google's wire format; the subgraph asks once per window for
 * every practitioner of a query, merges nothing itself and reports what cannot be answered per
 * practitioner, with the argument at fault for a bad window.
 */
import { createSeedWorld, practitionerDiaryEvents } from '../../../lib/seed';
import type { SeedBooking, SeedWorld } from '../../../lib/seed';
import { startCalendarStack, TOKEN } from './calendar-stack';
import type { CalendarStack } from './calendar-stack';

let world: SeedWorld;
let stack: CalendarStack;

beforeAll(async () => {
  world = createSeedWorld({ patients: 60 });
  stack = await startCalendarStack(world);
});
afterAll(() => stack.stop());

function freeBusy(body: unknown, token = TOKEN) {
  return fetch(`${stack.emulator.url}/calendar/v3/freeBusy`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify(body),
  });
}

const leaveOf = (index: number) => practitionerDiaryEvents(world).find((event) => event.id === `leave${world.practitioners[index]!.id}`)!;
const busyQuery = (from: string, to: string) => `... on Practitioner { id busy(from: "${from}", to: "${to}") { start end } }`;
const representation = (index: number) => ({ __typename: 'Practitioner', id: world.practitioners[index]!.id, email: world.practitioners[index]!.email });

describe('the emulator’s freeBusy', () => {
  it('answers a practitioner’s busy times in the window, clipped, in UTC, and notFound for a calendar it does not have', async () => {
    const leave = leaveOf(0);
    const timeMin = new Date(Date.parse(leave.start) + 60 * 60 * 1000).toISOString(); // an hour into the leave
    const timeMax = new Date(Date.parse(leave.end) + 60 * 60 * 1000).toISOString();
    const response = await freeBusy({ timeMin, timeMax, items: [{ id: world.practitioners[0]!.email }, { id: 'nobody@example.test' }] });
    expect(response.status).toBe(200);
    const body = (await response.json()) as { kind: string; calendars: Record<string, { busy: Array<{ start: string; end: string }>; errors?: unknown[] }> };
    expect(body.kind).toBe('calendar#freeBusy');
    const busy = body.calendars[world.practitioners[0]!.email]!.busy;
    // The leave, clipped at the window's start; anything else that day comes after it ends.
    expect(busy[0]).toEqual({ start: timeMin.replace('.000Z', 'Z'), end: leave.end.replace('.000Z', 'Z') });
    expect(body.calendars['nobody@example.test']).toEqual({ errors: [{ domain: 'global', reason: 'notFound' }], busy: [] });
  });

  it('counts booked time, but not a cancelled booking', async () => {
    // Bookings no other live booking of the same practitioner overlaps, so the answer is theirs alone.
    const alone = (booking: SeedBooking) =>
      !world.bookings.some(
        (other) => other !== booking && other.practitionerId === booking.practitionerId && other.state !== 'CANCELLED' && other.start < booking.end && other.end > booking.start,
      );
    const booked = world.bookings.find((booking) => booking.state !== 'CANCELLED' && alone(booking));
    const cancelled = world.bookings.find((booking) => booking.state === 'CANCELLED' && alone(booking));
    expect(booked && cancelled).toBeDefined();
    for (const [booking, expected] of [
      [booked!, [{ start: booked!.start.replace('.000Z', 'Z'), end: booked!.end.replace('.000Z', 'Z') }]],
      [cancelled!, []],
    ] as const) {
      const email = world.practitioners.find((practitioner) => practitioner.id === booking.practitionerId)!.email;
      const body = (await (await freeBusy({ timeMin: booking.start, timeMax: booking.end, items: [{ id: email }] })).json()) as any;
      expect(body.calendars[email].busy).toEqual(expected);
    }
  });

  it('rejects what Google rejects, with Google’s reasons', async () => {
    const reasonOf = async (response: Response) => ({ status: response.status, reason: ((await response.json()) as any).error.errors[0].reason });
    expect(await reasonOf(await freeBusy({ timeMax: '2025-06-01T00:00:00Z', items: [] }))).toEqual({ status: 400, reason: 'required' });
    expect(await reasonOf(await freeBusy({ timeMin: '2025-06-02T00:00:00Z', timeMax: '2025-06-01T00:00:00Z', items: [] }))).toEqual({ status: 400, reason: 'timeRangeEmpty' });
    const tooMany = Array.from({ length: 51 }, (_, i) => ({ id: `c${i}@example.test` }));
    expect(await reasonOf(await freeBusy({ timeMin: '2025-06-01T00:00:00Z', timeMax: '2025-06-02T00:00:00Z', items: tooMany }))).toEqual({ status: 400, reason: 'tooManyCalendarsRequested' });
    expect((await freeBusy({ timeMin: '2025-06-01T00:00:00Z', timeMax: '2025-06-02T00:00:00Z', items: [] }, 'wrong-token')).status).toBe(401);
  });
});

describe('Practitioner.busy', () => {
  it('gives every practitioner of a query their busy times from one freeBusy request per window', async () => {
    const from = '2025-04-01T00:00:00Z';
    const to = '2025-05-01T00:00:00Z';
    await stack.resetRequests();
    const answer = await stack.entities<{ id: string; busy: Array<{ start: string; end: string }> }>(busyQuery(from, to), world.practitioners.map((_, index) => representation(index)));
    expect(answer.errors).toBeUndefined();
    expect((await stack.requests()).byRoute).toEqual({ 'POST /calendar/v3/freeBusy': 1 });

    // The same answer as asking the emulator for each practitioner alone.
    for (const [index, practitioner] of world.practitioners.entries()) {
      const direct = (await (await freeBusy({ timeMin: from, timeMax: to, items: [{ id: practitioner.email }] })).json()) as any;
      expect(answer.data!._entities[index]!.busy).toEqual(direct.calendars[practitioner.email].busy);
    }
    // Practitioner 0's leave falls in April 2025.
    const leave = leaveOf(0);
    expect(answer.data!._entities[0]!.busy).toContainEqual({ start: leave.start.replace('.000Z', 'Z'), end: leave.end.replace('.000Z', 'Z') });
  });

  it('is an error for that practitioner alone when Google has no calendar under their email', async () => {
    const answer = await stack.entities<{ id: string; busy: unknown } | null>(busyQuery('2025-04-01T00:00:00Z', '2025-04-02T00:00:00Z'), [
      representation(0),
      { __typename: 'Practitioner', id: 'no-calendar', email: 'gone@example.test' },
    ]);
    expect(answer.data!._entities[0]).toMatchObject({ id: world.practitioners[0]!.id });
    expect(answer.errors).toEqual([expect.objectContaining({ path: ['_entities', 1, 'busy'], extensions: expect.objectContaining({ code: 'CALENDAR_NOT_FOUND', vendor: 'google-calendar' }) })]);
  });

  it('names the argument at fault for a window it will not ask Google about', async () => {
    const cases: Array<[string, string, string]> = [
      ['not a time', '2025-04-02T00:00:00Z', 'from'],
      ['2025-04-01T00:00:00Z', '2025-04-02T00:00:00', 'to'],
      ['2025-04-02T00:00:00Z', '2025-04-01T00:00:00Z', 'to'],
      ['2025-04-01T00:00:00Z', '2025-06-01T00:00:00Z', 'to'],
    ];
    await stack.resetRequests();
    for (const [from, to, argumentName] of cases) {
      const answer = await stack.entities(busyQuery(from, to), [representation(0)]);
      expect(answer.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', argumentName });
    }
    expect((await stack.requests()).total).toBe(0);
  });
});
