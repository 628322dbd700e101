/**
 * The Semble emulator's data: the seed world's practice slice (patients, bookings, invoices,
 * users) turned into Semble's wire records and held in mutable Maps, so later admin edits and
 * webhooks change what the API serves. Also the list semantics every Semble list query shares:
 * filters, `updatedAt` change windows, deleted records, page/pageSize pagination.
 */
import { randomBytes } from 'node:crypto';
import type { BookingState, SeedWorld } from '../../../lib/seed';
import type { SembleBooking, SembleBookingJourney, SembleInvoice, SemblePage, SemblePatient, SembleUser } from '../../../lib/vendors/semble';

/** Wire record plus the soft-delete flag Semble keeps but list queries hide. */
export type Stored<T> = T & { deleted: boolean };

/**
 * Emulator extension (Semble keeps no field history): one patient change, who made it and which
 * fields it changed (names only). UI: the admin routes, standing for a person; API: updatePatient.
 */
export interface PatientChangeRecord {
  patientId: string;
  /** The patient's updatedAt after the change. */
  at: string;
  source: 'UI' | 'API';
  /** The patient's wire fields whose value changed (firstName, lastName, email, dob, phone, address). */
  fields: string[];
}

export interface SembleStore {
  patients: Map<string, Stored<SemblePatient>>;
  /** Every patient change since start, oldest first. */
  patientChanges: PatientChangeRecord[];
  bookings: Map<string, SembleBooking>;
  invoices: Map<string, Stored<SembleInvoice>>;
  users: Map<string, SembleUser>;
}

const MINUTE = 60 * 1000;

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

/** Semble records attendance as timestamps; the seed's single state becomes those facts. */
function journeyOf(state: BookingState, start: string, end: string): SembleBookingJourney {
  const startMs = Date.parse(start);
  const none: SembleBookingJourney = { arrived: null, consultation: null, departed: null, dna: null };
  switch (state) {
    case 'BOOKED':
    case 'CANCELLED':
      return none;
    case 'ARRIVED':
      return { ...none, arrived: iso(startMs - 5 * MINUTE) };
    case 'COMPLETED':
      return { ...none, arrived: iso(startMs - 5 * MINUTE), consultation: start, departed: end };
    case 'DNA':
      return { ...none, dna: iso(startMs + 15 * MINUTE) };
  }
}

export function createSembleStore(world: SeedWorld): SembleStore {
  const users = new Map<string, SembleUser>();
  for (const practitioner of world.practitioners) {
    users.set(practitioner.id, {
      id: practitioner.id,
      firstName: practitioner.firstName,
      lastName: practitioner.lastName,
      email: practitioner.email,
      isDoctor: practitioner.isDoctor,
    });
  }

  const patients = new Map<string, Stored<SemblePatient>>();
  for (const patient of world.patients) {
    patients.set(patient.id, {
      id: patient.id,
      title: patient.title,
      status: patient.status,
      firstName: patient.firstName,
      lastName: patient.lastName,
      fullName: `${patient.firstName} ${patient.lastName}`,
      dob: patient.dob,
      gender: patient.gender,
      sex: patient.gender,
      email: patient.email,
      createdAt: patient.createdAt,
      updatedAt: patient.updatedAt,
      phones: patient.phones.map((phone) => ({ phoneId: phone.id, phoneType: phone.type, phoneNumber: phone.number })),
      address: { ...patient.address },
      numbers: patient.nhsNumber ? [{ id: `${patient.id}-nhs`, name: 'NHS_UK', value: patient.nhsNumber }] : [],
      communicationPreferences: { receiveEmail: true, receiveSMS: true, promotionalMarketing: patient.promotionalMarketing },
      deleted: false,
    });
  }

  const bookings = new Map<string, SembleBooking>();
  for (const booking of world.bookings) {
    const doctor = users.get(booking.practitionerId);
    bookings.set(booking.id, {
      id: booking.id,
      start: booking.start,
      end: booking.end,
      updatedAt: booking.updatedAt,
      patientId: booking.patientId,
      // A cancelled booking stays (not deleted) with its reason, as the practice sees it.
      deleted: false,
      cancellationReason: booking.state === 'CANCELLED' ? 'Cancelled by patient' : null,
      doctor: doctor ? { id: doctor.id, firstName: doctor.firstName, lastName: doctor.lastName } : null,
      location: booking.location,
      appointment: { title: booking.appointmentType },
      bookingJourney: journeyOf(booking.state, booking.start, booking.end),
    });
  }

  const invoices = new Map<string, Stored<SembleInvoice>>();
  for (const invoice of world.invoices) {
    invoices.set(invoice.id, {
      id: invoice.id,
      invoiceNumber: invoice.invoiceNumber,
      date: invoice.date,
      patientId: invoice.patientId,
      total: invoice.total,
      outstanding: invoice.outstanding,
      status: invoice.status,
      paidOrOutstanding: invoice.outstanding > 0 ? 'outstanding' : 'paid',
      updatedAt: invoice.updatedAt,
      deleted: false,
    });
  }

  return { patients, patientChanges: [], bookings, invoices, users };
}

// ---- List semantics ----

/** Thrown for a bad argument; the GraphQL layer turns it into a Semble-style `errors` entry. */
export class SembleInputError extends Error {}

export interface Pagination {
  page?: number | null;
  pageSize?: number | null;
}

export interface DateRange {
  start?: string | null;
  end?: string | null;
}

export interface QueryOptions {
  updatedAt?: DateRange | null;
  includeDeleted?: boolean | null;
}

/** Semble's default when a list query is sent without pagination (unverified). */
const DEFAULT_PAGE_SIZE = 20;
const MAX_PAGE_SIZE = 100;

export function paginate<T>(records: readonly T[], pagination: Pagination | null | undefined): SemblePage<T> {
  const page = pagination?.page ?? 1;
  const pageSize = pagination?.pageSize ?? DEFAULT_PAGE_SIZE;
  if (!Number.isInteger(page) || page < 1) throw new SembleInputError(`page must be 1 or greater, got ${page}`);
  if (!Number.isInteger(pageSize) || pageSize < 1 || pageSize > MAX_PAGE_SIZE) {
    throw new SembleInputError(`pageSize must be between 1 and ${MAX_PAGE_SIZE}, got ${pageSize}`);
  }
  const from = (page - 1) * pageSize;
  return { data: records.slice(from, from + pageSize), pageInfo: { hasMore: records.length > from + pageSize } };
}

function instant(value: string | null | undefined, name: string): number | undefined {
  if (value === null || value === undefined || value === '') return undefined;
  const ms = Date.parse(value);
  if (Number.isNaN(ms)) throw new SembleInputError(`${name} must be a date, got an invalid value`);
  return ms;
}

/** A predicate for `value` in [start, end) (either side open when absent). */
export function inRange(range: DateRange | null | undefined, name: string): (value: string) => boolean {
  const start = instant(range?.start, `${name}.start`);
  const end = instant(range?.end, `${name}.end`);
  // No range: every record matches, without parsing its date (lists filter thousands of records).
  if (start === undefined && end === undefined) return () => true;
  return (value) => {
    const ms = Date.parse(value);
    return (start === undefined || ms >= start) && (end === undefined || ms < end);
  };
}

/** The `options` filter: change window on updatedAt, deleted records only when asked for. */
export function matchesOptions(options: QueryOptions | null | undefined): (record: { updatedAt: string; deleted?: boolean | null }) => boolean {
  const changed = inRange(options?.updatedAt, 'options.updatedAt');
  const includeDeleted = options?.includeDeleted ?? false;
  return (record) => (includeDeleted || !record.deleted) && changed(record.updatedAt);
}

// ---- Edits (admin UI and the updatePatient mutation) ----

/**
 * Stamp a change. Never moves backwards and always moves forwards, so a change made within the
 * same millisecond as the last one still shows up in an `updatedAt` change window.
 */
export function touch(record: { updatedAt: string }, now = Date.now()): void {
  const previous = Date.parse(record.updatedAt);
  record.updatedAt = new Date(Number.isNaN(previous) ? now : Math.max(now, previous + 1)).toISOString();
}

/** Demographic changes as a person in Semble's UI makes them; absent keys stay as they are. */
export interface PatientChanges {
  firstName?: string;
  lastName?: string;
  email?: string | null;
  dob?: string | null;
  /** Replaces the number of the first phone (adds a mobile when there is none). */
  phone?: string;
  address?: string | null;
  city?: string | null;
  postcode?: string | null;
  country?: string | null;
}

/** Applies the changes; returns the wire fields whose value changed (the record is touched either way). */
export function applyPatientChanges(patient: Stored<SemblePatient>, changes: PatientChanges): string[] {
  const before = changeableFields(patient);
  if (changes.firstName !== undefined) patient.firstName = changes.firstName;
  if (changes.lastName !== undefined) patient.lastName = changes.lastName;
  if (changes.firstName !== undefined || changes.lastName !== undefined) {
    patient.fullName = [patient.firstName, patient.lastName].filter(Boolean).join(' ');
  }
  if (changes.email !== undefined) patient.email = changes.email;
  if (changes.dob !== undefined) patient.dob = changes.dob;
  if (changes.phone !== undefined) {
    const phones = patient.phones ?? [];
    const first = phones[0];
    if (first) first.phoneNumber = changes.phone;
    else phones.push({ phoneId: `${patient.id}-phone-1`, phoneType: 'Mobile', phoneNumber: changes.phone });
    patient.phones = phones;
  }
  const addressKeys = ['address', 'city', 'postcode', 'country'] as const;
  if (addressKeys.some((key) => changes[key] !== undefined)) {
    const address = patient.address ?? { address: null, city: null, postcode: null, country: null };
    for (const key of addressKeys) {
      const value = changes[key];
      if (value !== undefined) address[key] = value;
    }
    patient.address = address;
  }
  touch(patient);
  const after = changeableFields(patient);
  return Object.keys(after).filter((field) => after[field] !== before[field]);
}

/** The fields applyPatientChanges can change, each as JSON text (so the address compares by value). */
function changeableFields(patient: SemblePatient): Record<string, string> {
  const { firstName, lastName, email, dob } = patient;
  const fields = { firstName, lastName, email, dob, phone: patient.phones?.[0]?.phoneNumber ?? null, address: patient.address ?? null };
  return Object.fromEntries(Object.entries(fields).map(([name, value]) => [name, JSON.stringify(value ?? null)]));
}

/** A booking moved, cancelled or attended, as recorded at the front desk. */
export interface BookingChanges {
  start?: string;
  end?: string;
  /** Set to cancel: Semble keeps the booking and records why. */
  cancellationReason?: string;
  /** The patient arrived, was seen and left (COMPLETED), or did not attend (DNA): recorded as journey times. */
  attendance?: 'ARRIVED' | 'COMPLETED' | 'DNA';
}

export function applyBookingChanges(booking: SembleBooking, changes: BookingChanges, now = Date.now()): void {
  if (changes.start !== undefined) booking.start = new Date(changes.start).toISOString();
  if (changes.end !== undefined) booking.end = new Date(changes.end).toISOString();
  if (changes.cancellationReason !== undefined) booking.cancellationReason = changes.cancellationReason;
  if (changes.attendance !== undefined) {
    const at = new Date(now).toISOString();
    const journey = booking.bookingJourney ?? { arrived: null, consultation: null, departed: null, dna: null };
    if (changes.attendance === 'DNA') journey.dna = at;
    else {
      journey.arrived ??= at;
      if (changes.attendance === 'COMPLETED') {
        journey.consultation ??= at;
        journey.departed = at;
      }
    }
    booking.bookingJourney = journey;
  }
  touch(booking);
}

/** A booking made at the front desk (Semble's createBooking is not emulated). */
export interface NewBooking {
  patientId: string;
  start: string;
  end: string;
  /** A practice user's id; the first doctor when absent. */
  doctorId?: string;
  location?: string | null;
  appointmentType?: string | null;
}

export function createBooking(store: SembleStore, input: NewBooking, now = Date.now()): SembleBooking {
  let id: string;
  do id = randomBytes(12).toString('hex');
  while (store.bookings.has(id));
  const doctor = input.doctorId ? store.users.get(input.doctorId) : [...store.users.values()].find((user) => user.isDoctor);
  const booking: SembleBooking = {
    id,
    start: new Date(input.start).toISOString(),
    end: new Date(input.end).toISOString(),
    updatedAt: new Date(now).toISOString(),
    patientId: input.patientId,
    deleted: false,
    cancellationReason: null,
    doctor: doctor ? { id: doctor.id, firstName: doctor.firstName, lastName: doctor.lastName } : null,
    location: input.location ?? null,
    appointment: { title: input.appointmentType ?? null },
    bookingJourney: { arrived: null, consultation: null, departed: null, dna: null },
  };
  store.bookings.set(id, booking);
  return booking;
}

/** A new patient as Semble's createPatient takes it (and the admin route, standing for the UI). */
export interface NewPatient {
  firstName: string;
  lastName: string;
  title?: string | null;
  gender?: string | null;
  email?: string | null;
  dob?: string | null;
  /** The patient's mobile number. */
  phone?: string | null;
  address?: string | null;
  city?: string | null;
  postcode?: string | null;
  country?: string | null;
}

/** Adds a patient with a new ObjectId-style id (as Semble's), created and updated now. */
export function createPatient(store: SembleStore, input: NewPatient, now = Date.now()): Stored<SemblePatient> {
  let id: string;
  do id = randomBytes(12).toString('hex');
  while (store.patients.has(id));
  const at = new Date(now).toISOString();
  const patient: Stored<SemblePatient> = {
    id,
    title: input.title ?? null,
    status: 'active',
    firstName: input.firstName,
    lastName: input.lastName,
    fullName: `${input.firstName} ${input.lastName}`,
    dob: input.dob ?? null,
    gender: input.gender ?? null,
    sex: input.gender ?? null,
    email: input.email ?? null,
    createdAt: at,
    updatedAt: at,
    phones: input.phone ? [{ phoneId: `${id}-phone-1`, phoneType: 'Mobile', phoneNumber: input.phone }] : [],
    address: { address: input.address ?? null, city: input.city ?? null, postcode: input.postcode ?? null, country: input.country ?? null },
    numbers: [],
    communicationPreferences: { receiveEmail: true, receiveSMS: true, promotionalMarketing: false },
    deleted: false,
  };
  store.patients.set(id, patient);
  return patient;
}
