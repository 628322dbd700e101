/**
 * The calendar subgraph: CalendarEvent (owned here, read from Google Calendar) and
 * Appointment.calendarEvent (an Appointment from semble, joined through one windowed
 * events.list per request). Nothing here does I/O at import time.
 */
import fs from 'node:fs';
import { parse } from 'graphql';
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
import { createLoaders } from './loaders';
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

export const resolvers: GraphQLResolverMap<CalendarContext> = {
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
    host: config.host,
  });
}
