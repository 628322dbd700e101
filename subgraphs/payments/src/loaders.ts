/**
 * The payments subgraph's DataLoaders, created per GraphQL request. Links from Semble entities
 * (Patient, Invoice) are answered with Stripe searches on metadata, in OR-groups of at most
 * `client.maxSearchClauses` ids, so N patients cost ⌈N / 10⌉ searches per field (plus extra
 * pages), never one request per patient. Lookups by id have no batch endpoint at Stripe, so
 * they are deduplicated and run with a bounded number in flight.
 */
import DataLoader from 'dataloader';
import { GraphQLError } from 'graphql';
import { VendorError } from '../../../lib/vendor-error';
import type { StripeClient, StripeSearchResource, ResourceRecord } from '../../../lib/vendors/stripe';
import { mapWithConcurrency } from '../../../lib/concurrency';
import { newestFirst, toPayment, toPlanSubscription } from './models';
import type { PaymentModel, PlanSubscriptionModel } from './models';

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
}

function notFound(typeName: string, id: string): GraphQLError {
  return new GraphQLError(`No ${typeName} with this id.`, { extensions: { code: 'NOT_FOUND', argumentName: 'id', typeName, id } });
}

/** Records per metadata value, newest first, mapped; an Error stays in its key's slot. */
function metadataLoader<R extends StripeSearchResource, M>(
  client: StripeClient,
  resource: R,
  metadataKey: string,
  toModel: (record: ResourceRecord[R]) => M,
): DataLoader<string, M[]> {
  return new DataLoader<string, M[]>(async (keys) => {
    const byValue = await client.searchByMetadata(resource, metadataKey, keys);
    return keys.map((key) => {
      const found = byValue.get(key) ?? [];
      if (found instanceof Error) return found;
      return [...found].sort(newestFirst).map(toModel);
    });
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

export function createLoaders(client: StripeClient, options: LoaderOptions = {}): PaymentsLoaders {
  const concurrency = options.retrieveConcurrency ?? 8;
  return {
    paymentsByPatient: metadataLoader(client, 'payment_intents', 'semble_patient_id', toPayment),
    paymentsByInvoice: metadataLoader(client, 'payment_intents', 'semble_invoice_id', toPayment),
    subscriptionsByPatient: metadataLoader(client, 'subscriptions', 'semble_patient_id', toPlanSubscription),
    paymentById: byIdLoader((id) => client.retrievePaymentIntent(id), toPayment, 'Payment', concurrency),
    subscriptionById: byIdLoader((id) => client.retrieveSubscription(id), toPlanSubscription, 'PlanSubscription', concurrency),
  };
}
