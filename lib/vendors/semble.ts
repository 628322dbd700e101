/**
 * Typed client for Semble's GraphQL API (POST {baseUrl}/graphql, header `x-token`). Owns the
 * wire records (Semble's field names), the documents we send, and how a Semble answer becomes
 * data or a VendorError. Batched reads put many root fields into ONE document under aliases
 * (`a0: patient(id: …) {…} a1: …`), so a page of 500 patients costs a handful of requests.
 *
 * Arguments are written into documents as GraphQL literals (strings through JSON.stringify,
 * which escapes exactly what GraphQL needs) rather than variables, so we never have to know
 * Semble's input type names.
 */
import { createVendorHttp } from '../vendor-http';
import type { VendorHttp } from '../vendor-http';
import { VendorError, VendorErrorCode } from '../vendor-error';

export const VENDOR = 'semble';
/** Semble's largest page. */
export const MAX_PAGE_SIZE = 100;
/** Root fields per aliased document: keeps each document (and Semble's work per request) bounded. */
export const MAX_ALIASES = 50;

// ---- Wire records (Semble field names) ----

export interface SemblePhone {
  phoneId: string;
  phoneType: string | null;
  phoneNumber: string | null;
}

export interface SembleAddress {
  address: string | null;
  city: string | null;
  postcode: string | null;
  country: string | null;
}

/** An identifier held on the patient; the NHS number is the entry named NHS_UK. */
export interface SembleNumber {
  id: string;
  name: string;
  value: string | null;
}

export interface SembleCommunicationPreferences {
  receiveEmail: boolean | null;
  receiveSMS: boolean | null;
  promotionalMarketing: boolean | null;
}

export interface SemblePatient {
  id: string;
  title: string | null;
  /** "active" or "archived". */
  status: string | null;
  firstName: string | null;
  lastName: string | null;
  fullName: string | null;
  /** Date of birth, an ISO date or date-time. */
  dob: string | null;
  gender: string | null;
  sex: string | null;
  email: string | null;
  createdAt: string;
  updatedAt: string;
  phones: SemblePhone[] | null;
  address: SembleAddress | null;
  numbers: SembleNumber[] | null;
  communicationPreferences: SembleCommunicationPreferences | null;
}

export interface SembleBookingJourney {
  arrived: string | null;
  consultation: string | null;
  departed: string | null;
  dna: string | null;
}

export interface SembleBooking {
  id: string;
  start: string;
  end: string;
  updatedAt: string;
  patientId: string;
  deleted: boolean | null;
  cancellationReason: string | null;
  doctor: { id: string; firstName: string | null; lastName: string | null } | null;
  location: string | null;
  appointment: { title: string | null } | null;
  bookingJourney: SembleBookingJourney | null;
}

export interface SembleInvoice {
  id: string;
  invoiceNumber: string;
  /** Invoice date, an ISO date or date-time. */
  date: string;
  patientId: string;
  /** Major units (pounds). */
  total: number;
  outstanding: number;
  status: string;
  paidOrOutstanding: string | null;
  updatedAt: string;
}

/** A practice user; practitioners are users. The exact user fields are unverified. */
export interface SembleUser {
  id: string;
  firstName: string | null;
  lastName: string | null;
  email: string | null;
  isDoctor: boolean | null;
}

export interface SemblePage<T> {
  data: T[];
  pageInfo: { hasMore: boolean };
}

export const PATIENT_FIELDS =
  'id title status firstName lastName fullName dob gender sex email createdAt updatedAt ' +
  'phones { phoneId phoneType phoneNumber } address { address city postcode country } numbers { id name value } ' +
  'communicationPreferences { receiveEmail receiveSMS promotionalMarketing }';
export const BOOKING_FIELDS =
  'id start end updatedAt patientId deleted cancellationReason doctor { id firstName lastName } location ' +
  'appointment { title } bookingJourney { arrived consultation departed dna }';
export const INVOICE_FIELDS = 'id invoiceNumber date patientId total outstanding status paidOrOutstanding updatedAt';
export const USER_FIELDS = 'id firstName lastName email isDoctor';

// ---- Documents ----

/** A GraphQL literal for a JSON-like value; undefined members are left out. */
export function graphqlLiteral(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new TypeError(`expected a finite number, got ${value}`);
    return String(value);
  }
  if (typeof value === 'boolean') return String(value);
  if (Array.isArray(value)) return `[${value.map(graphqlLiteral).join(', ')}]`;
  if (typeof value === 'object') {
    const members = Object.entries(value as Record<string, unknown>)
      .filter(([, member]) => member !== undefined)
      .map(([key, member]) => `${key}: ${graphqlLiteral(member)}`);
    return `{${members.join(', ')}}`;
  }
  throw new TypeError(`expected a JSON-like value, got ${typeof value}`);
}

/** One root field of a document: `field(args) { selection }`. */
export interface RootField {
  field: string;
  args: Record<string, unknown>;
  selection: string;
}

function renderField(alias: string, root: RootField): string {
  const args = Object.entries(root.args).filter(([, value]) => value !== undefined);
  const argText = args.length ? `(${args.map(([key, value]) => `${key}: ${graphqlLiteral(value)}`).join(', ')})` : '';
  return `${alias}: ${root.field}${argText} { ${root.selection} }`;
}

interface GraphQLAnswer {
  data?: Record<string, unknown> | null;
  errors?: Array<{ message?: string; path?: ReadonlyArray<string | number> }>;
}

// ---- Client ----

export interface SembleClientOptions {
  /** Semble's base URL without /graphql, e.g. https://open.semble.io or an emulator's URL. */
  baseUrl: string;
  /** API token, sent as `x-token`. */
  token: string;
  /** Abort one attempt after this long. @default 10000 */
  timeoutMs?: number;
  /** Injected for tests; the global fetch otherwise. */
  fetch?: typeof fetch;
}

export interface PatientListArgs {
  page: number;
  pageSize: number;
  search?: string;
  /** Only patients changed at or after this instant (Semble `options.updatedAt.start`). */
  updatedSince?: string;
  /** Emulator extension: exact, case-insensitive email match. Real-API equivalent unverified. */
  email?: string;
}

export interface BookingListArgs {
  page: number;
  pageSize: number;
  /** Bookings starting in [start, end). */
  start: string;
  end: string;
}

export type ActivityKind = 'bookings' | 'invoices';

/** A new patient as Semble's createPatient takes it (`patientData`); absent members are not sent. */
export interface SembleNewPatient {
  first: string;
  last: string;
  email?: string;
  /** YYYY-MM-DD. */
  dob?: string;
  /** Emulator extension, unverified against the real API: the patient's mobile number. */
  phone?: string;
  address?: string;
  city?: string;
  postcode?: string;
  country?: string;
}

/** Semble answered a write with its payload's `error` (its message is not kept: it may name the patient). */
export class SembleRejectedError extends Error {
  override name = 'SembleRejectedError';
  constructor() {
    super('Semble refused the write');
  }
}

export interface ActivityRequest {
  patientId: string;
  kind: ActivityKind;
}

export type SembleClient = ReturnType<typeof createSembleClient>;

export function createSembleClient(options: SembleClientOptions) {
  const http: VendorHttp = createVendorHttp({
    vendor: VENDOR,
    baseUrl: options.baseUrl,
    headers: { 'x-token': options.token },
    timeoutMs: options.timeoutMs,
    fetch: options.fetch,
  });

  /** Send one document of aliased root fields; each slot is the field's value, or an Error. */
  async function sendAliased(fields: RootField[]): Promise<Array<unknown>> {
    if (fields.length === 0) return [];
    const query = `query {\n${fields.map((field, i) => `  ${renderField(`a${i}`, field)}`).join('\n')}\n}`;
    // Reads are idempotent, so the HTTP layer may retry them even though they are POSTs.
    const answer = await http.request<GraphQLAnswer>({ method: 'POST', path: '/graphql', body: { query }, retryable: true });
    if (!answer || typeof answer !== 'object') throw new VendorError(VENDOR, VendorErrorCode.BadResponse, 'answered with a body that is not a GraphQL response');
    const failed = new Map<string, VendorError>();
    for (const error of answer.errors ?? []) {
      const alias = error.path?.[0];
      // Semble's messages are not echoed: they may name a patient.
      const vendorError = new VendorError(VENDOR, VendorErrorCode.BadResponse, 'answered with a GraphQL error');
      if (typeof alias !== 'string') throw vendorError;
      failed.set(alias, vendorError);
    }
    if (!answer.data) throw new VendorError(VENDOR, VendorErrorCode.BadResponse, 'answered without data');
    const data = answer.data;
    return fields.map((_, i) => failed.get(`a${i}`) ?? data[`a${i}`] ?? null);
  }

  async function one<T>(field: RootField): Promise<T> {
    const [value] = await sendAliased([field]);
    if (value instanceof Error) throw value;
    if (value === null || value === undefined) throw new VendorError(VENDOR, VendorErrorCode.BadResponse, `answered ${field.field} with null`);
    return value as T;
  }

  /** Look records up by id, MAX_ALIASES per document, documents in parallel; null for a miss. */
  async function byIds<T>(field: string, selection: string, ids: readonly string[]): Promise<Array<T | null | Error>> {
    const chunks: string[][] = [];
    for (let i = 0; i < ids.length; i += MAX_ALIASES) chunks.push(ids.slice(i, i + MAX_ALIASES));
    const answers = await Promise.all(
      chunks.map((chunk) =>
        sendAliased(chunk.map((id) => ({ field, args: { id }, selection }))).catch((error: unknown) => chunk.map(() => asError(error))),
      ),
    );
    return answers.flat() as Array<T | null | Error>;
  }

  function listPatients(args: PatientListArgs): Promise<SemblePage<SemblePatient>> {
    return one({
      field: 'patients',
      args: {
        pagination: { page: args.page, pageSize: args.pageSize },
        search: args.search,
        options: args.updatedSince ? { updatedAt: { start: args.updatedSince } } : undefined,
        email: args.email,
      },
      selection: `data { ${PATIENT_FIELDS} } pageInfo { hasMore }`,
    });
  }

  function listBookings(args: BookingListArgs): Promise<SemblePage<SembleBooking>> {
    return one({
      field: 'bookings',
      args: { pagination: { page: args.page, pageSize: args.pageSize }, dateRange: { start: args.start, end: args.end } },
      selection: `data { ${BOOKING_FIELDS} } pageInfo { hasMore }`,
    });
  }

  function activityField(request: ActivityRequest, page: number): RootField {
    return {
      field: request.kind,
      // `patientId` on bookings/invoices is an emulator extension; the real API's equivalent is unverified.
      args: { patientId: request.patientId, pagination: { page, pageSize: MAX_PAGE_SIZE } },
      selection: `data { ${request.kind === 'bookings' ? BOOKING_FIELDS : INVOICE_FIELDS} } pageInfo { hasMore }`,
    };
  }

  /** Every remaining page of one patient's bookings or invoices, after page `from`. */
  async function restOf(request: ActivityRequest, from: number): Promise<unknown[]> {
    const rest: unknown[] = [];
    for (let page = from + 1; ; page++) {
      const answer = await one<SemblePage<unknown>>(activityField(request, page));
      rest.push(...answer.data);
      if (!answer.pageInfo.hasMore || answer.data.length === 0) return rest;
    }
  }

  /**
   * Bookings and/or invoices of many patients: one document per up to MAX_ALIASES patients
   * (holding both kinds when both are asked for), then extra pages only for a patient with
   * more than one page. Results in request order; an Error in the slot of a failed request.
   */
  async function activityOf(requests: readonly ActivityRequest[]): Promise<Array<SembleBooking[] | SembleInvoice[] | Error>> {
    const chunks: ActivityRequest[][] = [];
    let current: ActivityRequest[] = [];
    let patientsInCurrent = new Set<string>();
    for (const request of requests) {
      if (!patientsInCurrent.has(request.patientId) && patientsInCurrent.size === MAX_ALIASES) {
        chunks.push(current);
        current = [];
        patientsInCurrent = new Set();
      }
      patientsInCurrent.add(request.patientId);
      current.push(request);
    }
    if (current.length) chunks.push(current);

    const answers = await Promise.all(
      chunks.map(async (chunk) => {
        let pages: unknown[];
        try {
          pages = await sendAliased(chunk.map((request) => activityField(request, 1)));
        } catch (error) {
          return chunk.map(() => asError(error));
        }
        return Promise.all(
          pages.map(async (page, i) => {
            if (page instanceof Error) return page;
            const first = page as SemblePage<unknown> | null;
            if (!first) return new VendorError(VENDOR, VendorErrorCode.BadResponse, 'answered a list with null');
            if (!first.pageInfo.hasMore) return first.data;
            try {
              return [...first.data, ...(await restOf(chunk[i] as ActivityRequest, 1))];
            } catch (error) {
              return asError(error);
            }
          }),
        );
      }),
    );
    return answers.flat() as Array<SembleBooking[] | SembleInvoice[] | Error>;
  }

  /**
   * Creates a patient (Semble then sends PATIENT_CREATED to its webhooks). A write without an
   * idempotency key: never retried, so a timeout may leave a patient created.
   */
  async function createPatient(patientData: SembleNewPatient): Promise<SemblePatient> {
    const query = `mutation {\n  createPatient(patientData: ${graphqlLiteral(patientData)}) { data { ${PATIENT_FIELDS} } error }\n}`;
    const answer = await http.request<GraphQLAnswer>({ method: 'POST', path: '/graphql', body: { query }, retryable: false });
    const payload = answer?.data?.createPatient as { data?: SemblePatient | null; error?: string | null } | undefined;
    if (answer?.errors?.length || !payload) throw new VendorError(VENDOR, VendorErrorCode.BadResponse, 'answered createPatient without its payload');
    if (payload.error || !payload.data) throw new SembleRejectedError();
    return payload.data;
  }

  return {
    vendor: VENDOR,
    createPatient,
    listPatients,
    listBookings,
    patientsById: (ids: readonly string[]) => byIds<SemblePatient>('patient', PATIENT_FIELDS, ids),
    bookingsById: (ids: readonly string[]) => byIds<SembleBooking>('booking', BOOKING_FIELDS, ids),
    invoicesById: (ids: readonly string[]) => byIds<SembleInvoice>('invoice', INVOICE_FIELDS, ids),
    usersById: (ids: readonly string[]) => byIds<SembleUser>('user', USER_FIELDS, ids),
    activityOf,
  };
}

function asError(error: unknown): Error {
  return error instanceof Error ? error : new VendorError(VENDOR, VendorErrorCode.BadResponse, 'failed');
}
