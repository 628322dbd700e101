/**
 * Test wiring: seeded Stripe and GoCardless emulators and the payments subgraph pointed at
 * them, all on port 0, plus small helpers to query the subgraph and read the emulators'
 * request counters.
 */
import { createSeedWorld } from '../../../lib/seed';
import type { SeedWorld } from '../../../lib/seed';
import type { RunningSubgraph } from '../../../lib/subgraph';
import { asGateway, TEST_INTERNAL_TOKEN_SECRET } from '../../../lib/test/as-gateway';
import { startGoCardlessEmulator } from '../emulator/gocardless';
import type { GoCardlessEmulator } from '../emulator/gocardless';
import { startStripeEmulator } from '../emulator/server';
import type { StripeEmulator } from '../emulator/server';
import { loadPaymentsConfig } from '../src/config';
import { createServer } from '../src/server';
import type { PaymentsServerDeps } from '../src/server';

export const TEST_KEY = 'sk_test_payments_suite';
export const GOCARDLESS_TEST_TOKEN = 'gocardless_payments_suite';

type Counts = { total: number; byRoute: Record<string, number> };

export interface PaymentsStack {
  world: SeedWorld;
  emulator: StripeEmulator;
  goCardless: GoCardlessEmulator;
  subgraph: RunningSubgraph;
  query<T = Record<string, unknown>>(query: string, variables?: Record<string, unknown>): Promise<GraphQLResponse<T>>;
  /** Stripe requests since the last reset, by route (admin routes are not counted). */
  vendorRequests(): Promise<Counts>;
  /** GoCardless requests since the last reset, by route. */
  goCardlessRequests(): Promise<Counts>;
  /** Resets both emulators' counters. */
  resetVendorRequests(): Promise<void>;
  stop(): Promise<void>;
}

export interface GraphQLResponse<T> {
  data?: T | null;
  errors?: Array<{ message: string; path?: Array<string | number>; extensions?: Record<string, unknown> }>;
}

export interface PaymentsStackOptions {
  patients: number;
  subgraphKey?: string;
  goCardlessToken?: string;
  /** More of the subgraph's configuration (e.g. VENDOR_CACHE_*), as environment variables. */
  env?: NodeJS.ProcessEnv;
  deps?: PaymentsServerDeps;
}

export async function startPaymentsStack(options: PaymentsStackOptions): Promise<PaymentsStack> {
  const world = createSeedWorld({ patients: options.patients, seed: 42 });
  const emulator = await startStripeEmulator({ world, token: TEST_KEY });
  const goCardless = await startGoCardlessEmulator({ world, token: GOCARDLESS_TEST_TOKEN });
  const subgraph = await createServer(
    loadPaymentsConfig({
      PORT: '0',
      STRIPE_BASE_URL: emulator.url,
      STRIPE_SECRET_KEY: options.subgraphKey ?? TEST_KEY,
      GOCARDLESS_BASE_URL: goCardless.url,
      GOCARDLESS_ACCESS_TOKEN: options.goCardlessToken ?? GOCARDLESS_TEST_TOKEN,
      INTERNAL_TOKEN_SECRET: TEST_INTERNAL_TOKEN_SECRET,
      ...options.env,
    }),
    options.deps,
  );
  const counts = async (url: string) => (await (await fetch(`${url}/__admin/requests`)).json()) as Counts;
  return {
    world,
    emulator,
    goCardless,
    subgraph,
    async query<T>(query: string, variables?: Record<string, unknown>) {
      const response = await fetch(subgraph.graphqlUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(await asGateway('payments')) },
        body: JSON.stringify({ query, variables }),
      });
      return (await response.json()) as GraphQLResponse<T>;
    },
    vendorRequests: () => counts(emulator.url),
    goCardlessRequests: () => counts(goCardless.url),
    async resetVendorRequests() {
      await Promise.all([emulator.url, goCardless.url].map((url) => fetch(`${url}/__admin/requests`, { method: 'DELETE' })));
    },
    async stop() {
      await subgraph.stop();
      await emulator.stop();
      await goCardless.stop();
    },
  };
}

export const PAYMENT_FIELDS = 'id provider amountMinor currency status providerStatus createdAt invoice { id } patient { id }';
export const SUBSCRIPTION_FIELDS = 'id provider status plan amountMinor interval currentPeriodEnd';
