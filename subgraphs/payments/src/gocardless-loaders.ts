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
 * Cost of a listing: ⌈records / 500⌉ requests, whether the request asks about one patient or
 * 500 — bounded, never one per patient, but proportional to the size of the GoCardless account,
 * not to the question (for the 500-patient seed, 3 requests for all three). Each listing is kept
 * whole in the vendor cache (vendor-cache.ts) for its TTL, shared by the requests that follow,
 * under one tag that every GoCardless change evicts (GOCARDLESS_LISTINGS_TAG): within the TTL a
 * repeated question costs no request at all.
 *
 * Lookups by id (Payment and Mandate references) have no batch endpoint: they are deduplicated
 * and run with a bounded number in flight, uncached.
 */
import DataLoader from 'dataloader';
import { GraphQLError } from 'graphql';
import { mapWithConcurrency } from '../../../lib/concurrency';
import { VendorError } from '../../../lib/vendor-error';
import type { GoCardlessClient, GoCardlessCustomer, GoCardlessMandate, GoCardlessPayment } from '../../../lib/vendors/gocardless';
import { goCardlessToPayment, newestFirst, toMandate } from './models';
import type { MandateModel, PaymentModel } from './models';
import type { VendorCache } from './vendor-cache';

/**
 * The tag of every cached GoCardless listing. A change to any payment, mandate or customer may
 * change a listing, and a listing is not split by patient, so one tag evicts them all.
 */
export const GOCARDLESS_LISTINGS_TAG = 'GoCardless:listings';

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

export interface GoCardlessLoaderOptions {
  /** Retrievals by id in flight at once. @default 8 */
  retrieveConcurrency?: number;
  cache: VendorCache;
  /** Which GoCardless the listings come from (its base URL): part of every cache key. */
  source: string;
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

export function createGoCardlessLoaders(client: GoCardlessClient, options: GoCardlessLoaderOptions): GoCardlessLoaders {
  const concurrency = options.retrieveConcurrency ?? 8;
  const listing = <T>(resource: string, list: () => Promise<T[]>) =>
    once(() => options.cache.readOne({ key: JSON.stringify(['gocardless', options.source, resource]), tags: [GOCARDLESS_LISTINGS_TAG] }, list));
  const payments = listing('payments', () => client.listPayments());
  const customers = listing('customers', () => client.listCustomers());
  const mandates = listing('mandates', () => client.listMandates());

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
