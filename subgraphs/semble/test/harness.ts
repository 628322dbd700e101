/**
 * Starts the real Semble emulator and the real subgraph on port 0 for a test file, and gives
 * it a way to query the subgraph over HTTP and read the emulator's request counters.
 */
import { createSeedWorld } from '../../../lib/seed';
import type { SeedWorld } from '../../../lib/seed';
import type { RunningSubgraph } from '../../../lib/subgraph';
import { asGateway, TEST_INTERNAL_TOKEN_SECRET } from '../../../lib/test/as-gateway';
import { startSembleEmulator } from '../emulator/server';
import type { SembleEmulator } from '../emulator/server';
import { createServer } from '../src/server';

export const TEST_TOKEN = 'semble-test-token';

export interface GraphQLResult<T = Record<string, unknown>> {
  data?: T | null;
  errors?: Array<{ message: string; path?: Array<string | number>; extensions?: Record<string, unknown> }>;
}

export interface SembleHarness {
  world: SeedWorld;
  emulator: SembleEmulator;
  subgraph: RunningSubgraph;
  query<T = Record<string, any>>(query: string, variables?: Record<string, unknown>): Promise<GraphQLResult<T>>;
  /** Requests the emulator has served since the last reset (admin requests excluded). */
  sembleRequests(): Promise<number>;
  resetRequests(): Promise<void>;
  stop(): Promise<void>;
}

export async function startSembleHarness(options: { patients?: number; subgraphToken?: string } = {}): Promise<SembleHarness> {
  const world = createSeedWorld({ patients: options.patients ?? 60, seed: 42 });
  const emulator = await startSembleEmulator({ world, token: TEST_TOKEN });
  const subgraph = await createServer({
    port: 0,
    host: '127.0.0.1',
    baseUrl: emulator.url,
    token: options.subgraphToken ?? TEST_TOKEN,
    timeoutMs: 10_000,
    currency: 'GBP',
    internalTokenSecret: TEST_INTERNAL_TOKEN_SECRET,
  });
  return {
    world,
    emulator,
    subgraph,
    async query(query, variables) {
      const response = await fetch(subgraph.graphqlUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(await asGateway('semble')) },
        body: JSON.stringify({ query, variables }),
      });
      return (await response.json()) as GraphQLResult<any>;
    },
    async sembleRequests() {
      const response = await fetch(`${emulator.url}/__admin/requests`);
      return ((await response.json()) as { total: number }).total;
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
