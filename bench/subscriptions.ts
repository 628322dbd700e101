/**
 * `npm run bench:subscriptions`: N subscribers (default 1,000, each its own WebSocket, in a child
 * process) on one gateway; events published on the bus at a steady rate; prints delivery latency
 * from publish to client (p50/p99), events lost, and the gateway's memory.
 *
 * The gateway runs in this process with a small `feed` subgraph for the per-event lookup and an
 * in-memory event bus; the clients run in another process. Options (env): BENCH_SUBSCRIBERS (1000),
 * BENCH_EVENTS_PER_SECOND (20), BENCH_SECONDS (10).
 */
import { fork } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { composeServices } from '@apollo/composition';
import { parse } from 'graphql';
import pino from 'pino';
import { createMemoryEventBus } from '../lib/event-bus/memory';
import { startSubgraph } from '../lib/subgraph';
import { signToken } from '../gateway/src/auth';
import { DEV_CLINIC } from '../gateway/src/auth/config';
import { gatewayConfigSchema } from '../gateway/src/config';
import { createGateway } from '../gateway/src/server';

const FEED_SDL = `
  extend schema @link(url: "https://specs.apollo.dev/federation/v2.7", import: ["@key"])
  type Query { itemEvent(id: ID!): ItemEvent }
  type Subscription { itemEvents(after: String): ItemEvent! }
  type ItemEvent @key(fields: "id") { id: ID! publishedAt: String! }
`;

function percentile(sorted: number[], p: number): number {
  return sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]! : NaN;
}

const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MB`;

async function main() {
  const subscribers = Number(process.env.BENCH_SUBSCRIBERS ?? 1000);
  const rate = Number(process.env.BENCH_EVENTS_PER_SECOND ?? 20);
  const seconds = Number(process.env.BENCH_SECONDS ?? 10);
  const bus = createMemoryEventBus();
  const published = new Map<string, string>();
  // The lookup subgraph answers this gateway only, as every subgraph does.
  const internalTokenSecret = crypto.randomBytes(32).toString('hex');
  const feed = await startSubgraph({
    name: 'feed',
    typeDefs: parse(FEED_SDL),
    resolvers: { Query: { itemEvent: (_: unknown, args: { id: string }) => (published.has(args.id) ? { id: args.id, publishedAt: published.get(args.id) } : null) } },
    context: () => ({}),
    internalTokenSecret,
  });
  const composed = composeServices([{ name: 'feed', url: feed.graphqlUrl, typeDefs: parse(FEED_SDL) }]);
  if (composed.errors) throw new Error(composed.errors.map((e) => e.message).join('\n'));
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'bench-subscriptions-')), 'supergraph.graphql');
  fs.writeFileSync(file, composed.supergraphSdl);
  const secret = crypto.randomBytes(32).toString('hex');
  const gateway = await createGateway(
    gatewayConfigSchema.parse({
      port: 0,
      supergraphPath: file,
      watchSupergraph: false,
      // Not production, which takes OIDC tokens only; without the cache's per-response trace, as there.
      environment: 'test',
      auth: { mode: 'jwt', secret },
      internalTokenSecret,
      cache: { trace: false },
      subscriptions: { fields: { itemEvents: { topic: 'items', lookup: 'itemEvent' } }, maxQueuedEvents: 10_000 },
      // Every subscriber is one token: its connections and subscribe messages would pass the per-caller rate limit.
      rateLimit: { enabled: false },
    }),
    { bus, logger: pino({ level: 'warn' }) },
  );
  const token = signToken(secret, { subject: 'bench', roles: ['clinician', 'admin', 'marketing', 'finance'], clinic: DEV_CLINIC }, { expiresIn: '1h' });

  global.gc?.();
  const idle = process.memoryUsage();
  const clients = fork(path.join(__dirname, 'subscription-clients.js'), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const message = <T>(type: string) => new Promise<T>((resolve) => clients.on('message', (m: { type: string }) => m.type === type && resolve(m as T)));
  const opened = message('opened');
  clients.send({ type: 'start', url: gateway.graphqlUrl.replace('http://', 'ws://'), token, subscribers });
  await opened;
  // Wait until the gateway serves every subscription.
  for (const until = Date.now() + 60_000; ; ) {
    const text = await (await fetch(`${gateway.url}/metrics`)).text();
    if (Number(/^gateway_subscriptions_active (\d+)/m.exec(text)?.[1] ?? 0) >= subscribers) break;
    if (Date.now() > until) throw new Error('subscribers did not all connect');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  global.gc?.();
  const subscribed = process.memoryUsage();

  const total = rate * seconds;
  const started = Date.now();
  for (let i = 0; i < total; i++) {
    const due = started + (i * 1000) / rate;
    const wait = due - Date.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    const now = String(Date.now());
    const event = await bus.publish({ topic: 'items', type: 'item.changed', payload: { n: i } });
    published.set(event.cursor, now);
  }
  const peak = process.memoryUsage();
  // Let the last events arrive.
  await new Promise((resolve) => setTimeout(resolve, 2000));
  const reported = message<{ latencies: number[]; deliveries: Record<string, number>; errors: number }>('report');
  clients.send({ type: 'report' });
  const { latencies, deliveries, errors } = await reported;
  const expected = total * subscribers;
  const received = Object.values(deliveries).reduce((a, b) => a + b, 0);
  const sorted = [...latencies].sort((a, b) => a - b);

  console.log(`subscribers: ${subscribers}, events: ${total} at ${rate}/s over ${seconds} s`);
  console.log(`deliveries: ${received} of ${expected}; events lost: ${expected - received}; errors: ${errors}`);
  console.log(`delivery latency publish → client: p50 ${percentile(sorted, 50)} ms, p99 ${percentile(sorted, 99)} ms, max ${sorted.at(-1)} ms`);
  console.log(
    `gateway process memory (gateway + lookup subgraph + in-memory bus): idle RSS ${mb(idle.rss)} heap ${mb(idle.heapUsed)}; ` +
      `with ${subscribers} subscribers RSS ${mb(subscribed.rss)} heap ${mb(subscribed.heapUsed)}; after the events RSS ${mb(peak.rss)} heap ${mb(peak.heapUsed)}`,
  );
  clients.send({ type: 'stop' });
  await new Promise((resolve) => clients.once('exit', resolve));
  await gateway.stop();
  await feed.stop();
  await bus.close();
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
