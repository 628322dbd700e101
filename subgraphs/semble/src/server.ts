/**
 * The Semble subgraph: Patient, Appointment (Semble booking), Practitioner (Semble user) and
 * Invoice, read from Semble through the typed client and per-request DataLoaders. This module
 * owns the mapping from Semble's wire records to the graph's types; it does no I/O at import.
 */
import fs from 'node:fs';
import { GraphQLError, parse } from 'graphql';
import type { DocumentNode } from 'graphql';
import type { GraphQLResolverMap } from '@apollo/subgraph/dist/schema-helper';
import { startSubgraph } from '../../../lib/subgraph';
import type { RunningSubgraph } from '../../../lib/subgraph';
import { fromRoot } from '../../../lib/root';
import { VendorError, VendorErrorCode } from '../../../lib/vendor-error';
import { appointmentStatusOf } from './booking-status';
import { createSembleClient, MAX_PAGE_SIZE, SembleRejectedError, VENDOR } from '../../../lib/vendors/semble';
import type { SembleBooking, SembleClient, SembleInvoice, SemblePatient, SembleUser } from '../../../lib/vendors/semble';
import type { SembleConfig } from './config';
import { badUserInput, connectionOf, filteredSource, offsetAfter, pagedSource, validateFirst } from './connection';
import { assessDataQuality, toE164 } from '../../../lib/data-quality';
import { createLoaders } from './loaders';
import type { SembleLoaders } from './loaders';

export const name = 'semble';

export function loadTypeDefs(): DocumentNode {
  return parse(fs.readFileSync(fromRoot('subgraphs/semble/schema.graphql'), 'utf8'));
}

export interface SembleContext {
  client: SembleClient;
  loaders: SembleLoaders;
  /** Invoice.currency: Semble reports amounts without one. */
  currency: string;
}

function notFound(kind: string, id: string): GraphQLError {
  return new GraphQLError(`No ${kind} with id "${id}"`, { extensions: { code: 'NOT_FOUND', argumentName: 'id' } });
}

/** An instant argument, normalised to ISO 8601 UTC. */
function instantArgument(value: string, argumentName: string): string {
  const ms = Date.parse(value);
  if (Number.isNaN(ms)) {
    throw badUserInput(argumentName, 'an ISO 8601 date-time', `${argumentName} must be an ISO 8601 date-time, got ${JSON.stringify(value.slice(0, 40))}`);
  }
  return new Date(ms).toISOString();
}

/** Semble's timestamps, normalised when they parse and passed on as given otherwise. */
function instant(value: string): string {
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? value : new Date(ms).toISOString();
}

/** Semble gives dates as a date or a date-time; the graph's Date is YYYY-MM-DD. */
function dateOnly(value: string | null): string | null {
  return value ? value.slice(0, 10) : null;
}

function rawNhsNumber(patient: SemblePatient): string | null {
  return patient.numbers?.find((number) => number.name === 'NHS_UK')?.value ?? null;
}

function phoneNumbers(patient: SemblePatient): string[] {
  return (patient.phones ?? []).map((phone) => phone.phoneNumber?.trim() ?? '').filter((number) => number !== '');
}

/** A Semble list read to its end (for lookups whose answer is small, such as by email). */
async function readAll<T>(fetchPage: (page: number) => Promise<{ data: T[]; pageInfo: { hasMore: boolean } }>): Promise<T[]> {
  const all: T[] = [];
  for (let page = 1; ; page++) {
    const answer = await fetchPage(page);
    all.push(...answer.data);
    if (!answer.pageInfo.hasMore || answer.data.length === 0) return all;
  }
}

interface PatientsArgs {
  first?: number | null;
  after?: string | null;
  filter?: { search?: string | null; updatedSince?: string | null } | null;
}

interface AppointmentsArgs {
  from: string;
  to: string;
  practitionerId?: string | null;
  first?: number | null;
  after?: string | null;
}

interface NewPatientInput {
  firstName: string;
  lastName: string;
  email?: string | null;
  dateOfBirth?: string | null;
  phone?: string | null;
  address?: string | null;
  city?: string | null;
  postcode?: string | null;
  country?: string | null;
}

/** The input checked (names non-blank, a real date of birth) and in Semble's `patientData` shape; messages name fields, never values. */
function newPatientData(input: NewPatientInput) {
  for (const key of ['firstName', 'lastName'] as const) {
    if (!input[key].trim()) throw badUserInput(`input.${key}`, 'a non-blank name', `input.${key} must not be blank`);
  }
  const dob = input.dateOfBirth ?? undefined;
  if (dob !== undefined && (!/^\d{4}-\d{2}-\d{2}$/.test(dob) || Number.isNaN(Date.parse(dob)))) {
    throw badUserInput('input.dateOfBirth', 'a date, YYYY-MM-DD', 'input.dateOfBirth must be a date (YYYY-MM-DD)');
  }
  const optional = (value: string | null | undefined) => (value === null || value === undefined || value.trim() === '' ? undefined : value.trim());
  return {
    first: input.firstName.trim(),
    last: input.lastName.trim(),
    email: optional(input.email),
    dob,
    phone: optional(input.phone),
    address: optional(input.address),
    city: optional(input.city),
    postcode: optional(input.postcode),
    country: optional(input.country),
  };
}

export const resolvers: GraphQLResolverMap<SembleContext> = {
  Mutation: {
    async createPatient(_source: unknown, args: { input: NewPatientInput }, context: SembleContext) {
      try {
        return await context.client.createPatient(newPatientData(args.input));
      } catch (error) {
        if (error instanceof SembleRejectedError) throw new GraphQLError('Semble refused the new patient', { extensions: { code: 'BAD_USER_INPUT', argumentName: 'input' } });
        throw error;
      }
    },
  },
  Query: {
    async patients(_source: unknown, args: PatientsArgs, context: SembleContext) {
      const limit = validateFirst(args.first);
      const offset = offsetAfter(args.after);
      const search = args.filter?.search?.trim() || undefined;
      const updatedSince = args.filter?.updatedSince ? instantArgument(args.filter.updatedSince, 'filter.updatedSince') : undefined;
      const source = pagedSource<SemblePatient>(async (page) => {
        const answer = await context.client.listPatients({ page, pageSize: MAX_PAGE_SIZE, search, updatedSince });
        context.loaders.primePatients(answer.data);
        return answer;
      });
      return connectionOf(source, offset, limit);
    },

    async patient(_source: unknown, args: { id: string }, context: SembleContext) {
      const patient = await context.loaders.patient.load(args.id);
      if (!patient) throw notFound('patient', args.id);
      return patient;
    },

    async patientsByEmail(_source: unknown, args: { email: string }, context: SembleContext) {
      const email = args.email.trim().toLowerCase();
      if (!email) throw badUserInput('email', 'a non-empty email address', 'email must be a non-empty email address, got an empty string');
      // The emulator's `email` filter is an extension; filtering again keeps the answer right
      // against an API that ignores it or matches more loosely.
      const patients = (await readAll((page) => context.client.listPatients({ page, pageSize: MAX_PAGE_SIZE, email }))).filter(
        (patient) => (patient.email ?? '').trim().toLowerCase() === email,
      );
      context.loaders.primePatients(patients);
      return patients;
    },

    async appointments(_source: unknown, args: AppointmentsArgs, context: SembleContext) {
      const limit = validateFirst(args.first);
      const offset = offsetAfter(args.after);
      const from = instantArgument(args.from, 'from');
      const to = instantArgument(args.to, 'to');
      if (Date.parse(to) <= Date.parse(from)) throw badUserInput('to', 'an instant after `from`', 'to must be after from, got an empty or reversed range');
      const fetchPage = async (page: number) => {
        const answer = await context.client.listBookings({ page, pageSize: MAX_PAGE_SIZE, start: from, end: to });
        context.loaders.primeBookings(answer.data);
        return answer;
      };
      // Semble filters bookings by date, not by practitioner: that filter is applied here.
      const practitionerId = args.practitionerId;
      const source = practitionerId
        ? filteredSource(fetchPage, (booking: SembleBooking) => booking.doctor?.id === practitionerId)
        : pagedSource(fetchPage);
      return connectionOf(source, offset, limit);
    },

    async invoice(_source: unknown, args: { id: string }, context: SembleContext) {
      const invoice = await context.loaders.invoice.load(args.id);
      if (!invoice) throw notFound('invoice', args.id);
      return invoice;
    },
  },

  Patient: {
    __resolveReference(reference: { id: string }, context: SembleContext) {
      return context.loaders.patient.load(reference.id);
    },
    firstName: (patient: SemblePatient) => patient.firstName ?? '',
    lastName: (patient: SemblePatient) => patient.lastName ?? '',
    fullName: (patient: SemblePatient) => patient.fullName ?? `${patient.firstName ?? ''} ${patient.lastName ?? ''}`.trim(),
    dateOfBirth: (patient: SemblePatient) => dateOnly(patient.dob),
    email: (patient: SemblePatient) => patient.email ?? null,
    phones: (patient: SemblePatient) =>
      (patient.phones ?? [])
        .filter((phone) => (phone.phoneNumber ?? '').trim() !== '')
        .map((phone) => ({ type: phone.phoneType ?? 'Other', number: phone.phoneNumber, e164: toE164(phone.phoneNumber ?? '') })),
    address: (patient: SemblePatient) =>
      patient.address
        ? { line: patient.address.address, city: patient.address.city, postcode: patient.address.postcode, country: patient.address.country }
        : null,
    nhsNumber: (patient: SemblePatient) => rawNhsNumber(patient)?.replace(/\D/g, '') || null,
    status: (patient: SemblePatient) => ((patient.status ?? '').toLowerCase() === 'archived' ? 'ARCHIVED' : 'ACTIVE'),
    createdAt: (patient: SemblePatient) => instant(patient.createdAt),
    updatedAt: (patient: SemblePatient) => instant(patient.updatedAt),
    dataQuality: (patient: SemblePatient) =>
      assessDataQuality({ email: patient.email, phones: phoneNumbers(patient), nhsNumber: rawNhsNumber(patient) }),
    appointments: (patient: SemblePatient, _args: unknown, context: SembleContext) => context.loaders.bookingsOfPatient(patient.id),
    invoices: (patient: SemblePatient, _args: unknown, context: SembleContext) => context.loaders.invoicesOfPatient(patient.id),
  },

  Appointment: {
    __resolveReference(reference: { id: string }, context: SembleContext) {
      return context.loaders.booking.load(reference.id);
    },
    async patient(booking: SembleBooking, _args: unknown, context: SembleContext) {
      const patient = await context.loaders.patient.load(booking.patientId);
      if (!patient) throw new VendorError(VENDOR, VendorErrorCode.BadResponse, `booking ${booking.id} refers to a patient it does not return`);
      return patient;
    },
    async practitioner(booking: SembleBooking, _args: unknown, context: SembleContext): Promise<SembleUser> {
      const doctor = booking.doctor;
      if (!doctor) throw new VendorError(VENDOR, VendorErrorCode.BadResponse, `booking ${booking.id} has no practitioner`);
      // A user Semble no longer lists is still the booking's doctor: fall back to what the booking says.
      return (await context.loaders.user.load(doctor.id)) ?? { id: doctor.id, firstName: doctor.firstName, lastName: doctor.lastName, email: null, isDoctor: true };
    },
    start: (booking: SembleBooking) => instant(booking.start),
    end: (booking: SembleBooking) => instant(booking.end),
    status: (booking: SembleBooking) => appointmentStatusOf(booking),
    location: (booking: SembleBooking) => booking.location ?? null,
    appointmentType: (booking: SembleBooking) => booking.appointment?.title ?? null,
    updatedAt: (booking: SembleBooking) => instant(booking.updatedAt),
  },

  Practitioner: {
    __resolveReference(reference: { id: string }, context: SembleContext) {
      return context.loaders.user.load(reference.id);
    },
    fullName: (user: SembleUser) => `${user.firstName ?? ''} ${user.lastName ?? ''}`.trim(),
    email: (user: SembleUser) => user.email ?? null,
    isDoctor: (user: SembleUser) => user.isDoctor ?? false,
  },

  Invoice: {
    __resolveReference(reference: { id: string }, context: SembleContext) {
      return context.loaders.invoice.load(reference.id);
    },
    async patient(invoice: SembleInvoice, _args: unknown, context: SembleContext) {
      const patient = await context.loaders.patient.load(invoice.patientId);
      if (!patient) throw new VendorError(VENDOR, VendorErrorCode.BadResponse, `invoice ${invoice.id} refers to a patient it does not return`);
      return patient;
    },
    date: (invoice: SembleInvoice) => dateOnly(invoice.date),
    currency: (_invoice: SembleInvoice, _args: unknown, context: SembleContext) => context.currency,
    updatedAt: (invoice: SembleInvoice) => instant(invoice.updatedAt),
  },
};

export async function createServer(config: SembleConfig): Promise<RunningSubgraph> {
  return startSubgraph<SembleContext>({
    name,
    typeDefs: loadTypeDefs(),
    resolvers,
    port: config.port,
    internalTokenSecret: config.internalTokenSecret,
    host: config.host,
    context: () => {
      const client = createSembleClient({ baseUrl: config.baseUrl, token: config.token, timeoutMs: config.timeoutMs });
      return { client, loaders: createLoaders(client), currency: config.currency };
    },
  });
}
