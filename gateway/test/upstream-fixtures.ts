/**
 * Real servers for failover tests: an `inventory` subgraph that counts the queries and
 * mutations it executes, and a controllable HTTP proxy in front of it that can pass, stall,
 * drop connections or answer with a chosen status (502, 429 with Retry-After, …).
 */
import http from 'node:http';
import path from 'node:path';
import { parse } from 'graphql';
import pino from 'pino';
import { INTERNAL_IDENTITY_HEADER } from '../../lib/internal-identity';
import { listen } from '../../lib/listen';
import type { Listening } from '../../lib/listen';
import { startSubgraph } from '../../lib/subgraph';
import { TEST_INTERNAL_TOKEN_SECRET } from '../../lib/test/as-gateway';
import type { RunningSubgraph } from '../../lib/subgraph';
import { createGateway } from '../src/server';
import type { RunningGateway } from '../src/server';
import type { GatewayConfig } from '../src/config';
import { upstreamPolicySchema } from '../src/upstream/policy';
import type { SubgraphUpstream } from '../src/upstream/policy';
import { baseConfig, composeToFile, productsSdl, startProducts, tempDir } from './fixtures';

export const inventorySdl = `
  extend schema @link(url: "https://specs.apollo.dev/federation/v2.7", import: ["@key"])
  type Query { warehouse: String }
  type Mutation { restock(id: ID!): Int }
  type Product @key(fields: "id") { id: ID! stock: Int }
`;

export interface CountingSubgraph extends RunningSubgraph {
  counts: { queries: number; mutations: number };
}

export async function startInventory(port = 0): Promise<CountingSubgraph> {
  const counts = { queries: 0, mutations: 0 };
  const server = await startSubgraph({
    name: 'inventory',
    port,
    typeDefs: parse(inventorySdl),
    resolvers: {
      Query: { warehouse: () => 'north' },
      Mutation: {
        restock: () => {
          counts.mutations += 1;
          return 10;
        },
      },
      Product: {
        __resolveReference: (ref: { id: string }) => {
          return { id: ref.id };
        },
        stock: (product: { id: string }) => (product.id === 'p1' ? 3 : 0),
      },
    },
    context: () => {
      counts.queries += 1;
      return {};
    },
    internalTokenSecret: TEST_INTERNAL_TOKEN_SECRET,
  });
  return { ...server, counts };
}

export type ProxyMode =
  | { kind: 'pass'; delayMs?: number }
  | { kind: 'status'; status: number; retryAfterSeconds?: number }
  | { kind: 'stall' }
  | { kind: 'drop' };

export interface ControllableProxy extends Listening {
  graphqlUrl: string;
  /** Operations (not health checks) that reached the proxy, with their arrival time. */
  hits: Array<{ at: number; body: string }>;
  healthChecks: number;
  /** Operations being answered now, and the most there ever were at once. */
  inFlight: number;
  peakInFlight: number;
  mode: ProxyMode;
  /** Modes to use for the next requests, one each, before falling back to `mode`. */
  queue: ProxyMode[];
  /** How health checks are answered, when not as operations are (`mode`). */
  healthMode?: ProxyMode;
}

const HEALTH_BODY = '{"query":"{ __typename }"}';

export async function startProxy(target: string, mode: ProxyMode = { kind: 'pass' }): Promise<ControllableProxy> {
  const state = { hits: [] as ControllableProxy['hits'], healthChecks: 0, mode, queue: [] as ProxyMode[], healthMode: undefined as ProxyMode | undefined, inFlight: 0, peakInFlight: 0 };
  const handler: http.RequestListener = (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', async () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const isHealthCheck = body === HEALTH_BODY;
      if (isHealthCheck) state.healthChecks += 1;
      else {
        state.hits.push({ at: Date.now(), body });
        state.inFlight += 1;
        state.peakInFlight = Math.max(state.peakInFlight, state.inFlight);
        res.on('close', () => (state.inFlight -= 1));
      }
      const current = isHealthCheck ? (state.healthMode ?? state.mode) : (state.queue.shift() ?? state.mode);
      switch (current.kind) {
        case 'stall':
          return; // never answer
        case 'drop':
          req.socket.destroy();
          return;
        case 'status':
          if (current.retryAfterSeconds !== undefined) res.setHeader('Retry-After', String(current.retryAfterSeconds));
          res.writeHead(current.status, { 'content-type': 'application/json' }).end(JSON.stringify({ errors: [{ message: `status ${current.status}` }] }));
          return;
        case 'pass': {
          if (current.delayMs) await new Promise((resolve) => setTimeout(resolve, current.delayMs));
          try {
            // The gateway's signed identity passes through, as through any proxy: the subgraph refuses calls without it.
            const identity = req.headers[INTERNAL_IDENTITY_HEADER];
            const headers = { 'content-type': 'application/json', ...(typeof identity === 'string' ? { [INTERNAL_IDENTITY_HEADER]: identity } : {}) };
            const upstream = await fetch(target, { method: 'POST', headers, body });
            res.writeHead(upstream.status, { 'content-type': upstream.headers.get('content-type') ?? 'application/json' }).end(await upstream.text());
          } catch {
            res.writeHead(502).end();
          }
        }
      }
    });
  };
  const listening = await listen(handler);
  const proxy = Object.assign(listening, { graphqlUrl: `${listening.url}/graphql` }) as ControllableProxy;
  Object.defineProperties(proxy, {
    hits: { get: () => state.hits },
    healthChecks: { get: () => state.healthChecks },
    inFlight: { get: () => state.inFlight },
    peakInFlight: { get: () => state.peakInFlight },
    mode: { get: () => state.mode, set: (value: ProxyMode) => (state.mode = value) },
    queue: { get: () => state.queue },
    healthMode: { get: () => state.healthMode, set: (value: ProxyMode | undefined) => (state.healthMode = value) },
  });
  return proxy;
}

export interface FailoverRig {
  gateway: RunningGateway;
  products: RunningSubgraph;
  inventory: CountingSubgraph;
  logs: Array<Record<string, unknown>>;
  readyz(): Promise<any>;
  metrics(): Promise<string>;
  stop(): Promise<void>;
}

/** products (one plain endpoint) + inventory behind the given endpoints, through a gateway. */
export async function startFailoverRig(
  inventoryUpstream: (inventory: CountingSubgraph) => Promise<SubgraphUpstream>,
  policy: Record<string, unknown> = {},
  gatewayOverrides: Partial<GatewayConfig> = {},
): Promise<FailoverRig> {
  const products = await startProducts();
  const inventory = await startInventory();
  const file = path.join(tempDir(), 'supergraph.graphql');
  composeToFile(file, [
    { name: 'products', url: products.graphqlUrl, typeDefs: parse(productsSdl()) },
    { name: 'inventory', url: inventory.graphqlUrl, typeDefs: parse(inventorySdl) },
  ]);
  const logs: Array<Record<string, unknown>> = [];
  const logger = pino({ level: 'info' }, { write: (line: string) => logs.push(JSON.parse(line) as Record<string, unknown>) });
  const gateway = await createGateway(
    baseConfig({
      supergraphPath: file,
      upstream: upstreamPolicySchema.parse(policy),
      subgraphs: { inventory: await inventoryUpstream(inventory) },
      ...gatewayOverrides,
    }),
    { logger },
  );
  return {
    gateway,
    products,
    inventory,
    logs,
    readyz: async () => (await fetch(`${gateway.url}/readyz`)).json(),
    metrics: async () => (await fetch(`${gateway.url}/metrics`)).text(),
    async stop() {
      await gateway.stop();
      await products.stop();
      await inventory.stop();
    },
  };
}
