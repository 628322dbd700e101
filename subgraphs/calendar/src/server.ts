/**
 * The calendar subgraph: CalendarEvent (owned here, read from Google Calendar) and
 * Appointment.calendarEvent (an Appointment from semble, joined through one windowed
 * events.list per request). Nothing here does I/O at import time.
 */
import fs from 'node:fs';
import { GraphQLError, parse } from 'graphql';
import type { DocumentNode } from 'graphql';
import type { GraphQLResolverMap } from '@apollo/subgraph/dist/schema-helper';
import { fromRoot } from '../../../lib/root';
import { startSubgraph } from '../../../lib/subgraph';
import type { RunningSubgraph } from '../../../lib/subgraph';
import { createGoogleCalendarClient } from '../../../lib/vendors/google-calendar';
import type { GoogleCalendarClient, GoogleEvent } from '../../../lib/vendors/google-calendar';
import type { CalendarConfig } from './config';
import { toCalendarEvent } from './event-model';
import type { CalendarEventModel } from './event-model';
import { calendarNotFound, createLoaders } from './loaders';
import type { AppointmentRef, CalendarLoaders } from './loaders';

export const name = 'calendar';

export function loadTypeDefs(): DocumentNode {
  return parse(fs.readFileSync(fromRoot('subgraphs/calendar/schema.graphql'), 'utf8'));
}

export interface CalendarContext {
  client: GoogleCalendarClient;
  loaders: CalendarLoaders;
}

const toModel = (event: GoogleEvent | null, context: CalendarContext): CalendarEventModel | null =>
  event && toCalendarEvent(event, context.client.calendarId);

const RFC3339_INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/i;

/** Practitioner.busy's longest window: a month of one calendar keeps each answer small. */
export const MAX_BUSY_WINDOW_DAYS = 31;

function badArgument(argumentName: string, expected: string): GraphQLError {
  return new GraphQLError(`${argumentName}: expected ${expected}`, { extensions: { code: 'BAD_USER_INPUT', argumentName, expected } });
}

/** The window as Google wants it (RFC 3339 UTC), or the argument at fault. */
function busyWindow(args: { from: unknown; to: unknown }): { timeMin: string; timeMax: string } {
  const instant = (name: 'from' | 'to') => {
    const value = args[name];
    // An offset is required: without one the instant would depend on this server's zone.
    const ms = typeof value === 'string' && RFC3339_INSTANT.test(value) ? Date.parse(value) : Number.NaN;
    if (Number.isNaN(ms)) throw badArgument(name, 'an ISO 8601 date-time with an offset, e.g. 2025-06-02T09:00:00Z');
    return ms;
  };
  const from = instant('from');
  const to = instant('to');
  if (to <= from) throw badArgument('to', 'a time after `from`');
  if (to - from > MAX_BUSY_WINDOW_DAYS * 24 * 60 * 60 * 1000) throw badArgument('to', `at most ${MAX_BUSY_WINDOW_DAYS} days after \`from\``);
  return { timeMin: new Date(from).toISOString(), timeMax: new Date(to).toISOString() };
}

export const resolvers: GraphQLResolverMap<CalendarContext> = {
  Practitioner: {
    async busy(practitioner: { id: string; email?: string | null }, args: { from: unknown; to: unknown }, context: CalendarContext) {
      const window = busyWindow(args);
      if (!practitioner.email) throw calendarNotFound();
      return context.loaders.busy.load({ calendarId: practitioner.email, ...window });
    },
  },
  Appointment: {
    async calendarEvent(appointment: AppointmentRef, _args: unknown, context: CalendarContext) {
      return toModel(await context.loaders.eventByAppointment.load({ id: appointment.id, start: appointment.start }), context);
    },
  },
  CalendarEvent: {
    async __resolveReference(reference: { id: string }, context: CalendarContext) {
      return toModel(await context.loaders.eventById.load(reference.id), context);
    },
    appointment(event: CalendarEventModel) {
      return event.sembleBookingId ? { __typename: 'Appointment', id: event.sembleBookingId } : null;
    },
  },
};

export async function createServer(config: CalendarConfig): Promise<RunningSubgraph> {
  return startSubgraph<CalendarContext>({
    name,
    typeDefs: loadTypeDefs(),
    resolvers,
    context: () => {
      const client = createGoogleCalendarClient({
        baseUrl: config.baseUrl,
        token: config.token,
        calendarId: config.calendarId,
        timeoutMs: config.timeoutMs,
      });
      return { client, loaders: createLoaders(client) };
    },
    port: config.port,
    internalTokenSecret: config.internalTokenSecret,
    host: config.host,
  });
}
