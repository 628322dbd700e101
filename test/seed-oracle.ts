/**
 * What the patient graph must answer for a seed world, derived from the world directly (not
 * from the subgraphs' code), so integration tests compare the graph with what the emulators hold.
 */
import { parsePhoneNumberFromString } from 'libphonenumber-js';
import type { SeedWorld } from '../lib/seed';

const STRIPE_STATUS: Record<string, string> = {
  requires_payment_method: 'PENDING',
  requires_confirmation: 'PENDING',
  requires_action: 'REQUIRES_ACTION',
  processing: 'PROCESSING',
  requires_capture: 'PROCESSING',
  succeeded: 'SUCCEEDED',
  canceled: 'CANCELLED',
};

const GOCARDLESS_STATUS: Record<string, string> = {
  pending_customer_approval: 'PENDING',
  pending_submission: 'PENDING',
  submitted: 'PROCESSING',
  confirmed: 'SUCCEEDED',
  paid_out: 'SUCCEEDED',
  failed: 'FAILED',
  customer_approval_denied: 'FAILED',
  cancelled: 'CANCELLED',
  charged_back: 'CHARGED_BACK',
};

function nhsValid(raw: string): boolean {
  const digits = raw.replace(/[\s-]/g, '');
  if (!/^\d{10}$/.test(digits)) return false;
  const sum = [...digits.slice(0, 9)].reduce((acc, d, i) => acc + Number(d) * (10 - i), 0);
  const check = 11 - (sum % 11);
  return check !== 10 && (check === 11 ? 0 : check) === Number(digits[9]);
}

export function expectedOverview(world: SeedWorld, patientId: string) {
  const patient = world.patients.find((p) => p.id === patientId)!;
  const issues: string[] = [];
  if (!patient.email) issues.push('EMAIL_MISSING');
  else if (!/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(patient.email)) issues.push('EMAIL_INVALID');
  const phones = patient.phones.map((phone) => {
    const parsed = parsePhoneNumberFromString(phone.number, 'GB');
    return { number: phone.number, e164: parsed?.isValid() ? parsed.number : null };
  });
  if (phones.length === 0) issues.push('PHONE_MISSING');
  else if (phones.some((p) => p.e164 === null)) issues.push('PHONE_INVALID');
  if (patient.nhsNumber && !nhsValid(patient.nhsNumber)) issues.push('NHS_NUMBER_INVALID');
  const score = Math.max(0, 100 - 20 * issues.length);
  const payment = (intent: SeedWorld['paymentIntents'][number]) => ({
    id: intent.id,
    status: STRIPE_STATUS[intent.status],
    amountMinor: intent.amount,
    currency: 'GBP',
  });
  const goCardlessPayment = (p: SeedWorld['goCardlessPayments'][number]) => ({
    id: p.id,
    status: GOCARDLESS_STATUS[p.status],
    amountMinor: p.amount,
    currency: 'GBP',
  });
  const contact = world.contacts.find((c) => c.patientId === patientId);
  const byId = <T extends { id: string }>(items: T[]) => [...items].sort((a, b) => a.id.localeCompare(b.id));

  return {
    id: patient.id,
    fullName: `${patient.firstName} ${patient.lastName}`,
    dateOfBirth: patient.dob,
    email: patient.email,
    nhsNumber: patient.nhsNumber?.replace(/\s/g, '') ?? null,
    phones,
    dataQuality: { score, issues, route: score >= 80 ? 'DIRECT' : score >= 60 ? 'SYNC_AND_FLAG' : 'HOLD_FOR_REVIEW' },
    appointments: byId(
      world.bookings
        .filter((b) => b.patientId === patientId)
        .map((booking) => {
          const practitioner = world.practitioners.find((p) => p.id === booking.practitionerId)!;
          const event = world.calendarEvents.find((e) => e.bookingId === booking.id);
          return {
            id: booking.id,
            start: booking.start,
            end: booking.end,
            status: booking.state,
            practitioner: { fullName: `${practitioner.firstName} ${practitioner.lastName}` },
            calendarEvent: event ? { id: event.id, status: event.status.toUpperCase() } : null,
          };
        }),
    ),
    invoices: byId(
      world.invoices
        .filter((i) => i.patientId === patientId)
        .map((invoice) => ({
          id: invoice.id,
          total: invoice.total,
          outstanding: invoice.outstanding,
          payments: byId([
            ...world.paymentIntents.filter((pi) => pi.invoiceId === invoice.id).map(payment),
            ...world.goCardlessPayments.filter((p) => p.invoiceId === invoice.id).map(goCardlessPayment),
          ]),
        })),
    ),
    crmContact: contact ? { id: contact.id, lifecycleStage: contact.lifecycleStage, marketingConsent: contact.marketingConsent } : null,
    deals: byId(world.deals.filter((d) => d.patientId === patientId).map((d) => ({ id: d.id, stage: d.stage, amount: d.amount }))),
    payments: byId([
      ...world.paymentIntents.filter((pi) => pi.patientId === patientId).map((pi) => ({ ...payment(pi), provider: 'STRIPE' })),
      ...world.goCardlessPayments.filter((p) => p.patientId === patientId).map((p) => ({ ...goCardlessPayment(p), provider: 'GOCARDLESS' })),
    ]),
    subscriptions: byId(world.subscriptions.filter((s) => s.patientId === patientId).map((s) => ({ id: s.id, status: s.status, plan: s.plan }))),
  };
}

/** The same shape from a gateway answer, with lists in id order so order does not matter. */
export function normaliseOverview(node: any) {
  const byId = <T extends { id: string }>(items: T[]) => [...items].sort((a, b) => a.id.localeCompare(b.id));
  return {
    ...node,
    appointments: byId(node.appointments),
    invoices: byId(node.invoices.map((invoice: any) => ({ ...invoice, payments: byId(invoice.payments) }))),
    deals: byId(node.deals),
    payments: byId(node.payments),
    subscriptions: byId(node.subscriptions),
  };
}

export const PATIENT_OVERVIEW = /* GraphQL */ `
  query PatientOverview($first: Int!, $after: String) {
    patients(first: $first, after: $after) {
      totalCount
      pageInfo { hasNextPage endCursor }
      nodes {
        id fullName dateOfBirth email nhsNumber
        phones { number e164 }
        dataQuality { score issues route }
        appointments { id start end status practitioner { fullName } calendarEvent { id status } }
        invoices { id total outstanding payments { id status amountMinor currency } }
        crmContact { id lifecycleStage marketingConsent }
        deals { id stage amount }
        payments { id provider status amountMinor currency }
        subscriptions { id status plan }
      }
    }
  }
`;
