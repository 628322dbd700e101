/**
 * Test wiring: a seeded Stripe emulator and the payments subgraph pointed at it, both on port 0,
 * plus small helpers to query the subgraph and read the emulator's request counters.
 */
import { createSeedWorld } from '../../../lib/seed';
import type { SeedWorld } from '../../../lib/seed';
import type { RunningSubgraph } from '../../../lib/subgraph';
import { startStripeEmulator } from '../emulator/server';
import type { StripeEmulator } from '../emulator/server';
import { loadPaymentsConfig } from '../src/config';
import { createServer } from '../src/server';

export const TEST_KEY = 'sk_test_payments_suite';

export interface PaymentsStack {
  world: SeedWorld;
  emulator: StripeEmulator;
  subgraph: RunningSubgraph;
  query<T = Record<string, unknown>>(query: string, variables?: Record<string, unknown>): Promise<GraphQLResponse<T>>;
  /** Vendor requests since the last reset, by route (admin routes are not counted). */
  vendorRequests(): Promise<{ total: number; byRoute: Record<string, number> }>;
  resetVendorRequests(): Promise<void>;
  stop(): Promise<void>;
}

export interface GraphQLResponse<T> {
  data?: T | null;
  errors?: Array<{ message: string; path?: Array<string | number>; extensions?: Record<string, unknown> }>;
}

export async function startPaymentsStack(options: { patients: number; subgraphKey?: string }): Promise<PaymentsStack> {
  const world = createSeedWorld({ patients: options.patients, seed: 42 });
  const emulator = await startStripeEmulator({ world, token: TEST_KEY });
  const subgraph = await createServer(
    loadPaymentsConfig({ PORT: '0', STRIPE_BASE_URL: emulator.url, STRIPE_SECRET_KEY: options.subgraphKey ?? TEST_KEY }),
  );
  return {
    world,
    emulator,
    subgraph,
    async query<T>(query: string, variables?: Record<string, unknown>) {
      const response = await fetch(subgraph.graphqlUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ query, variables }),
      });
      return (await response.json()) as GraphQLResponse<T>;
    },
    async vendorRequests() {
      const response = await fetch(`${emulator.url}/__admin/requests`);
      return (await response.json()) as { total: number; byRoute: Record<string, number> };
    },
    async resetVendorRequests() {
      await fetch(`${emulator.url}/__admin/requests`, { method: 'DELETE' });
    },
    async stop() {
      await subgraph.stop();
      await emulator.stop();
    },
  };
}

export const PAYMENT_FIELDS = 'id provider amountMinor currency status providerStatus createdAt invoice { id } patient { id }';
export const SUBSCRIPTION_FIELDS = 'id provider status plan amountMinor interval currentPeriodEnd';
