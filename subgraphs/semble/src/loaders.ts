/**
 * The DataLoaders of one request. Each batch becomes aliased Semble documents (at most
 * MAX_ALIASES root fields, or patients for bookings/invoices, per document), so resolving
 * N entities costs about N/50 requests. Results come back in key order: the record, null for
 * a miss, or the Error of a failed request in that key's slot.
 */
import DataLoader from 'dataloader';
import type { ActivityKind, ActivityRequest, SembleBooking, SembleClient, SembleInvoice, SemblePatient, SembleUser } from '../../../lib/vendors/semble';

export type SembleLoaders = ReturnType<typeof createLoaders>;

export function createLoaders(client: SembleClient) {
  const patient = new DataLoader<string, SemblePatient | null>((ids) => client.patientsById(ids));
  const booking = new DataLoader<string, SembleBooking | null>((ids) => client.bookingsById(ids));
  const invoice = new DataLoader<string, SembleInvoice | null>((ids) => client.invoicesById(ids));
  const user = new DataLoader<string, SembleUser | null>((ids) => client.usersById(ids));

  // Bookings and invoices of patients share one loader, so a query selecting both for a page
  // of patients sends one document per 50 patients holding both lists, not one per kind.
  const activity = new DataLoader<ActivityRequest, SembleBooking[] | SembleInvoice[], string>(
    async (requests) => {
      const results = await client.activityOf(requests);
      results.forEach((result, i) => {
        if (result instanceof Error) return;
        // What we just read by patient is also there to be read by id, without another request.
        if (requests[i]?.kind === 'bookings') for (const record of result as SembleBooking[]) booking.prime(record.id, record);
        else for (const record of result as SembleInvoice[]) invoice.prime(record.id, record);
      });
      return results;
    },
    { cacheKeyFn: (request) => `${request.kind}:${request.patientId}` },
  );

  const activityOf = <T>(kind: ActivityKind) => (patientId: string) => activity.load({ patientId, kind }) as Promise<T[]>;

  return {
    patient,
    booking,
    invoice,
    user,
    bookingsOfPatient: activityOf<SembleBooking>('bookings'),
    invoicesOfPatient: activityOf<SembleInvoice>('invoices'),
    /** Records read from a list are primed, so `patient(id)` later in the request is free. */
    primePatients(records: readonly SemblePatient[]) {
      for (const record of records) patient.prime(record.id, record);
    },
    primeBookings(records: readonly SembleBooking[]) {
      for (const record of records) booking.prime(record.id, record);
    },
  };
}
