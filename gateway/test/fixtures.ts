/**
 * A small Federation 2 graph that is not the patient graph (products + reviews), to prove the
 * gateway is generic: real subgraph servers on port 0, composed with @apollo/composition into
 * a supergraph file in a temp folder.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { composeServices } from '@apollo/composition';
import { parse } from 'graphql';
import type { DocumentNode } from 'graphql';
import { startSubgraph } from '../../lib/subgraph';
import { TEST_INTERNAL_TOKEN_SECRET } from '../../lib/test/as-gateway';
import type { RunningSubgraph } from '../../lib/subgraph';
import { signToken } from '../src/auth';
import { gatewayConfigSchema } from '../src/config';
import { createGateway } from '../src/server';
import type { RunningGateway } from '../src/server';
import type { GatewayConfig } from '../src/config';

export const TEST_SECRET = 'test-secret-0123456789abcdef0123456789';
/** The clinic test tokens are for. */
export const TEST_CLINIC = 'test';
/** The clinics a test gateway serves: the tests' own, and the two the entity cache's tests keep apart. */
export const TEST_CLINICS = [TEST_CLINIC, 'north', 'south'];
export const testToken = (roles: string[] = ['admin']) => signToken(TEST_SECRET, { subject: 'test-user', roles, clinic: TEST_CLINIC });

export const productsSdl = (extraField = '') => `
  extend schema @link(url: "https://specs.apollo.dev/federation/v2.7", import: ["@key"])
  type Query { products: [Product!]! }
  type Product @key(fields: "id") { id: ID! name: String! ${extraField} }
`;

export const reviewsSdl = `
  extend schema @link(url: "https://specs.apollo.dev/federation/v2.7", import: ["@key"])
  type Product @key(fields: "id") { id: ID! reviews: [Review!]! }
  type Review { stars: Int! }
`;

const PRODUCTS = [
  { id: 'p1', name: 'Stethoscope', colour: 'blue' },
  { id: 'p2', name: 'Otoscope', colour: 'black' },
];

export async function startProducts(port = 0): Promise<RunningSubgraph> {
  return startSubgraph({
    name: 'products',
    port,
    typeDefs: parse(productsSdl('colour: String')),
    resolvers: {
      Query: { products: () => PRODUCTS },
      Product: { __resolveReference: (ref: { id: string }) => PRODUCTS.find((p) => p.id === ref.id) },
    },
    context: () => ({}),
    internalTokenSecret: TEST_INTERNAL_TOKEN_SECRET,
  });
}

export async function startReviews(port = 0): Promise<RunningSubgraph> {
  return startSubgraph({
    name: 'reviews',
    port,
    typeDefs: parse(reviewsSdl),
    resolvers: { Product: { reviews: (product: { id: string }) => (product.id === 'p1' ? [{ stars: 5 }, { stars: 4 }] : []) } },
    context: () => ({}),
    internalTokenSecret: TEST_INTERNAL_TOKEN_SECRET,
  });
}

export function composeToFile(file: string, subgraphs: Array<{ name: string; url: string; typeDefs: DocumentNode }>): void {
  const result = composeServices(subgraphs);
  if (result.errors) throw new Error(result.errors.map((e) => e.message).join('\n'));
  fs.writeFileSync(file, result.supergraphSdl);
}

export function tempDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'gateway-test-'));
}

export function baseConfig(overrides: Partial<GatewayConfig>): GatewayConfig {
  return gatewayConfigSchema.parse({
    port: 0,
    supergraphPath: 'schema/supergraph.graphql',
    watchSupergraph: false,
    environment: 'test',
    auth: { mode: 'jwt', secret: TEST_SECRET, clinics: TEST_CLINICS },
    // The test subgraphs' own: like ours, they answer only calls this gateway signed.
    internalTokenSecret: TEST_INTERNAL_TOKEN_SECRET,
    ...overrides,
  });
}

export async function graphql(url: string, query: string, options: { token?: string | null; variables?: unknown } = {}) {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  const token = options.token === undefined ? testToken() : options.token;
  if (token) headers.authorization = `Bearer ${token}`;
  const response = await fetch(url, { method: 'POST', headers, body: JSON.stringify({ query, variables: options.variables }) });
  return { status: response.status, body: (await response.json()) as { data?: any; errors?: any[]; extensions?: any } };
}

/** Poll until `check` passes or the deadline is reached; a wait, not a timing assertion. */
export async function eventually(check: () => Promise<boolean>, deadlineMs = 15_000): Promise<boolean> {
  const until = Date.now() + deadlineMs;
  while (Date.now() < until) {
    if (await check()) return true;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return false;
}

/** Makes a gateway over the file's products subgraph: `overrides` on the base config, then `after` to adjust it. */
export type StartProductsGateway = (overrides: Partial<GatewayConfig>, after?: (config: GatewayConfig) => void) => Promise<RunningGateway>;

/**
 * For a test file whose gateways all serve the products subgraph: starts it (and composes its
 * supergraph) before the file's tests, and stops it and every gateway made after them.
 */
export function useProductsGateways(): StartProductsGateway {
  let products: RunningSubgraph | undefined;
  let supergraphFile = '';
  const gateways: RunningGateway[] = [];
  beforeAll(async () => {
    products = await startProducts();
    supergraphFile = path.join(tempDir(), 'supergraph.graphql');
    composeToFile(supergraphFile, [{ name: 'products', url: products.graphqlUrl, typeDefs: parse(productsSdl()) }]);
  });
  afterAll(async () => {
    for (const gateway of gateways) await gateway.stop();
    await products?.stop();
  });
  return async (overrides, after) => {
    const config = baseConfig({ supergraphPath: supergraphFile, ...overrides });
    after?.(config);
    const gateway = await createGateway(config);
    gateways.push(gateway);
    return gateway;
  };
}
