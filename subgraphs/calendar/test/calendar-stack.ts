/**
 * Test harness for this folder: the real Google Calendar emulator and the real calendar
 * subgraph on port 0, plus helpers to query `_entities` and read the emulator's counters.
 */
import type { SeedBooking, SeedWorld } from '../../../lib/seed';
import { SEED_CALENDAR_ID } from '../../../lib/seed';
import { startGoogleCalendarEmulator } from '../emulator/server';
import type { GoogleCalendarEmulator } from '../emulator/server';
import { createServer } from '../src/server';
import type { RunningSubgraph } from '../../../lib/subgraph';
import { asGateway, TEST_INTERNAL_TOKEN_SECRET } from '../../../lib/test/as-gateway';

export const TOKEN = 'test-google-token';

export interface GraphQLResponse<T = Record<string, unknown>> {
  data?: T;
  errors?: Array<{ message: string; path?: Array<string | number>; extensions?: Record<string, unknown> }>;
}

export interface CalendarStack {
  emulator: GoogleCalendarEmulator;
  subgraph: RunningSubgraph;
  entities<T>(query: string, representations: unknown[]): Promise<GraphQLResponse<{ _entities: T[] }>>;
  /** Requests the emulator served since the last reset. */
  requests(): Promise<{ total: number; byRoute: Record<string, number> }>;
  resetRequests(): Promise<void>;
  stop(): Promise<void>;
}

export const EVENT_FIELDS = 'id provider calendarId summary start end timeZone status updated etag appointment { id }';

export function appointmentRepresentation(booking: SeedBooking) {
  return { __typename: 'Appointment', id: booking.id, start: booking.start };
}

export async function startCalendarStack(world: SeedWorld, options: { subgraphToken?: string } = {}): Promise<CalendarStack> {
  const emulator = await startGoogleCalendarEmulator({ world, token: TOKEN });
  let subgraph: RunningSubgraph;
  try {
    subgraph = await createServer({
      port: 0,
      host: '127.0.0.1',
      baseUrl: emulator.url,
      token: options.subgraphToken ?? TOKEN,
      calendarId: SEED_CALENDAR_ID,
      timeoutMs: 5000,
      internalTokenSecret: TEST_INTERNAL_TOKEN_SECRET,
    });
  } catch (error) {
    await emulator.stop();
    throw error;
  }
  return {
    emulator,
    subgraph,
    async entities<T>(query: string, representations: unknown[]) {
      const response = await fetch(subgraph.graphqlUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(await asGateway('calendar')) },
        body: JSON.stringify({ query: `query($representations: [_Any!]!) { _entities(representations: $representations) { ${query} } }`, variables: { representations } }),
      });
      return (await response.json()) as GraphQLResponse<{ _entities: T[] }>;
    },
    async requests() {
      const response = await fetch(`${emulator.url}/__admin/requests`);
      return (await response.json()) as { total: number; byRoute: Record<string, number> };
    },
    async resetRequests() {
      await fetch(`${emulator.url}/__admin/requests`, { method: 'DELETE' });
    },
    async stop() {
      await subgraph.stop();
      await emulator.stop();
    },
  };
}
