/**
 * The payments subgraph: Payment (from Stripe and GoCardless), PlanSubscription (Stripe) and
 * Mandate (GoCardless), owned here, and the links Patient.payments, Patient.subscriptions,
 * Patient.mandates and Invoice.payments. Resolvers read only through the per-request loaders;
 * nothing here does I/O at import time.
 *
 * Payment lists merge the providers. One provider failing fails only its part: the field
 * returns the other provider's payments and reports the failure (VENDOR_UNAVAILABLE etc.,
 * naming the vendor) as a field error at the same path, through reportFieldError. Only when
 * every provider fails does the field fail (null, propagated by the schema's non-null list).
 *
 * Vendor responses go through the vendor cache (vendor-cache.ts), one per server, which follows
 * the bus's `entity-changes` to evict what changed (vendor-cache-invalidation.ts).
 */
import fs from 'node:fs';
import type { GraphQLResolverMap } from '@apollo/subgraph/dist/schema-helper';
import { GraphQLError, GraphQLScalarType, Kind, parse } from 'graphql';
import type { DocumentNode, GraphQLResolveInfo } from 'graphql';
import { connectSharedEventBus } from '../../../lib/event-bus';
import type { BusEvent, EventBus } from '../../../lib/event-bus';
import { createLogger } from '../../../lib/logger';
import type { Logger } from '../../../lib/logger';
import { fromRoot } from '../../../lib/root';
import { reportFieldError, startSubgraph } from '../../../lib/subgraph';
import type { RunningSubgraph } from '../../../lib/subgraph';
import type { SubgraphDeps } from '../../../lib/subgraph-main';
import { VendorError, VendorErrorCode } from '../../../lib/vendor-error';
import { createGoCardlessClient } from '../../../lib/vendors/gocardless';
import { createStripeClient } from '../../../lib/vendors/stripe';
import type { PaymentsConfig } from './config';
import { createGoCardlessLoaders, isGoCardlessPaymentId } from './gocardless-loaders';
import type { GoCardlessLoaders } from './gocardless-loaders';
import { createLoaders } from './loaders';
import type { PaymentsLoaders } from './loaders';
import { newestFirst } from './models';
import type { PaymentModel } from './models';
import { createVendorCache } from './vendor-cache';
import { followEntityChanges } from './vendor-cache-invalidation';

export const name = 'payments';

export interface PaymentsContext {
  /** Stripe's loaders. */
  loaders: PaymentsLoaders;
  goCardless: GoCardlessLoaders;
}

export function loadTypeDefs(): DocumentNode {
  return parse(fs.readFileSync(fromRoot('subgraphs/payments/schema.graphql'), 'utf8'));
}

function isIsoDateTime(value: unknown): value is string {
  return typeof value === 'string' && /^\d{4}-\d{2}-\d{2}T/.test(value) && !Number.isNaN(Date.parse(value));
}

/** ISO 8601 date-times, as strings on the wire. */
const DateTime = new GraphQLScalarType({
  name: 'DateTime',
  serialize(value) {
    if (value instanceof Date) return value.toISOString();
    if (isIsoDateTime(value)) return value;
    throw new TypeError(`DateTime: expected an ISO 8601 date-time, got ${typeof value}`);
  },
  parseValue(value) {
    if (isIsoDateTime(value)) return value;
    throw new TypeError(`DateTime: expected an ISO 8601 date-time string, got ${JSON.stringify(value)}`);
  },
  parseLiteral(ast) {
    if (ast.kind === Kind.STRING && isIsoDateTime(ast.value)) return ast.value;
    throw new TypeError('DateTime: expected an ISO 8601 date-time string literal');
  },
});

function isIsoDate(value: unknown): value is string {
  return typeof value === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(value) && !Number.isNaN(Date.parse(value));
}

/** Calendar dates, YYYY-MM-DD, as strings on the wire (the same scalar as the semble subgraph's). */
const DateScalar = new GraphQLScalarType({
  name: 'Date',
  serialize(value) {
    if (isIsoDate(value)) return value;
    throw new TypeError(`Date: expected YYYY-MM-DD, got ${typeof value}`);
  },
  parseValue(value) {
    if (isIsoDate(value)) return value;
    throw new TypeError(`Date: expected a YYYY-MM-DD string, got ${JSON.stringify(value)}`);
  },
  parseLiteral(ast) {
    if (ast.kind === Kind.STRING && isIsoDate(ast.value)) return ast.value;
    throw new TypeError('Date: expected a YYYY-MM-DD string literal');
  },
});

interface Reference {
  id: string;
}

/** A failure as a client may see it: GraphQL errors keep their code; anything else says nothing more. */
function asGraphQLError(error: unknown): GraphQLError {
  if (error instanceof GraphQLError) return error;
  return new GraphQLError('Internal server error', { extensions: { code: 'INTERNAL_SERVER_ERROR' } });
}

/**
 * One list from every provider's loader, newest first. A provider that failed is reported as
 * a field error next to the others' payments; if all failed, the field fails.
 */
async function fromEveryProvider(context: PaymentsContext, info: GraphQLResolveInfo, lists: Array<Promise<PaymentModel[]>>): Promise<PaymentModel[]> {
  const settled = await Promise.allSettled(lists);
  const failures = settled.flatMap((result) => (result.status === 'rejected' ? [asGraphQLError(result.reason)] : []));
  if (failures.length === settled.length) {
    for (const failure of failures.slice(1)) reportFieldError(context, info, failure);
    throw failures[0];
  }
  for (const failure of failures) reportFieldError(context, info, failure);
  return settled.flatMap((result) => (result.status === 'fulfilled' ? result.value : [])).sort(newestFirst);
}

export const resolvers: GraphQLResolverMap<PaymentsContext> = {
  DateTime,
  Date: DateScalar,
  Patient: {
    payments: (patient: Reference, _args: unknown, context: PaymentsContext, info: GraphQLResolveInfo) =>
      fromEveryProvider(context, info, [context.loaders.paymentsByPatient.load(patient.id), context.goCardless.paymentsByPatient.load(patient.id)]),
    subscriptions: (patient: Reference, _args: unknown, context: PaymentsContext) => context.loaders.subscriptionsByPatient.load(patient.id),
    mandates: (patient: Reference, _args: unknown, context: PaymentsContext) => context.goCardless.mandatesByPatient.load(patient.id),
  },
  Invoice: {
    payments: (invoice: Reference, _args: unknown, context: PaymentsContext, info: GraphQLResolveInfo) =>
      fromEveryProvider(context, info, [context.loaders.paymentsByInvoice.load(invoice.id), context.goCardless.paymentsByInvoice.load(invoice.id)]),
  },
  Payment: {
    // The id says the provider: GoCardless's are PM…, Stripe's pi_….
    __resolveReference: (reference: Reference, context: PaymentsContext) =>
      isGoCardlessPaymentId(reference.id) ? context.goCardless.paymentById.load(reference.id) : context.loaders.paymentById.load(reference.id),
    status: (payment: PaymentModel) => {
      if (payment.status) return payment.status;
      // Not our status vocabulary: say so on this field rather than guess.
      const vendor = payment.provider === 'GOCARDLESS' ? 'gocardless' : 'stripe';
      throw new VendorError(vendor, VendorErrorCode.BadResponse, `payment status ${JSON.stringify(payment.providerStatus)} is not one we know`);
    },
  },
  Mandate: {
    __resolveReference: (reference: Reference, context: PaymentsContext) => context.goCardless.mandateById.load(reference.id),
  },
  PlanSubscription: {
    __resolveReference: (reference: Reference, context: PaymentsContext) => context.loaders.subscriptionById.load(reference.id),
  },
};

export interface PaymentsServerDeps extends SubgraphDeps {
  /**
   * The bus whose `entity-changes` evict the vendor cache: used as is and left open on stop().
   * Without it, one is connected from the configuration (REDIS_URL, else BUS_URL) and closed on
   * stop(); with neither, cache entries only expire.
   */
  bus?: EventBus;
  logger?: Logger;
  /** An entity-changes event was applied to the vendor cache (`evicted` entries went). */
  onEntityChanges?: (event: BusEvent, evicted: number) => void;
}

/** The bus of the configuration: Redis Streams with REDIS_URL, else the sync service's over HTTP. */
const connectBus = (config: PaymentsConfig) =>
  connectSharedEventBus({
    redisUrl: config.redisUrl,
    keyPrefix: config.busKeyPrefix,
    ...(config.busUrl && config.busToken ? { remote: { url: config.busUrl, token: config.busToken } } : {}),
  });

export async function createServer(config: PaymentsConfig, deps: PaymentsServerDeps = {}): Promise<RunningSubgraph> {
  const logger = deps.logger ?? createLogger(name);
  const cache = createVendorCache(config, logger);
  const cleanUps: Array<() => Promise<void>> = [() => cache.close()];
  const cleanUp = async () => {
    for (const step of cleanUps.splice(0).reverse()) await step().catch(() => undefined);
  };
  try {
    await cache.ready();
    if (config.vendorCacheEnabled) {
      const bus = deps.bus ?? (await connectBus(config));
      if (bus && !deps.bus) cleanUps.push(() => bus.close());
      if (bus) {
        const follower = await followEntityChanges(bus, cache, { logger, onApplied: deps.onEntityChanges });
        cleanUps.push(() => follower.stop());
      } else {
        logger.warn({ ttlMs: config.vendorCacheTtlMs }, 'no event bus (REDIS_URL or BUS_URL): vendor cache entries are not evicted by changes, only expire');
      }
    }
    const subgraph = await startSubgraph<PaymentsContext>({
      name,
      typeDefs: loadTypeDefs(),
      resolvers,
      port: config.port,
      internalTokenSecret: config.internalTokenSecret,
      host: config.host,
      context: () => {
        const client = createStripeClient({
          baseUrl: config.stripeBaseUrl,
          token: config.stripeSecretKey,
          timeoutMs: config.timeoutMs,
          maxSearchClauses: config.searchMaxClauses,
        });
        const goCardless = createGoCardlessClient({
          baseUrl: config.goCardlessBaseUrl,
          token: config.goCardlessAccessToken,
          timeoutMs: config.goCardlessTimeoutMs,
        });
        return {
          loaders: createLoaders(client, { cache, source: config.stripeBaseUrl }),
          goCardless: createGoCardlessLoaders(goCardless, { cache, source: config.goCardlessBaseUrl }),
        };
      },
    });
    return {
      ...subgraph,
      async stop() {
        await subgraph.stop();
        await cleanUp();
      },
    };
  } catch (error) {
    await cleanUp();
    throw error;
  }
}
