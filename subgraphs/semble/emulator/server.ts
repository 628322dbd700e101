/**
 * The Semble emulator: a real GraphQL server at POST /graphql speaking the subset of Semble's
 * API the subgraph uses, with Semble's field names, `x-token` auth (401
 * `{"errors":[{"message":"Unauthorized"}]}` otherwise), page/pageSize pagination (pageSize at
 * most 100, a GraphQL error beyond) and `{ data, pageInfo { hasMore } }` list payloads.
 * Request counters and fault injection come from the shared emulator app (/__admin).
 */
import { buildSchema, graphql } from 'graphql';
import type { Request } from 'express';
import { createEmulatorApp, requireToken } from '../../../lib/emulator';
import { listen } from '../../../lib/listen';
import type { Listening } from '../../../lib/listen';
import type { SeedWorld } from '../../../lib/seed';
import type { SembleBooking, SembleInvoice, SemblePatient } from '../src/client';
import { createSembleStore, inRange, matchesOptions, paginate, SembleInputError } from './store';
import type { DateRange, Pagination, QueryOptions, SembleStore } from './store';

/**
 * Input type names are the emulator's own: the client writes arguments as literals, so it
 * never depends on them. Arguments marked "emulator extension" have no verified equivalent
 * in the real API.
 */
const SDL = /* GraphQL */ `
  input PaginationInput { page: Int, pageSize: Int }
  input DateRangeInput { start: String, end: String }
  input QueryOptionsInput { updatedAt: DateRangeInput, includeDeleted: Boolean }

  type PageInfo { hasMore: Boolean! }

  type PatientPhone { phoneId: ID! phoneType: String phoneNumber: String }
  type PatientAddress { address: String city: String postcode: String country: String }
  type PatientNumber { id: ID! name: String! value: String }
  type CommunicationPreferences { receiveEmail: Boolean receiveSMS: Boolean promotionalMarketing: Boolean }
  type Patient {
    id: ID!
    title: String
    status: String
    firstName: String
    lastName: String
    fullName: String
    dob: String
    gender: String
    sex: String
    email: String
    createdAt: String!
    updatedAt: String!
    phones: [PatientPhone!]
    address: PatientAddress
    numbers: [PatientNumber!]
    communicationPreferences: CommunicationPreferences
  }
  type PatientsData { data: [Patient!]! pageInfo: PageInfo! }

  type BookingDoctor { id: ID! firstName: String lastName: String }
  type BookingAppointment { title: String }
  type BookingJourney { arrived: String consultation: String departed: String dna: String }
  type Booking {
    id: ID!
    start: String!
    end: String!
    updatedAt: String!
    patientId: ID!
    deleted: Boolean
    cancellationReason: String
    doctor: BookingDoctor
    location: String
    appointment: BookingAppointment
    bookingJourney: BookingJourney
  }
  type BookingsData { data: [Booking!]! pageInfo: PageInfo! }

  type Invoice {
    id: ID!
    invoiceNumber: String!
    date: String!
    patientId: ID!
    total: Float!
    outstanding: Float!
    status: String!
    paidOrOutstanding: String
    updatedAt: String!
  }
  type InvoicesData { data: [Invoice!]! pageInfo: PageInfo! }

  type User { id: ID! firstName: String lastName: String email: String isDoctor: Boolean }

  type Query {
    # email: emulator extension (exact match after trim, case-insensitive).
    patients(pagination: PaginationInput, search: String, options: QueryOptionsInput, email: String): PatientsData
    patient(id: ID!): Patient
    # patientId: emulator extension.
    bookings(pagination: PaginationInput, options: QueryOptionsInput, dateRange: DateRangeInput, patientId: ID): BookingsData
    booking(id: ID!): Booking
    # patientId: emulator extension.
    invoices(dateRange: DateRangeInput, pagination: PaginationInput, options: QueryOptionsInput, patientId: ID): InvoicesData
    invoice(id: ID!): Invoice
    users: [User!]!
    user(id: ID!): User
  }
`;

const schema = buildSchema(SDL);

interface ListArgs {
  pagination?: Pagination | null;
  options?: QueryOptions | null;
  dateRange?: DateRange | null;
}

function matchesSearch(patient: SemblePatient, search: string): boolean {
  const needle = search.trim().toLowerCase();
  if (!needle) return true;
  const digits = needle.replace(/\D/g, '');
  const haystack = [patient.firstName, patient.lastName, patient.fullName, patient.email].map((value) => (value ?? '').toLowerCase());
  if (haystack.some((value) => value.includes(needle))) return true;
  return digits.length >= 3 && (patient.phones ?? []).some((phone) => (phone.phoneNumber ?? '').replace(/\D/g, '').includes(digits));
}

function byStartThenId(a: SembleBooking, b: SembleBooking): number {
  return a.start < b.start ? -1 : a.start > b.start ? 1 : a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

function createRoot(store: SembleStore) {
  return {
    patients(args: ListArgs & { search?: string | null; email?: string | null }) {
      const options = matchesOptions(args.options);
      const email = args.email?.trim().toLowerCase();
      const records = [...store.patients.values()].filter(
        (patient) =>
          options(patient) &&
          (!args.search || matchesSearch(patient, args.search)) &&
          (email === undefined || (patient.email ?? '').trim().toLowerCase() === email),
      );
      return paginate(records, args.pagination);
    },
    patient({ id }: { id: string }) {
      const patient = store.patients.get(id);
      return patient && !patient.deleted ? patient : null;
    },
    bookings(args: ListArgs & { patientId?: string | null }) {
      const options = matchesOptions(args.options);
      const starts = inRange(args.dateRange, 'dateRange');
      const records = [...store.bookings.values()]
        .filter((booking) => options(booking) && starts(booking.start) && (!args.patientId || booking.patientId === args.patientId))
        .sort(byStartThenId);
      return paginate(records, args.pagination);
    },
    booking({ id }: { id: string }) {
      return store.bookings.get(id) ?? null;
    },
    invoices(args: ListArgs & { patientId?: string | null }) {
      const options = matchesOptions(args.options);
      const dated = inRange(args.dateRange, 'dateRange');
      const records: SembleInvoice[] = [...store.invoices.values()].filter(
        (invoice) => options(invoice) && dated(invoice.date) && (!args.patientId || invoice.patientId === args.patientId),
      );
      return paginate(records, args.pagination);
    },
    invoice({ id }: { id: string }) {
      const invoice = store.invoices.get(id);
      return invoice && !invoice.deleted ? invoice : null;
    },
    users() {
      return [...store.users.values()];
    },
    user({ id }: { id: string }) {
      return store.users.get(id) ?? null;
    },
  };
}

export interface SembleEmulatorOptions {
  /** The seed world; the emulator serves its practice slice. */
  world: SeedWorld;
  /** The API token clients must send as `x-token`. */
  token: string;
  /** @default 0 (any free port) */
  port?: number;
  /** @default 127.0.0.1 */
  host?: string;
}

export interface SembleEmulator extends Listening {
  /** The live data; edits show up in the next query. */
  store: SembleStore;
}

export async function startSembleEmulator(options: SembleEmulatorOptions): Promise<SembleEmulator> {
  const store = createSembleStore(options.world);
  const rootValue = createRoot(store);
  const { app } = createEmulatorApp();

  app.post(
    '/graphql',
    requireToken(
      (req: Request) => req.header('x-token'),
      options.token,
      (res) => {
        res.status(401).json({ errors: [{ message: 'Unauthorized' }] });
      },
    ),
    async (req, res) => {
      const body = (req.body ?? {}) as { query?: unknown; variables?: unknown; operationName?: unknown };
      if (typeof body.query !== 'string') {
        res.status(400).json({ errors: [{ message: 'Must provide query string.' }] });
        return;
      }
      const result = await graphql({
        schema,
        source: body.query,
        rootValue,
        variableValues: body.variables && typeof body.variables === 'object' ? (body.variables as Record<string, unknown>) : undefined,
        operationName: typeof body.operationName === 'string' ? body.operationName : undefined,
      });
      // Resolver errors are Semble's own messages; anything else (a bug in the emulator) is masked.
      const errors = result.errors?.map((error) => ({
        message: error.originalError && !(error.originalError instanceof SembleInputError) && error.path ? 'Internal server error' : error.message,
        ...(error.path ? { path: error.path } : {}),
        ...(error.locations ? { locations: error.locations } : {}),
      }));
      // Parse and validation failures have no data at all: Semble answers those with 400.
      res.status('data' in result ? 200 : 400).json(errors ? { data: result.data ?? null, errors } : { data: result.data });
    },
  );

  const listening = await listen(app, options.port ?? 0, options.host ?? '127.0.0.1');
  return { ...listening, store };
}
