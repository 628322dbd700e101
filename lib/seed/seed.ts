/**
 * The one deterministic world every vendor emulator serves its slice of, so that a patient in
 * the Semble emulator has the matching HubSpot contact, Stripe customer and payments, and
 * Google Calendar events. Same `seed` and `patients` → byte-identical world, in every process.
 *
 * Records here are vendor-neutral; each emulator turns its part into the vendor's wire format.
 * A share of patients carry bad data (an invalid email, a phone that does not validate, an NHS
 * number failing modulus 11) so data-quality scoring has something to find.
 *
 * The GoCardless slice (customers, mandates, payments) came later. It is drawn from a second
 * PRNG seeded with `seed + 1`, after everything else, so adding it changed no existing record:
 * worlds built before it existed are identical apart from the new arrays.
 */

export interface SeedOptions {
  /** Number of patients. @default 500 */
  patients?: number;
  /** PRNG seed. @default 42 */
  seed?: number;
}

export interface SeedPhone {
  id: string;
  type: 'Mobile' | 'Home' | 'Work';
  number: string;
}

export interface SeedPatient {
  id: string;
  title: string;
  firstName: string;
  lastName: string;
  dob: string; // YYYY-MM-DD
  gender: 'Male' | 'Female';
  email: string | null;
  phones: SeedPhone[];
  address: { address: string; city: string; postcode: string; country: string };
  nhsNumber: string | null;
  status: 'active' | 'archived';
  createdAt: string;
  updatedAt: string;
  promotionalMarketing: boolean;
}

export interface SeedPractitioner {
  id: string;
  firstName: string;
  lastName: string;
  email: string;
  isDoctor: boolean;
}

export type BookingState = 'BOOKED' | 'ARRIVED' | 'COMPLETED' | 'CANCELLED' | 'DNA';

export interface SeedBooking {
  id: string;
  patientId: string;
  practitionerId: string;
  start: string;
  end: string;
  state: BookingState;
  location: string;
  appointmentType: string;
  updatedAt: string;
}

export interface SeedInvoice {
  id: string;
  invoiceNumber: string;
  patientId: string;
  date: string;
  /** Pounds, as Semble reports them. */
  total: number;
  outstanding: number;
  status: 'Paid' | 'Outstanding' | 'Partially paid';
  updatedAt: string;
}

export interface SeedContact {
  id: string; // HubSpot numeric id, as a string
  patientId: string;
  email: string | null;
  firstName: string;
  lastName: string;
  phone: string | null;
  lifecycleStage: 'subscriber' | 'lead' | 'marketingqualifiedlead' | 'opportunity' | 'customer' | 'evangelist';
  ownerId: string;
  marketingConsent: boolean;
  createdAt: string;
  updatedAt: string;
}

export interface SeedDeal {
  id: string;
  patientId: string;
  contactId: string;
  name: string;
  amount: number;
  stage: 'appointmentscheduled' | 'qualifiedtobuy' | 'presentationscheduled' | 'contractsent' | 'closedwon' | 'closedlost';
  pipeline: string;
  closeDate: string;
  updatedAt: string;
}

export interface SeedCustomer {
  id: string; // cus_…
  patientId: string;
  email: string | null;
  name: string;
  phone: string | null;
  created: number; // unix seconds
}

export type StripeIntentStatus =
  | 'requires_payment_method'
  | 'requires_confirmation'
  | 'requires_action'
  | 'processing'
  | 'requires_capture'
  | 'canceled'
  | 'succeeded';

export interface SeedPaymentIntent {
  id: string; // pi_…
  customerId: string;
  patientId: string;
  invoiceId: string | null;
  amount: number; // minor units
  currency: 'gbp';
  status: StripeIntentStatus;
  created: number;
}

export interface SeedSubscription {
  id: string; // sub_…
  customerId: string;
  patientId: string;
  status: 'active' | 'past_due' | 'canceled' | 'trialing';
  plan: string;
  amount: number;
  interval: 'month' | 'year';
  currentPeriodEnd: number;
  created: number;
}

export interface SeedCalendarEvent {
  id: string; // base32hex, derived from the booking id
  bookingId: string;
  calendarId: string;
  summary: string;
  start: string;
  end: string;
  timeZone: string;
  status: 'confirmed' | 'tentative' | 'cancelled';
  updated: string;
  etag: string;
}

export interface SeedGoCardlessCustomer {
  id: string; // CU…
  patientId: string;
  email: string | null;
  givenName: string;
  familyName: string;
  createdAt: string;
}

export type GoCardlessMandateStatus = 'pending_submission' | 'submitted' | 'active' | 'failed' | 'cancelled';

export interface SeedGoCardlessMandate {
  id: string; // MD…
  customerId: string;
  patientId: string;
  status: GoCardlessMandateStatus;
  scheme: 'bacs';
  /** The reference on the payer's bank statement. */
  reference: string;
  /** YYYY-MM-DD; null once the mandate can no longer be charged (failed, cancelled). */
  nextPossibleChargeDate: string | null;
  createdAt: string;
}

export type GoCardlessPaymentStatus =
  | 'pending_customer_approval'
  | 'pending_submission'
  | 'submitted'
  | 'confirmed'
  | 'paid_out'
  | 'failed'
  | 'customer_approval_denied'
  | 'cancelled'
  | 'charged_back';

export interface SeedGoCardlessPayment {
  id: string; // PM…
  mandateId: string;
  customerId: string;
  patientId: string;
  invoiceId: string | null;
  amount: number; // minor units
  currency: 'GBP';
  status: GoCardlessPaymentStatus;
  /** YYYY-MM-DD */
  chargeDate: string;
  createdAt: string;
}

export interface SeedWorld {
  options: Required<SeedOptions>;
  practitioners: SeedPractitioner[];
  patients: SeedPatient[];
  bookings: SeedBooking[];
  invoices: SeedInvoice[];
  contacts: SeedContact[];
  deals: SeedDeal[];
  customers: SeedCustomer[];
  paymentIntents: SeedPaymentIntent[];
  subscriptions: SeedSubscription[];
  calendarEvents: SeedCalendarEvent[];
  goCardlessCustomers: SeedGoCardlessCustomer[];
  goCardlessMandates: SeedGoCardlessMandate[];
  goCardlessPayments: SeedGoCardlessPayment[];
}

/** The calendar the seeded clinic books into. */
export const SEED_CALENDAR_ID = 'clinic@patient-graph.test';

const FIRST = ['Olivia', 'Amelia', 'Isla', 'Ava', 'Mia', 'Ivy', 'Lily', 'Isabella', 'Rosie', 'Sophia', 'Grace', 'Freya',
  'Noah', 'Oliver', 'George', 'Arthur', 'Muhammad', 'Leo', 'Harry', 'Oscar', 'Archie', 'Henry', 'Theodore', 'Jack',
  'Aisha', 'Priya', 'Chen', 'Fatima', 'Siobhan', 'Rhys', 'Eilidh', 'Kwame'];
const LAST = ['Smith', 'Jones', 'Taylor', 'Brown', 'Williams', 'Wilson', 'Johnson', 'Davies', 'Patel', 'Robinson',
  'Wright', 'Thompson', 'Evans', 'Walker', 'White', 'Roberts', 'Green', 'Hall', 'Khan', 'Lewis', 'Murphy', 'Okafor',
  "O'Brien", 'MacDonald', 'Nguyen', 'Kowalski'];
const CITIES: Array<[string, string]> = [['London', 'SW1A 1AA'], ['Manchester', 'M1 1AE'], ['Bristol', 'BS1 4DJ'],
  ['Leeds', 'LS1 1UR'], ['Edinburgh', 'EH1 1YZ'], ['Cardiff', 'CF10 1EP'], ['Birmingham', 'B1 1BB'], ['Oxford', 'OX1 1DP']];
const STREETS = ['High Street', 'Station Road', 'Church Lane', 'Victoria Road', 'Green Lane', 'Manor Road', 'Park Avenue'];
const APPOINTMENT_TYPES = ['Initial consultation', 'Follow-up', 'Physiotherapy', 'Blood test', 'Annual health check'];
const LOCATIONS = ['Harley Street', 'Clifton Clinic', 'Video call'];
const PLANS = ['Essential Health Plan', 'Family Health Plan', 'Premium Health Plan'];

/**
 * mulberry32: small, fast, good enough for test data, identical on every platform. Exported for
 * tests that need their own reproducible randomness (the sync simulation's script).
 */
export function createRandom(seed: number) {
  let state = seed >>> 0;
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    int: (min: number, max: number) => min + Math.floor(next() * (max - min + 1)),
    pick: <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)] as T,
    chance: (p: number) => next() < p,
    digits: (n: number) => Array.from({ length: n }, () => Math.floor(next() * 10)).join(''),
  };
}

/** A 24-hex-digit id like Semble's (Mongo ObjectId shaped), unique per (kind, index). */
function objectId(kind: number, index: number): string {
  return (kind.toString(16).padStart(8, '0') + '5e3b1e' + index.toString(16).padStart(10, '0')).slice(0, 24);
}

/** Weights 10..2 over the first nine digits; the check digit makes modulus 11 hold. */
function nhsCheckDigit(nine: string): number {
  let sum = 0;
  for (let i = 0; i < 9; i++) sum += Number(nine[i]) * (10 - i);
  const check = 11 - (sum % 11);
  return check === 11 ? 0 : check;
}

export type SeededRandom = ReturnType<typeof createRandom>;

function validNhsNumber(random: SeededRandom): string {
  for (;;) {
    const nine = '999' + random.digits(6); // the never-issued test range
    const check = nhsCheckDigit(nine);
    if (check !== 10) return `${nine.slice(0, 3)} ${nine.slice(3, 6)} ${nine.slice(6)}${check}`;
  }
}

function invalidNhsNumber(random: SeededRandom): string {
  const valid = validNhsNumber(random).replace(/ /g, '');
  const wrong = (Number(valid[9]) + 1 + random.int(0, 7)) % 10;
  const number = valid.slice(0, 9) + String(wrong);
  return `${number.slice(0, 3)} ${number.slice(3, 6)} ${number.slice(6)}`;
}

const DAY = 24 * 60 * 60 * 1000;
const EPOCH = Date.UTC(2025, 0, 1);

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

export function createSeedWorld(options: SeedOptions = {}): SeedWorld {
  const patientsWanted = options.patients ?? 500;
  const seed = options.seed ?? 42;
  const random = createRandom(seed);

  const practitioners: SeedPractitioner[] = Array.from({ length: 8 }, (_, i) => {
    const firstName = FIRST[(i * 7 + 3) % FIRST.length] as string;
    const lastName = LAST[(i * 5 + 1) % LAST.length] as string;
    return {
      id: objectId(1, i + 1),
      firstName,
      lastName,
      email: `${firstName}.${lastName}`.toLowerCase().replace(/[^a-z.]/g, '') + '@clinic.test',
      isDoctor: i < 5,
    };
  });

  const patients: SeedPatient[] = [];
  const bookings: SeedBooking[] = [];
  const invoices: SeedInvoice[] = [];
  const contacts: SeedContact[] = [];
  const deals: SeedDeal[] = [];
  const customers: SeedCustomer[] = [];
  const paymentIntents: SeedPaymentIntent[] = [];
  const subscriptions: SeedSubscription[] = [];
  const calendarEvents: SeedCalendarEvent[] = [];

  for (let i = 1; i <= patientsWanted; i++) {
    const gender = random.chance(0.5) ? 'Female' : 'Male';
    const firstName = random.pick(FIRST);
    const lastName = random.pick(LAST);
    const id = objectId(2, i);
    const createdMs = EPOCH + i * 3 * 60 * 60 * 1000;
    const updatedMs = createdMs + random.int(0, 300) * DAY;
    const localPart = `${firstName}.${lastName}`.toLowerCase().replace(/[^a-z.]/g, '');

    // Bad data, on purpose and at stable rates: ~6% bad email, ~6% bad phone, ~5% bad NHS number.
    const emailRoll = random.next();
    const previous = patients[patients.length - 1];
    // ~4% share an email with the previous patient, as families do: email is not a key.
    const email =
      emailRoll < 0.03 ? `${localPart}${i}@` : emailRoll < 0.06 ? null : emailRoll < 0.1 && previous?.email?.endsWith('.uk') ? previous.email : `${localPart}${i}@example.co.uk`;
    const phoneRoll = random.next();
    const mobile =
      phoneRoll < 0.03 ? `07700 900${random.digits(3)}` : phoneRoll < 0.06 ? random.digits(5) : `07${random.pick(['4', '5', '7', '8', '9'])}${random.digits(2)} ${random.digits(6)}`;
    const phones: SeedPhone[] = [{ id: objectId(3, i * 2), type: 'Mobile', number: mobile }];
    if (random.chance(0.3)) phones.push({ id: objectId(3, i * 2 + 1), type: 'Home', number: `020 7946 0${random.digits(3)}` });
    const nhsRoll = random.next();
    const nhsNumber = nhsRoll < 0.05 ? invalidNhsNumber(random) : nhsRoll < 0.15 ? null : validNhsNumber(random);
    const [city, postcode] = random.pick(CITIES);
    const dobMs = Date.UTC(1940, 0, 1) + random.int(0, 80 * 365) * DAY;

    const patient: SeedPatient = {
      id,
      title: gender === 'Female' ? random.pick(['Ms', 'Mrs', 'Miss', 'Dr']) : random.pick(['Mr', 'Dr']),
      firstName,
      lastName,
      dob: iso(dobMs).slice(0, 10),
      gender,
      email,
      phones,
      address: { address: `${random.int(1, 220)} ${random.pick(STREETS)}`, city, postcode, country: 'United Kingdom' },
      nhsNumber,
      status: random.chance(0.95) ? 'active' : 'archived',
      createdAt: iso(createdMs),
      updatedAt: iso(updatedMs),
      promotionalMarketing: random.chance(0.6),
    };
    patients.push(patient);

    const bookingCount = random.int(0, 4);
    for (let b = 0; b < bookingCount; b++) {
      const bookingIndex = bookings.length + 1;
      const practitioner = random.pick(practitioners);
      const startMs = EPOCH + random.int(0, 700) * DAY + random.int(8, 17) * 60 * 60 * 1000;
      const endMs = startMs + random.pick([15, 30, 45, 60]) * 60 * 1000;
      const state: BookingState = random.pick(['BOOKED', 'BOOKED', 'ARRIVED', 'COMPLETED', 'COMPLETED', 'CANCELLED', 'DNA'] as const);
      const booking: SeedBooking = {
        id: objectId(4, bookingIndex),
        patientId: id,
        practitionerId: practitioner.id,
        start: iso(startMs),
        end: iso(endMs),
        state,
        location: random.pick(LOCATIONS),
        appointmentType: random.pick(APPOINTMENT_TYPES),
        updatedAt: iso(Math.min(startMs, EPOCH + 720 * DAY) - random.int(1, 20) * DAY),
      };
      bookings.push(booking);
      calendarEvents.push({
        id: `semble${booking.id}`,
        bookingId: booking.id,
        calendarId: SEED_CALENDAR_ID,
        summary: `${booking.appointmentType} with ${practitioner.firstName} ${practitioner.lastName}`,
        start: booking.start,
        end: booking.end,
        timeZone: 'Europe/London',
        status: state === 'CANCELLED' ? 'cancelled' : 'confirmed',
        updated: booking.updatedAt,
        etag: `"${3000000000000000 + bookingIndex * 7919}"`,
      });
    }

    const invoiceCount = random.int(0, 3);
    const patientInvoices: SeedInvoice[] = [];
    for (let v = 0; v < invoiceCount; v++) {
      const invoiceIndex = invoices.length + 1;
      const totalPence = random.pick([6000, 8500, 12000, 15000, 22500, 30000]);
      const paidState = random.pick(['Paid', 'Paid', 'Outstanding', 'Partially paid'] as const);
      const outstandingPence = paidState === 'Paid' ? 0 : paidState === 'Outstanding' ? totalPence : totalPence / 2;
      const dateMs = EPOCH + random.int(0, 600) * DAY;
      const invoice: SeedInvoice = {
        id: objectId(5, invoiceIndex),
        invoiceNumber: `INV-${String(invoiceIndex).padStart(6, '0')}`,
        patientId: id,
        date: iso(dateMs).slice(0, 10),
        total: totalPence / 100,
        outstanding: outstandingPence / 100,
        status: paidState,
        updatedAt: iso(dateMs + random.int(0, 30) * DAY),
      };
      invoices.push(invoice);
      patientInvoices.push(invoice);
    }

    // ~90% of patients are in the CRM.
    if (random.chance(0.9)) {
      const contactIndex = contacts.length + 1;
      const contact: SeedContact = {
        id: String(50_000 + contactIndex * 13),
        patientId: id,
        email,
        firstName,
        lastName,
        phone: mobile,
        lifecycleStage: random.pick(['subscriber', 'lead', 'marketingqualifiedlead', 'opportunity', 'customer', 'customer', 'evangelist'] as const),
        ownerId: String(9_000 + random.int(1, 4)),
        marketingConsent: patient.promotionalMarketing,
        createdAt: patient.createdAt,
        updatedAt: iso(updatedMs + random.int(0, 20) * DAY),
      };
      contacts.push(contact);
      const dealCount = random.int(0, 2);
      for (let d = 0; d < dealCount; d++) {
        const dealIndex = deals.length + 1;
        deals.push({
          id: String(700_000 + dealIndex * 17),
          patientId: id,
          contactId: contact.id,
          name: `${random.pick(PLANS)} – ${firstName} ${lastName}`,
          amount: random.pick([480, 960, 1500, 2400]),
          stage: random.pick(['appointmentscheduled', 'qualifiedtobuy', 'presentationscheduled', 'contractsent', 'closedwon', 'closedlost'] as const),
          pipeline: 'default',
          closeDate: iso(EPOCH + random.int(30, 700) * DAY).slice(0, 10),
          updatedAt: iso(EPOCH + random.int(0, 700) * DAY),
        });
      }
    }

    // ~75% of patients are Stripe customers; their invoices' payments are payment intents.
    if (random.chance(0.75)) {
      const customerIndex = customers.length + 1;
      const customer: SeedCustomer = {
        id: `cus_${(0x5eed000 + customerIndex).toString(36).toUpperCase()}${String(customerIndex).padStart(5, '0')}`,
        patientId: id,
        email,
        name: `${firstName} ${lastName}`,
        phone: mobile,
        created: Math.floor(createdMs / 1000),
      };
      customers.push(customer);
      for (const invoice of patientInvoices) {
        if (invoice.status === 'Outstanding' && random.chance(0.5)) continue;
        const intentIndex = paymentIntents.length + 1;
        paymentIntents.push({
          id: `pi_${String(intentIndex).padStart(8, '0')}Seed${(intentIndex * 7919).toString(36)}`,
          customerId: customer.id,
          patientId: id,
          invoiceId: invoice.id,
          // What was paid succeeded; an outstanding invoice's attempt is still open or failed.
          amount: Math.round((invoice.status === 'Outstanding' ? invoice.total : invoice.total - invoice.outstanding) * 100),
          currency: 'gbp',
          status:
            invoice.status === 'Outstanding'
              ? random.pick(['requires_payment_method', 'requires_confirmation', 'requires_action', 'processing', 'requires_capture', 'canceled'] as const)
              : 'succeeded',
          created: Math.floor(Date.parse(invoice.date) / 1000),
        });
      }
      if (random.chance(0.3)) {
        const subscriptionIndex = subscriptions.length + 1;
        const interval = random.chance(0.8) ? 'month' : 'year';
        subscriptions.push({
          id: `sub_${String(subscriptionIndex).padStart(8, '0')}Seed`,
          customerId: customer.id,
          patientId: id,
          status: random.pick(['active', 'active', 'active', 'past_due', 'canceled', 'trialing'] as const),
          plan: random.pick(PLANS),
          amount: interval === 'month' ? random.pick([4000, 8000, 12000]) : random.pick([48000, 96000]),
          interval,
          currentPeriodEnd: Math.floor((EPOCH + random.int(400, 760) * DAY) / 1000),
          created: customer.created + 86_400,
        });
      }
    }
  }

  const goCardless = createGoCardlessSlice(seed, patients, invoices);

  return {
    options: { patients: patientsWanted, seed },
    practitioners,
    patients,
    bookings,
    invoices,
    contacts,
    deals,
    customers,
    paymentIntents,
    subscriptions,
    calendarEvents,
    ...goCardless,
  };
}

const GOCARDLESS_MANDATE_STATUSES: readonly GoCardlessMandateStatus[] = ['pending_submission', 'submitted', 'active', 'active', 'active', 'failed', 'cancelled'];
/** Plan instalments (no invoice) may be anywhere in their life. */
const GOCARDLESS_PAYMENT_STATUSES: readonly GoCardlessPaymentStatus[] = [
  'pending_customer_approval',
  'pending_submission',
  'submitted',
  'confirmed',
  'paid_out',
  'paid_out',
  'failed',
  'customer_approval_denied',
  'cancelled',
  'charged_back',
];
/** A paid invoice's collection went through (or was clawed back)… */
const GOCARDLESS_SETTLED_STATUSES: readonly GoCardlessPaymentStatus[] = ['paid_out', 'paid_out', 'paid_out', 'confirmed', 'charged_back'];
/** …an unpaid one's is still on its way, or did not happen. */
const GOCARDLESS_OPEN_STATUSES: readonly GoCardlessPaymentStatus[] = [
  'pending_submission',
  'pending_submission',
  'submitted',
  'submitted',
  'pending_customer_approval',
  'failed',
  'customer_approval_denied',
  'cancelled',
];

/** GoCardless ids: a two-letter prefix and 12 upper-case alphanumerics. */
function goCardlessId(prefix: 'CU' | 'MD' | 'PM', index: number): string {
  return `${prefix}${(index * 7919).toString(36).toUpperCase().padStart(8, '0')}SEED`;
}

/**
 * ~20% of patients pay (some of) their bills by Direct Debit: a GoCardless customer, one Bacs
 * mandate and 0–3 payments, each for one of the patient's invoices or, without one, a plan
 * instalment. Its own PRNG (`seed + 1`) keeps the rest of the world as it was.
 */
function createGoCardlessSlice(seed: number, patients: readonly SeedPatient[], invoices: readonly SeedInvoice[]) {
  const random = createRandom(seed + 1);
  const goCardlessCustomers: SeedGoCardlessCustomer[] = [];
  const goCardlessMandates: SeedGoCardlessMandate[] = [];
  const goCardlessPayments: SeedGoCardlessPayment[] = [];
  const invoicesOf = new Map<string, SeedInvoice[]>();
  for (const invoice of invoices) invoicesOf.set(invoice.patientId, [...(invoicesOf.get(invoice.patientId) ?? []), invoice]);

  for (const patient of patients) {
    if (!random.chance(0.2)) continue;
    const index = goCardlessCustomers.length + 1;
    const createdMs = Date.parse(patient.createdAt) + random.int(1, 60) * DAY;
    const customer: SeedGoCardlessCustomer = {
      id: goCardlessId('CU', index),
      patientId: patient.id,
      email: patient.email,
      givenName: patient.firstName,
      familyName: patient.lastName,
      createdAt: iso(createdMs),
    };
    goCardlessCustomers.push(customer);
    const status = random.pick(GOCARDLESS_MANDATE_STATUSES);
    const mandateCreatedMs = createdMs + random.int(0, 3) * 60 * 60 * 1000;
    const mandate: SeedGoCardlessMandate = {
      id: goCardlessId('MD', index),
      customerId: customer.id,
      patientId: patient.id,
      status,
      scheme: 'bacs',
      reference: `PATIENTGRAPH-${String(index).padStart(6, '0')}`,
      nextPossibleChargeDate: status === 'failed' || status === 'cancelled' ? null : iso(mandateCreatedMs + random.int(3, 10) * DAY).slice(0, 10),
      createdAt: iso(mandateCreatedMs),
    };
    goCardlessMandates.push(mandate);
    const own = invoicesOf.get(patient.id) ?? [];
    const paymentCount = random.int(0, 3);
    for (let p = 0; p < paymentCount; p++) {
      const paymentIndex = goCardlessPayments.length + 1;
      const invoice = own.length > 0 && random.chance(0.7) ? random.pick(own) : null;
      const paymentCreatedMs = mandateCreatedMs + random.int(1, 500) * DAY + random.int(0, 23) * 60 * 60 * 1000;
      goCardlessPayments.push({
        id: goCardlessId('PM', paymentIndex),
        mandateId: mandate.id,
        customerId: customer.id,
        patientId: patient.id,
        invoiceId: invoice?.id ?? null,
        // As with Stripe: what was paid went through; an outstanding invoice's collection is still open or failed.
        amount: invoice
          ? Math.round((invoice.status === 'Outstanding' ? invoice.total : invoice.total - invoice.outstanding) * 100)
          : random.pick([4000, 8000, 12000]),
        currency: 'GBP',
        status: random.pick(!invoice ? GOCARDLESS_PAYMENT_STATUSES : invoice.status === 'Outstanding' ? GOCARDLESS_OPEN_STATUSES : GOCARDLESS_SETTLED_STATUSES),
        chargeDate: iso(paymentCreatedMs + random.int(3, 6) * DAY).slice(0, 10),
        createdAt: iso(paymentCreatedMs),
      });
    }
  }
  return { goCardlessCustomers, goCardlessMandates, goCardlessPayments };
}
