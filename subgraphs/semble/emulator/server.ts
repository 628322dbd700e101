/**
 * The Semble emulator: a real GraphQL server at POST /graphql speaking the subset of Semble's
 * API the subgraph uses, with Semble's field names, `x-token` auth (401
 * `{"errors":[{"message":"Unauthorized"}]}` otherwise), page/pageSize pagination (pageSize at
 * most 100, a GraphQL error beyond) and `{ data, pageInfo { hasMore } }` list payloads.
 * Request counters and fault injection come from the shared emulator app (/__admin).
 *
 * Writes and webhooks: `updatePatient(id, patientData)` changes a patient as Semble's API does,
 * and the admin routes below stand for a person using Semble's UI. Every change bumps
 * `updatedAt` and, with a `webhook` configured, POSTs Semble's event hint
 * `{ eventType, data: { id } }` with the shared-secret header (lib/webhooks/semble.ts) —
 * for API writes too, as Semble notifies every change whoever made it.
 *
 *   POST  /__admin/patients      { firstName, lastName, title?, gender?, email?, dob?, phone?, address?,
 *                                  city?, postcode?, country? }  → 201 the new patient; PATIENT_CREATED
 *         (as does the `createPatient(patientData)` mutation)
 *   PATCH /__admin/patients/:id  { firstName?, lastName?, email?, dob?, phone?, address?, city?,
 *                                  postcode?, country? }  → PATIENT_UPDATED
 *   GET   /__admin/patients/:id/changes  → { changes: [{ patientId, at, source: UI | API, fields }] }:
 *         emulator extension (Semble keeps no field history), who changed which fields (names
 *         only), so a test can tell writes through the API (the sync engine's) from people's
 *   POST  /__admin/bookings      { patientId, start, end, doctorId?, location?, appointmentType? }
 *                                → 201 the new booking; BOOKING_CREATED
 *   PATCH /__admin/bookings/:id  { start?, end?, cancel?: true, cancellationReason?,
 *                                  attendance?: ARRIVED | COMPLETED | DNA } → BOOKING_UPDATED
 *   GET   /__admin/webhooks      deliveries so far (lib/webhooks/emulator-admin.ts)
 */
import { buildSchema, graphql } from 'graphql';
import type { Request, Response } from 'express';
import { createEmulatorApp, requireToken } from '../../../lib/emulator';
import { listen } from '../../../lib/listen';
import type { Listening } from '../../../lib/listen';
import type { SeedWorld } from '../../../lib/seed';
import { createAdminFront, createWebhookSender, sendAdminResult, signSemble } from '../../../lib/webhooks';
import type { SembleEventType, SembleWebhookBody, WebhookDelivery, WebhookRetryOptions } from '../../../lib/webhooks';
import type { SembleBooking, SembleInvoice, SemblePatient } from '../../../lib/vendors/semble';
import { applyBookingChanges, applyPatientChanges, createBooking, createPatient, createSembleStore, inRange, matchesOptions, paginate, SembleInputError } from './store';
import type { BookingChanges, DateRange, NewBooking, NewPatient, Pagination, PatientChanges, QueryOptions, SembleStore, Stored } from './store';

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

  # Absent fields stay as they are; null clears (first and last cannot be cleared).
  input PatientDataInput {
    first: String
    last: String
    email: String
    dob: String
    address: String
    city: String
    postcode: String
    country: String
    # Emulator extension, UNVERIFIED against Semble's real API (which may manage phones through
    # separate mutations): replaces the number of the patient's first phone, as the admin route does.
    phone: String
  }
  type PatientPayload { data: Patient error: String }

  # createPatient's input (Semble's own takes more, e.g. numbers and custom attributes: not emulated).
  input CreatePatientDataInput {
    first: String!
    last: String!
    title: String
    gender: String
    email: String
    dob: String
    address: String
    city: String
    postcode: String
    country: String
    # Emulator extension, UNVERIFIED (as on PatientDataInput): the patient's mobile number.
    phone: String
  }

  type Mutation {
    createPatient(patientData: CreatePatientDataInput!): PatientPayload
    updatePatient(id: ID!, patientData: PatientDataInput!): PatientPayload
  }

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

interface PatientDataInput {
  first?: string | null;
  last?: string | null;
  email?: string | null;
  dob?: string | null;
  address?: string | null;
  city?: string | null;
  postcode?: string | null;
  country?: string | null;
  /** Emulator extension (unverified): the first phone's number. */
  phone?: string | null;
}

/** An ISO date (YYYY-MM-DD) or date-time, as Semble stores dob. */
function isDate(value: string): boolean {
  return /^\d{4}-\d{2}-\d{2}([T ][\d:.]+(Z|[+-]\d{2}:?\d{2})?)?$/.test(value) && !Number.isNaN(Date.parse(value));
}

/** The wire record without the store's soft-delete flag. */
function patientView(patient: Stored<SemblePatient>): SemblePatient {
  const { deleted: _deleted, ...view } = patient;
  return view;
}

type Notify = (eventType: SembleEventType, id: string) => Promise<WebhookDelivery | null>;

function createRoot(store: SembleStore, notify: Notify) {
  return {
    /** Semble's payload style, as updatePatient: problems in `error`, naming fields, never values. */
    createPatient({ patientData }: { patientData: PatientDataInput & { first: string; last: string; title?: string | null; gender?: string | null } }) {
      const problem = checkNewPatient({ ...patientData, firstName: patientData.first, lastName: patientData.last });
      if (problem) return { data: null, error: problem };
      const patient = createPatient(store, {
        firstName: patientData.first,
        lastName: patientData.last,
        title: patientData.title,
        gender: patientData.gender,
        email: patientData.email,
        dob: patientData.dob,
        phone: patientData.phone,
        address: patientData.address,
        city: patientData.city,
        postcode: patientData.postcode,
        country: patientData.country,
      });
      void notify('PATIENT_CREATED', patient.id);
      return { data: patient, error: null };
    },
    /** Semble's payload style: problems come back in `error`, not as GraphQL errors. Messages never echo values. */
    updatePatient({ id, patientData }: { id: string; patientData: PatientDataInput }) {
      const patient = store.patients.get(id);
      if (!patient || patient.deleted) return { data: null, error: 'Patient not found' };
      if (patientData.first === null || patientData.first === '' || patientData.last === null || patientData.last === '') {
        return { data: null, error: 'First and last name cannot be empty' };
      }
      if (patientData.phone === null || patientData.phone === '') return { data: null, error: 'phone cannot be empty' };
      if (patientData.dob !== undefined && patientData.dob !== null && !isDate(patientData.dob)) {
        return { data: null, error: 'dob must be a date (YYYY-MM-DD)' };
      }
      const changes: PatientChanges = {
        firstName: patientData.first,
        lastName: patientData.last,
        email: patientData.email,
        dob: patientData.dob,
        address: patientData.address,
        city: patientData.city,
        postcode: patientData.postcode,
        country: patientData.country,
        phone: patientData.phone ?? undefined,
      };
      const fields = applyPatientChanges(patient, changes);
      store.patientChanges.push({ patientId: patient.id, at: patient.updatedAt, source: 'API', fields });
      // The API answers at once; the webhook goes out on its own, as Semble's does.
      void notify('PATIENT_UPDATED', patient.id);
      return { data: patient, error: null };
    },
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

export interface SembleWebhookOptions extends WebhookRetryOptions {
  /** Where Semble POSTs event hints (the URL given to createWebhook). */
  url: string;
  /** Shared secret, registered as a custom header on the Semble webhook. */
  secret: string;
  /** The header carrying the secret. @default x-semble-webhook-secret */
  headerName?: string;
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
  /** Send a webhook for every change; without it changes apply and nothing is sent. */
  webhook?: SembleWebhookOptions;
}

export interface SembleEmulator extends Listening {
  /** The live data; edits show up in the next query. */
  store: SembleStore;
}

export async function startSembleEmulator(options: SembleEmulatorOptions): Promise<SembleEmulator> {
  const store = createSembleStore(options.world);
  const webhook = options.webhook;
  const sender = createWebhookSender({ retryDelaysMs: webhook?.retryDelaysMs, timeoutMs: webhook?.timeoutMs });
  const notify: Notify = async (eventType, id) => {
    if (!webhook) return null;
    const body: SembleWebhookBody = { eventType, data: { id } };
    const text = JSON.stringify(body);
    return sender.send({
      url: webhook.url,
      event: eventType,
      build: () => ({
        headers: { 'content-type': 'application/json', ...signSemble({ secret: webhook.secret, headerName: webhook.headerName }) },
        body: text,
      }),
    });
  };
  const rootValue = createRoot(store, notify);
  const { app } = createEmulatorApp();
  const { root, admin } = createAdminFront(app, sender);
  const badRequest = (res: Response, message: string) => {
    res.status(400).json({ errors: [{ message }] });
  };
  const notFound = (res: Response) => {
    res.status(404).json({ errors: [{ message: 'Not found' }] });
  };

  admin.post('/patients', async (req, res) => {
    const parsed = readNewPatient(req.body);
    if (typeof parsed === 'string') return badRequest(res, parsed);
    const patient = createPatient(store, parsed);
    const delivery = await notify('PATIENT_CREATED', patient.id);
    res.status(201);
    sendAdminResult(res, patientView(patient), delivery ? [delivery.id] : []);
  });

  admin.patch('/patients/:id', async (req, res) => {
    const patient = store.patients.get(req.params.id as string);
    if (!patient || patient.deleted) return notFound(res);
    const parsed = readPatientChanges(req.body);
    if (typeof parsed === 'string') return badRequest(res, parsed);
    const fields = applyPatientChanges(patient, parsed);
    store.patientChanges.push({ patientId: patient.id, at: patient.updatedAt, source: 'UI', fields });
    const delivery = await notify('PATIENT_UPDATED', patient.id);
    sendAdminResult(res, patientView(patient), delivery ? [delivery.id] : []);
  });

  admin.get('/patients/:id/changes', (req, res) => {
    const id = req.params.id as string;
    if (!store.patients.has(id)) return notFound(res);
    res.json({ changes: store.patientChanges.filter((change) => change.patientId === id) });
  });

  admin.post('/bookings', async (req, res) => {
    const parsed = readNewBooking(req.body, store);
    if (typeof parsed === 'string') return badRequest(res, parsed);
    const booking = createBooking(store, parsed);
    const delivery = await notify('BOOKING_CREATED', booking.id);
    res.status(201);
    sendAdminResult(res, booking, delivery ? [delivery.id] : []);
  });

  admin.patch('/bookings/:id', async (req, res) => {
    const booking = store.bookings.get(req.params.id as string);
    if (!booking || booking.deleted) return notFound(res);
    const parsed = readBookingChanges(req.body, booking);
    if (typeof parsed === 'string') return badRequest(res, parsed);
    applyBookingChanges(booking, parsed);
    const delivery = await notify('BOOKING_UPDATED', booking.id);
    sendAdminResult(res, booking, delivery ? [delivery.id] : []);
  });

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

  const listening = await listen(root, options.port ?? 0, options.host ?? '127.0.0.1');
  return {
    ...listening,
    store,
    async stop() {
      sender.stop();
      await listening.stop();
    },
  };
}

const PATIENT_ADMIN_KEYS = ['firstName', 'lastName', 'email', 'dob', 'phone', 'address', 'city', 'postcode', 'country'] as const;

/** The admin body as changes, or a message saying what is wrong (naming keys, never values). */
function readPatientChanges(body: unknown): PatientChanges | string {
  if (!body || typeof body !== 'object' || Array.isArray(body)) return 'Expected a JSON object body.';
  const input = body as Record<string, unknown>;
  const unknown = Object.keys(input).filter((key) => !(PATIENT_ADMIN_KEYS as readonly string[]).includes(key));
  if (unknown.length > 0) return `Unknown field(s) ${unknown.join(', ')}: expected any of ${PATIENT_ADMIN_KEYS.join(', ')}.`;
  if (Object.keys(input).length === 0) return `Expected at least one of ${PATIENT_ADMIN_KEYS.join(', ')}.`;
  for (const key of ['firstName', 'lastName', 'phone'] as const) {
    if (key in input && (typeof input[key] !== 'string' || input[key] === '')) return `${key} must be a non-empty string.`;
  }
  for (const key of ['email', 'dob', 'address', 'city', 'postcode', 'country'] as const) {
    if (key in input && input[key] !== null && typeof input[key] !== 'string') return `${key} must be a string or null.`;
  }
  if (typeof input.dob === 'string' && !isDate(input.dob)) return 'dob must be a date (YYYY-MM-DD).';
  return input as PatientChanges;
}

const NEW_PATIENT_KEYS = ['firstName', 'lastName', 'title', 'gender', 'email', 'dob', 'phone', 'address', 'city', 'postcode', 'country'] as const;

/** What is wrong with a new patient (naming fields, never values), or null. */
function checkNewPatient(input: { firstName?: unknown; lastName?: unknown; dob?: unknown; phone?: unknown }): string | null {
  for (const key of ['firstName', 'lastName'] as const) {
    if (typeof input[key] !== 'string' || (input[key] as string).trim() === '') return `${key} must be a non-empty string.`;
  }
  if (input.dob !== undefined && input.dob !== null && (typeof input.dob !== 'string' || !isDate(input.dob))) return 'dob must be a date (YYYY-MM-DD).';
  if (input.phone !== undefined && input.phone !== null && (typeof input.phone !== 'string' || input.phone === '')) return 'phone must be a non-empty string or null.';
  return null;
}

/** The admin body as a new patient, or a message saying what is wrong. */
function readNewPatient(body: unknown): NewPatient | string {
  if (!body || typeof body !== 'object' || Array.isArray(body)) return 'Expected a JSON object body.';
  const input = body as Record<string, unknown>;
  const unknown = Object.keys(input).filter((key) => !(NEW_PATIENT_KEYS as readonly string[]).includes(key));
  if (unknown.length > 0) return `Unknown field(s) ${unknown.join(', ')}: expected any of ${NEW_PATIENT_KEYS.join(', ')}.`;
  const problem = checkNewPatient(input);
  if (problem) return problem;
  for (const key of ['title', 'gender', 'email', 'address', 'city', 'postcode', 'country'] as const) {
    if (key in input && input[key] !== null && typeof input[key] !== 'string') return `${key} must be a string or null.`;
  }
  return input as unknown as NewPatient;
}

function readBookingChanges(body: unknown, booking: SembleBooking): BookingChanges | string {
  if (!body || typeof body !== 'object' || Array.isArray(body)) return 'Expected a JSON object body.';
  const input = body as { start?: unknown; end?: unknown; cancel?: unknown; cancellationReason?: unknown; attendance?: unknown };
  const allowed = ['start', 'end', 'cancel', 'cancellationReason', 'attendance'];
  const unknown = Object.keys(input).filter((key) => !allowed.includes(key));
  if (unknown.length > 0) return `Unknown field(s) ${unknown.join(', ')}: expected any of ${allowed.join(', ')}.`;
  if (input.start === undefined && input.end === undefined && input.cancel === undefined && input.attendance === undefined) {
    return 'Expected at least one of start, end, cancel, attendance.';
  }
  if (input.attendance !== undefined && !['ARRIVED', 'COMPLETED', 'DNA'].includes(input.attendance as string)) return 'attendance must be one of ARRIVED, COMPLETED, DNA.';
  for (const key of ['start', 'end'] as const) {
    const value = input[key];
    if (value !== undefined && (typeof value !== 'string' || Number.isNaN(Date.parse(value)))) return `${key} must be an ISO date-time.`;
  }
  if (input.cancel !== undefined && input.cancel !== true) return 'cancel must be true when given.';
  if (input.cancellationReason !== undefined && (input.cancel !== true || typeof input.cancellationReason !== 'string' || input.cancellationReason === '')) {
    return 'cancellationReason must be a non-empty string, given with cancel: true.';
  }
  const start = Date.parse((input.start as string | undefined) ?? booking.start);
  const end = Date.parse((input.end as string | undefined) ?? booking.end);
  if (end <= start) return 'end must be after start.';
  return {
    ...(input.start !== undefined ? { start: input.start as string } : {}),
    ...(input.end !== undefined ? { end: input.end as string } : {}),
    ...(input.cancel === true ? { cancellationReason: (input.cancellationReason as string | undefined) ?? 'Cancelled by practice' } : {}),
    ...(input.attendance !== undefined ? { attendance: input.attendance as BookingChanges['attendance'] } : {}),
  };
}

function readNewBooking(body: unknown, store: SembleStore): NewBooking | string {
  if (!body || typeof body !== 'object' || Array.isArray(body)) return 'Expected a JSON object body.';
  const input = body as Record<string, unknown>;
  const allowed = ['patientId', 'start', 'end', 'doctorId', 'location', 'appointmentType'];
  const unknown = Object.keys(input).filter((key) => !allowed.includes(key));
  if (unknown.length > 0) return `Unknown field(s) ${unknown.join(', ')}: expected any of ${allowed.join(', ')}.`;
  const patient = typeof input.patientId === 'string' ? store.patients.get(input.patientId) : undefined;
  if (!patient || patient.deleted) return 'patientId must be the id of an existing patient.';
  for (const key of ['start', 'end'] as const) {
    if (typeof input[key] !== 'string' || Number.isNaN(Date.parse(input[key] as string))) return `${key} must be an ISO date-time.`;
  }
  if (Date.parse(input.end as string) <= Date.parse(input.start as string)) return 'end must be after start.';
  if (input.doctorId !== undefined && (typeof input.doctorId !== 'string' || !store.users.has(input.doctorId))) return 'doctorId must be the id of a practice user.';
  for (const key of ['location', 'appointmentType'] as const) {
    if (key in input && input[key] !== null && typeof input[key] !== 'string') return `${key} must be a string or null.`;
  }
  return input as unknown as NewBooking;
}
