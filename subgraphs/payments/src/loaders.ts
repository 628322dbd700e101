/**
 * The payments subgraph's DataLoaders, created per GraphQL request. Links from Semble entities
 * (Patient, Invoice) are answered with Stripe searches on metadata, in OR-groups of at most
 * `client.maxSearchClauses` ids, so N patients cost ⌈N / 10⌉ searches per field (plus extra
 * pages), never one request per patient. Each id's records are kept in the vendor cache
 * (vendor-cache.ts) for its TTL, tagged with the entity they belong to (`Patient:<id>`,
 * `Invoice:<id>`) and with each record's own (`Payment:<pi id>`, `PlanSubscription:<id>`), so a
 * change that names either evicts them: a batch searches only for the ids the cache does not
 * hold. Lookups by id have
 * no batch endpoint at Stripe, so they are deduplicated and run with a bounded number in flight,
 * uncached.
 */
import DataLoader from 'dataloader';
import { GraphQLError } from 'graphql';
import { VendorError } from '../../../lib/vendor-error';
import type { StripeClient, StripeSearchResource, ResourceRecord } from '../../../lib/vendors/stripe';
import { mapWithConcurrency } from '../../../lib/concurrency';
import { newestFirst, toPayment, toPlanSubscription } from './models';
import type { PaymentModel, PlanSubscriptionModel } from './models';
import { entityTag } from './vendor-cache';
import type { VendorCache } from './vendor-cache';

export interface PaymentsLoaders {
  paymentsByPatient: DataLoader<string, PaymentModel[]>;
  paymentsByInvoice: DataLoader<string, PaymentModel[]>;
  subscriptionsByPatient: DataLoader<string, PlanSubscriptionModel[]>;
  paymentById: DataLoader<string, PaymentModel>;
  subscriptionById: DataLoader<string, PlanSubscriptionModel>;
}

export interface LoaderOptions {
  /** Retrievals by id in flight at once. @default 8 */
  retrieveConcurrency?: number;
  cache: VendorCache;
  /** Which Stripe the records come from (its base URL): part of every cache key. */
  source: string;
}

function notFound(typeName: string, id: string): GraphQLError {
  return new GraphQLError(`No ${typeName} with this id.`, { extensions: { code: 'NOT_FOUND', argumentName: 'id', typeName, id } });
}

/** A metadata search: of `resource` (whose records are graph entities of type `recordType`) by the id of an `owner`. */
interface MetadataSearch<R extends StripeSearchResource> {
  resource: R;
  recordType: 'Payment' | 'PlanSubscription';
  metadataKey: string;
  owner: 'Patient' | 'Invoice';
}

/**
 * Records per metadata value (the id of the owner), newest first, mapped; an Error stays in its
 * key's slot and is not cached.
 */
function metadataLoader<R extends StripeSearchResource, M>(
  client: StripeClient,
  options: LoaderOptions,
  search: MetadataSearch<R>,
  toModel: (record: ResourceRecord[R]) => M,
): DataLoader<string, M[]> {
  const { resource, metadataKey, owner, recordType } = search;
  const slots = {
    keyOf: (id: string) => JSON.stringify(['stripe', options.source, resource, metadataKey, id]),
    // The owner and every record: a change named by either (its webhook names the record) evicts it.
    tagsOf: (id: string, records: Array<ResourceRecord[R]>) => [entityTag(owner, id), ...records.map((record) => entityTag(recordType, record.id))],
  };
  return new DataLoader<string, M[]>(async (keys) => {
    const found = await options.cache.readThrough(keys, slots, async (misses) => {
      const byValue = await client.searchByMetadata(resource, metadataKey, misses);
      return misses.map((id) => byValue.get(id) ?? []);
    });
    return found.map((records) => (records instanceof Error ? records : [...records].sort(newestFirst).map(toModel)));
  });
}

function byIdLoader<W, M>(retrieve: (id: string) => Promise<W>, toModel: (record: W) => M, typeName: string, concurrency: number): DataLoader<string, M> {
  return new DataLoader<string, M>((ids) =>
    mapWithConcurrency(ids, concurrency, async (id): Promise<M | Error> => {
      try {
        return toModel(await retrieve(id));
      } catch (error) {
        // Stripe answers an unknown id with 404 resource_missing.
        if (error instanceof VendorError && error.status === 404) return notFound(typeName, id);
        return error as Error;
      }
    }),
  );
}

export function createLoaders(client: StripeClient, options: LoaderOptions): PaymentsLoaders {
  const concurrency = options.retrieveConcurrency ?? 8;
  return {
    paymentsByPatient: metadataLoader(client, options, { resource: 'payment_intents', recordType: 'Payment', metadataKey: 'semble_patient_id', owner: 'Patient' }, toPayment),
    paymentsByInvoice: metadataLoader(client, options, { resource: 'payment_intents', recordType: 'Payment', metadataKey: 'semble_invoice_id', owner: 'Invoice' }, toPayment),
    subscriptionsByPatient: metadataLoader(client, options, { resource: 'subscriptions', recordType: 'PlanSubscription', metadataKey: 'semble_patient_id', owner: 'Patient' }, toPlanSubscription),
    paymentById: byIdLoader((id) => client.retrievePaymentIntent(id), toPayment, 'Payment', concurrency),
    subscriptionById: byIdLoader((id) => client.retrieveSubscription(id), toPlanSubscription, 'PlanSubscription', concurrency),
  };
}
