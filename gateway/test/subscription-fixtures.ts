/**
 * A graph with a Subscription root field, for the gateway's subscription tests: a `feed`
 * subgraph (ItemEvent, the lookup `itemEvent(id)` and `Subscription.itemEvents`) next to the
 * products subgraph, events on a real event bus, and a gateway serving them over graphql-ws and
 * SSE, with each protocol's real client.
 */
import path from 'node:path';
import { parse } from 'graphql';
import { createClient } from 'graphql-ws';
import type { Client } from 'graphql-ws';
import { createClient as createSseClient } from 'graphql-sse';
import type { Client as SseClient } from 'graphql-sse';
import WebSocket from 'ws';
import type { EventBus } from '../../lib/event-bus/types';
import { startSubgraph } from '../../lib/subgraph';
import { TEST_INTERNAL_TOKEN_SECRET } from '../../lib/test/as-gateway';
import type { RunningSubgraph } from '../../lib/subgraph';
import type { GatewayConfig } from '../src/config';
import { createGateway } from '../src/server';
import type { RunningGateway } from '../src/server';
import { baseConfig, composeToFile, productsSdl, startProducts, tempDir, testToken } from './fixtures';

export const feedSdl = `
  extend schema @link(url: "https://specs.apollo.dev/federation/v2.7", import: ["@key"])
  type Query { itemEvent(id: ID!): ItemEvent }
  type Subscription { itemEvents(kind: String, after: String): ItemEvent! }
  type ItemEvent @key(fields: "id") { id: ID! kind: String! product: Product }
  type Product @key(fields: "id") { id: ID! }
`;

export interface SubscriptionRig {
  gateway: RunningGateway;
  wsUrl: string;
  /** itemEvent lookups the feed subgraph served. */
  lookups(): number;
  publish(kind: string, productId: string): Promise<string>;
  client(options?: { token?: string | null }): Client;
  /** A graphql-sse client (distinct connections mode, Node's fetch), not retrying. */
  sseClient(options?: { token?: string | null }): SseClient;
  stop(): Promise<void>;
}

/**
 * `gatewayOverrides`: the gateway's `subscriptions` settings; `configOverrides`: any other part of
 * its configuration; `feedTypeDefs`: the feed subgraph's schema, for one with directives.
 */
export async function startSubscriptionRig(
  bus: EventBus,
  gatewayOverrides: Record<string, unknown> = {},
  configOverrides: Partial<GatewayConfig> = {},
  feedTypeDefs: string = feedSdl,
): Promise<SubscriptionRig> {
  const products = await startProducts();
  let lookups = 0;
  const feed: RunningSubgraph = await startSubgraph({
    name: 'feed',
    typeDefs: parse(feedTypeDefs),
    resolvers: {
      Query: {
        itemEvent: async (_: unknown, args: { id: string }) => {
          lookups += 1;
          const before = await bus.read('items', { limit: 10_000 });
          const event = before.find((e) => e.cursor === args.id);
          if (!event) return null;
          const payload = event.payload as { kind: string; productId: string };
          return { id: event.cursor, kind: payload.kind, product: { id: payload.productId } };
        },
      },
    },
    context: () => ({}),
    internalTokenSecret: TEST_INTERNAL_TOKEN_SECRET,
  });
  const file = path.join(tempDir(), 'supergraph.graphql');
  composeToFile(file, [
    { name: 'products', url: products.graphqlUrl, typeDefs: parse(productsSdl()) },
    { name: 'feed', url: feed.graphqlUrl, typeDefs: parse(feedTypeDefs) },
  ]);
  const gateway = await createGateway(
    baseConfig({
      ...configOverrides,
      supergraphPath: file,
      subscriptions: {
        fields: { itemEvents: { topic: 'items', lookup: 'itemEvent', idFrom: 'cursor', filters: { kind: 'kind' } } },
        ...gatewayOverrides,
      } as never,
    }),
    { bus },
  );
  const wsUrl = gateway.graphqlUrl.replace('http://', 'ws://');
  const clients: Array<Client | SseClient> = [];
  return {
    gateway,
    wsUrl,
    lookups: () => lookups,
    async publish(kind, productId) {
      return (await bus.publish({ topic: 'items', type: 'item.changed', payload: { kind, productId } })).cursor;
    },
    client(options = {}) {
      const token = options.token === undefined ? testToken() : options.token;
      const client = createClient({
        url: wsUrl,
        webSocketImpl: WebSocket,
        retryAttempts: 0,
        lazy: false,
        connectionParams: token ? { authorization: `Bearer ${token}` } : {},
        onNonLazyError: () => undefined,
      });
      clients.push(client);
      return client;
    },
    sseClient(options = {}) {
      const token = options.token === undefined ? testToken() : options.token;
      const client = createSseClient({
        url: gateway.graphqlUrl,
        retryAttempts: 0,
        headers: token ? { authorization: `Bearer ${token}` } : {},
      });
      clients.push(client);
      return client;
    },
    async stop() {
      for (const client of clients) await client.dispose();
      await gateway.stop();
      await feed.stop();
      await products.stop();
    },
  };
}

/** Collect results of one subscription as they arrive. */
export function collect(client: Pick<Client | SseClient, 'subscribe'>, query: string, variables: Record<string, unknown> = {}) {
  const results: Array<{ data?: any; errors?: any[] }> = [];
  let error: unknown;
  let completed = false;
  const unsubscribe = client.subscribe(
    { query, variables },
    {
      next: (result) => void results.push(result as { data?: any; errors?: any[] }),
      error: (e) => {
        error = e;
      },
      complete: () => {
        completed = true;
      },
    },
  );
  return {
    results,
    unsubscribe,
    error: () => error,
    completed: () => completed,
    /** Wait until `count` results arrived (or the deadline passes). */
    async waitFor(count: number, deadlineMs = 10_000) {
      const until = Date.now() + deadlineMs;
      while (results.length < count && error === undefined && Date.now() < until) await new Promise((resolve) => setTimeout(resolve, 20));
      return results;
    },
  };
}

/** Wait until the gateway serves `count` subscriptions (they follow the bus from then on). */
export async function waitForSubscribers(gateway: RunningGateway, count: number, deadlineMs = 10_000): Promise<void> {
  const until = Date.now() + deadlineMs;
  for (;;) {
    const text = await (await fetch(`${gateway.url}/metrics`)).text();
    const value = Number(/^gateway_subscriptions_active (\d+)/m.exec(text)?.[1] ?? 0);
    if (value === count) return;
    if (Date.now() > until) throw new Error(`expected ${count} active subscriptions, the gateway has ${value}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
