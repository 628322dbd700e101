/**
 * The payments subgraph: Payment and PlanSubscription (owned here, from Stripe) and the links
 * Patient.payments, Patient.subscriptions and Invoice.payments. Resolvers read only through the
 * per-request loaders; nothing here does I/O at import time.
 */
import fs from 'node:fs';
import type { GraphQLResolverMap } from '@apollo/subgraph/dist/schema-helper';
import { GraphQLScalarType, Kind, parse } from 'graphql';
import type { DocumentNode } from 'graphql';
import { fromRoot } from '../../../lib/root';
import { startSubgraph } from '../../../lib/subgraph';
import type { RunningSubgraph } from '../../../lib/subgraph';
import { VendorError, VendorErrorCode } from '../../../lib/vendor-error';
import { createStripeClient } from '../../../lib/vendors/stripe';
import type { PaymentsConfig } from './config';
import { createLoaders } from './loaders';
import type { PaymentsLoaders } from './loaders';
import type { PaymentModel } from './models';

export const name = 'payments';

export interface PaymentsContext {
  loaders: PaymentsLoaders;
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

interface Reference {
  id: string;
}

export const resolvers: GraphQLResolverMap<PaymentsContext> = {
  DateTime,
  Patient: {
    payments: (patient: Reference, _args: unknown, context: PaymentsContext) => context.loaders.paymentsByPatient.load(patient.id),
    subscriptions: (patient: Reference, _args: unknown, context: PaymentsContext) => context.loaders.subscriptionsByPatient.load(patient.id),
  },
  Invoice: {
    payments: (invoice: Reference, _args: unknown, context: PaymentsContext) => context.loaders.paymentsByInvoice.load(invoice.id),
  },
  Payment: {
    __resolveReference: (reference: Reference, context: PaymentsContext) => context.loaders.paymentById.load(reference.id),
    status: (payment: PaymentModel) => {
      if (payment.status) return payment.status;
      // Not our status vocabulary: say so on this field rather than guess.
      throw new VendorError('stripe', VendorErrorCode.BadResponse, `payment status ${JSON.stringify(payment.providerStatus)} is not one we know`);
    },
  },
  PlanSubscription: {
    __resolveReference: (reference: Reference, context: PaymentsContext) => context.loaders.subscriptionById.load(reference.id),
  },
};

export async function createServer(config: PaymentsConfig): Promise<RunningSubgraph> {
  return startSubgraph<PaymentsContext>({
    name,
    typeDefs: loadTypeDefs(),
    resolvers,
    port: config.port,
    host: config.host,
    context: () => {
      const client = createStripeClient({
        baseUrl: config.stripeBaseUrl,
        token: config.stripeSecretKey,
        timeoutMs: config.timeoutMs,
        maxSearchClauses: config.searchMaxClauses,
      });
      return { loaders: createLoaders(client) };
    },
  });
}
