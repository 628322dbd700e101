/**
 * Starts the real HubSpot emulator and the real crm subgraph on free ports, for integration
 * tests, and returns a GraphQL `query` helper and one `stop()` for both.
 */
import { createSeedWorld } from '../../../lib/seed';
import { asGateway, TEST_INTERNAL_TOKEN_SECRET } from '../../../lib/test/as-gateway';
import type { SeedWorld } from '../../../lib/seed';
import { startHubSpotEmulator } from '../emulator/server';
import type { HubSpotEmulator, RateLimitOptions } from '../emulator/server';
import { createServer } from '../src/server';

export const TEST_TOKEN = 'hubspot-test-token';

export interface GraphQLAnswer<T = Record<string, unknown>> {
  data?: T | null;
  errors?: Array<{ message: string; path?: Array<string | number>; extensions?: Record<string, unknown> }>;
}

export interface CrmStack {
  world: SeedWorld;
  emulator: HubSpotEmulator;
  graphqlUrl: string;
  query<T = Record<string, unknown>>(query: string, variables?: Record<string, unknown>): Promise<GraphQLAnswer<T>>;
  /** The emulator's request counters, over HTTP as any outside observer would read them. */
  requests(): Promise<{ total: number; byRoute: Record<string, number> }>;
  resetRequests(): Promise<void>;
  stop(): Promise<void>;
}

export async function startCrmStack(options: { patients?: number; token?: string; rateLimit?: Partial<RateLimitOptions> } = {}): Promise<CrmStack> {
  const world = createSeedWorld({ patients: options.patients ?? 60, seed: 42 });
  // Tests that are not about rate limits must never trip the limiter.
  const emulator = await startHubSpotEmulator({ world, token: TEST_TOKEN, rateLimit: options.rateLimit ?? { max: 100_000, windowMs: 10_000 } });
  const subgraph = await createServer({
    port: 0,
    host: '127.0.0.1',
    hubspotBaseUrl: emulator.url,
    hubspotToken: options.token ?? TEST_TOKEN,
    timeoutMs: 10_000,
    internalTokenSecret: TEST_INTERNAL_TOKEN_SECRET,
  }).catch(async (error: unknown) => {
    await emulator.stop();
    throw error;
  });
  return {
    world,
    emulator,
    graphqlUrl: subgraph.graphqlUrl,
    async query<T>(query: string, variables?: Record<string, unknown>) {
      const response = await fetch(subgraph.graphqlUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(await asGateway('crm')) },
        body: JSON.stringify({ query, variables }),
      });
      return (await response.json()) as GraphQLAnswer<T>;
    },
    async requests() {
      return (await (await fetch(`${emulator.url}/__admin/requests`)).json()) as { total: number; byRoute: Record<string, number> };
    },
    async resetRequests() {
      await fetch(`${emulator.url}/__admin/requests`, { method: 'DELETE' });
    },
    async stop() {
      await subgraph.stop();
      await emulator.stop();
    },
  };
}

export const PATIENT_ENTITIES = /* GraphQL */ `
  query ($representations: [_Any!]!) {
    _entities(representations: $representations) {
      ... on Patient {
        id
        crmContact { id provider email firstName lastName phone lifecycleStage ownerId marketingConsent sembleId updatedAt patient { id } }
        deals { id name amount stage pipeline closeDate updatedAt }
      }
    }
  }
`;

export function patientRepresentations(ids: readonly string[]) {
  return ids.map((id) => ({ __typename: 'Patient', id }));
}
