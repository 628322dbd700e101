/**
 * The payments subgraph's GoCardless DataLoaders, created per GraphQL request.
 *
 * GoCardless has no search and no metadata filter, so links from Semble entities cannot be
 * asked for by patient or invoice id. Instead each request lists what it needs of the account
 * once, lazily, and every patient or invoice in that request is answered from the same list:
 *
 *   Patient.payments, Invoice.payments  one payments listing, grouped by the payment's
 *                                       metadata.semble_patient_id / semble_invoice_id (the same
 *                                       rule as Stripe's payment intents)
 *   Patient.mandates                    one customers listing (patient → customers by
 *                                       metadata.semble_patient_id) and one mandates listing
 *                                       (grouped by links.customer)
 *
 * Cost per GraphQL request: ⌈payments / 500⌉ + ⌈customers / 500⌉ + ⌈mandates / 500⌉ requests
 * at most, whether it asks about one patient or 500 — bounded, never one per patient, but
 * proportional to the size of the GoCardless account, not to the question. For the 500-patient
 * seed that is 3 requests. A large account would want a cache shared across requests,
 * invalidated by GoCardless webhooks; that is not done here.
 *
 * Lookups by id (Payment and Mandate references) have no batch endpoint: they are deduplicated
 * and run with a bounded number in flight.
 */
import DataLoader from 'dataloader';
import { GraphQLError } from 'graphql';
import { mapWithConcurrency } from '../../../lib/concurrency';
import { VendorError } from '../../../lib/vendor-error';
import type { GoCardlessClient, GoCardlessCustomer, GoCardlessMandate, GoCardlessPayment } from '../../../lib/vendors/gocardless';
import { goCardlessToPayment, newestFirst, toMandate } from './models';
import type { MandateModel, PaymentModel } from './models';

export interface GoCardlessLoaders {
  paymentsByPatient: DataLoader<string, PaymentModel[]>;
  paymentsByInvoice: DataLoader<string, PaymentModel[]>;
  mandatesByPatient: DataLoader<string, MandateModel[]>;
  paymentById: DataLoader<string, PaymentModel>;
  mandateById: DataLoader<string, MandateModel>;
}

/** GoCardless payment ids: `PM` and upper-case alphanumerics (Stripe's start with `pi_`). */
export function isGoCardlessPaymentId(id: string): boolean {
  return /^PM[0-9A-Z]+$/.test(id);
}

function notFound(typeName: string, id: string): GraphQLError {
  return new GraphQLError(`No ${typeName} with this id.`, { extensions: { code: 'NOT_FOUND', argumentName: 'id', typeName, id } });
}

/** A listing made at most once per request, on first use. */
function once<T>(load: () => Promise<T>): () => Promise<T> {
  let promise: Promise<T> | undefined;
  return () => (promise ??= load());
}

function groupBy<T>(records: readonly T[], keyOf: (record: T) => string | undefined): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const record of records) {
    const key = keyOf(record);
    if (key === undefined) continue;
    const group = groups.get(key);
    if (group) group.push(record);
    else groups.set(key, [record]);
  }
  return groups;
}

/** Payments per metadata value, newest first; a failed listing fails every key of the batch. */
function paymentsByMetadata(listPayments: () => Promise<GoCardlessPayment[]>, metadataKey: string): DataLoader<string, PaymentModel[]> {
  return new DataLoader<string, PaymentModel[]>(async (keys) => {
    const groups = groupBy(await listPayments(), (payment) => payment.metadata?.[metadataKey]);
    return keys.map((key) => (groups.get(key) ?? []).map(goCardlessToPayment).sort(newestFirst));
  });
}

function byIdLoader<W, M>(retrieve: (id: string) => Promise<W>, toModel: (record: W) => M, typeName: string, concurrency: number): DataLoader<string, M> {
  return new DataLoader<string, M>((ids) =>
    mapWithConcurrency(ids, concurrency, async (id): Promise<M | Error> => {
      try {
        return toModel(await retrieve(id));
      } catch (error) {
        // GoCardless answers an unknown id with 404 resource_not_found.
        if (error instanceof VendorError && error.status === 404) return notFound(typeName, id);
        return error as Error;
      }
    }),
  );
}

export function createGoCardlessLoaders(client: GoCardlessClient, options: { retrieveConcurrency?: number } = {}): GoCardlessLoaders {
  const concurrency = options.retrieveConcurrency ?? 8;
  const payments = once(() => client.listPayments());
  const customers = once(() => client.listCustomers());
  const mandates = once(() => client.listMandates());

  return {
    paymentsByPatient: paymentsByMetadata(payments, 'semble_patient_id'),
    paymentsByInvoice: paymentsByMetadata(payments, 'semble_invoice_id'),
    mandatesByPatient: new DataLoader<string, MandateModel[]>(async (patientIds) => {
      // Both listings at once: neither depends on the other.
      const [allCustomers, allMandates] = await Promise.all([customers(), mandates()]);
      const customersOf = groupBy<GoCardlessCustomer>(allCustomers, (customer) => customer.metadata?.semble_patient_id);
      const mandatesOf = groupBy<GoCardlessMandate>(allMandates, (mandate) => mandate.links?.customer);
      return patientIds.map((patientId) =>
        (customersOf.get(patientId) ?? [])
          .flatMap((customer) => mandatesOf.get(customer.id) ?? [])
          .map(toMandate)
          .sort((a, b) => Date.parse(b.createdAt) - Date.parse(a.createdAt) || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0)),
      );
    }),
    paymentById: byIdLoader((id) => client.getPayment(id), goCardlessToPayment, 'Payment', concurrency),
    mandateById: byIdLoader((id) => client.getMandate(id), toMandate, 'Mandate', concurrency),
  };
}
