/**
 * Rate limits per caller and per client address, through real gateways: a subject over its limit
 * and an address over its failed-authentication budget get 429 with Retry-After and RATE_LIMITED;
 * replicas sharing a real Redis count together; a Redis that is down or stops answering leaves
 * each replica counting on its own without failing a request; WebSocket connections and
 * subscribe messages count too, with the real graphql-ws client.
 */
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { parse } from 'graphql';
import { createClient } from 'graphql-ws';
import type { Client } from 'graphql-ws';
import { createClient as createRedisClient } from 'redis';
import WebSocket from 'ws';
import { createMemoryEventBus } from '../../lib/event-bus/memory';
import { REDIS_URL, deleteKeys } from '../../lib/event-bus/test/redis-keys';
import { listen } from '../../lib/listen';
import type { RunningSubgraph } from '../../lib/subgraph';
import { signToken } from '../src/auth';
import { authConfigSchema } from '../src/auth/config';
import { limitedAddress } from '../src/rate-limit/client-address';
import { rateLimitConfigSchema } from '../src/rate-limit/config';
import { loadGatewayConfig } from '../src/config';
import { createGateway } from '../src/server';
import type { RunningGateway } from '../src/server';
import { TEST_CLINIC, TEST_SECRET, baseConfig, composeToFile, productsSdl, startProducts, tempDir } from './fixtures';
import { startOidcIssuer } from './oidc-issuer';
import { collect, startSubscriptionRig, waitForSubscribers } from './subscription-fixtures';

const QUERY = '{ products { id } }';
const tokenOf = (subject: string) => signToken(TEST_SECRET, { subject, roles: ['admin'], clinic: TEST_CLINIC });
const FORGED = signToken('not-the-secret-0123456789abcdef01234567', { subject: 'mallory', roles: ['admin'], clinic: TEST_CLINIC });

interface Answer {
  status: number;
  retryAfter: string | undefined;
  body: { data?: any; errors?: any[] };
}

/** POST a query from a chosen local address (127.0.0.1 and 127.0.0.2 are two clients to the gateway). */
function ask(gateway: RunningGateway, token: string | null, from = '127.0.0.1'): Promise<Answer> {
  const body = JSON.stringify({ query: QUERY });
  return new Promise((resolve, reject) => {
    const request = http.request(
      gateway.graphqlUrl,
      {
        method: 'POST',
        localAddress: from,
        agent: false,
        headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
        // A request that a stalled Redis held would fail the test here rather than hang it.
        signal: AbortSignal.timeout(20_000),
      },
      (response) => {
        let text = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => (text += chunk));
        response.on('end', () => resolve({ status: response.statusCode!, retryAfter: response.headers['retry-after'], body: JSON.parse(text) }));
      },
    );
    request.on('error', reject);
    request.end(body);
  });
}

async function rateLimitedCount(gateway: RunningGateway, limit: string): Promise<number> {
  const text = await (await fetch(`${gateway.url}/metrics`)).text();
  return Number(new RegExp(`^gateway_rate_limited_total\\{limit="${limit}"\\} (\\d+)`, 'm').exec(text)?.[1] ?? 0);
}

/** What a refused request must look like: 429, a whole-second Retry-After, the same wait in the body. */
function expectRefused(answer: Answer, limit: 'subject' | 'failedAuthIp', windowSeconds: number): void {
  expect(answer.status).toBe(429);
  expect(answer.retryAfter).toMatch(/^\d+$/);
  const seconds = Number(answer.retryAfter);
  expect(seconds).toBeGreaterThanOrEqual(1);
  expect(seconds).toBeLessThanOrEqual(windowSeconds);
  expect(answer.body).toEqual({
    errors: [{ message: expect.stringContaining(`retry after ${seconds} s`), extensions: { code: 'RATE_LIMITED', limit, retryAfterSeconds: seconds } }],
  });
}

describe('rate limits', () => {
  let products: RunningSubgraph;
  let supergraphFile: string;
  const disposers: Array<() => Promise<void>> = [];

  beforeAll(async () => {
    products = await startProducts();
    supergraphFile = path.join(tempDir(), 'supergraph.graphql');
    composeToFile(supergraphFile, [{ name: 'products', url: products.graphqlUrl, typeDefs: parse(productsSdl()) }]);
  });
  afterEach(async () => {
    while (disposers.length > 0) await disposers.pop()!();
  });
  afterAll(async () => {
    await products?.stop();
  });

  async function startGateway(rateLimit: Record<string, unknown>): Promise<RunningGateway> {
    const gateway = await createGateway(baseConfig({ supergraphPath: supergraphFile, rateLimit: rateLimitConfigSchema.parse(rateLimit) }));
    disposers.push(() => gateway.stop());
    return gateway;
  }

  /** A key prefix of this test's own on the shared Redis, removed afterwards. */
  function redisPrefix(): string {
    const prefix = `pg:test:ratelimit:${randomUUID()}`;
    disposers.push(() => deleteKeys(prefix));
    return prefix;
  }

  describe('per subject', () => {
    it("refuses a subject past its limit with 429, Retry-After and RATE_LIMITED, and serves another subject as before", async () => {
      const gateway = await startGateway({ perSubject: 3, windowSeconds: 60 });
      for (let i = 0; i < 3; i++) expect((await ask(gateway, tokenOf('alice'))).status).toBe(200);
      expectRefused(await ask(gateway, tokenOf('alice')), 'subject', 60);
      // Counted per subject, not per address: bob asks from the same address.
      const bob = await ask(gateway, tokenOf('bob'));
      expect(bob.status).toBe(200);
      expect(bob.body.data.products).toHaveLength(2);
      expect(await rateLimitedCount(gateway, 'subject')).toBe(1);
    });

    it('serves the subject again once the Retry-After it was given has passed', async () => {
      const gateway = await startGateway({ perSubject: 1, windowSeconds: 1 });
      expect((await ask(gateway, tokenOf('alice'))).status).toBe(200);
      const refused = await ask(gateway, tokenOf('alice'));
      expectRefused(refused, 'subject', 1);
      await new Promise((resolve) => setTimeout(resolve, Number(refused.retryAfter) * 1000));
      expect((await ask(gateway, tokenOf('alice'))).status).toBe(200);
    });

    it('is off with RATE_LIMIT_ENABLED=false', async () => {
      const gateway = await startGateway({ enabled: false, perSubject: 1, failedAuthPerIp: 1 });
      for (let i = 0; i < 3; i++) expect((await ask(gateway, tokenOf('alice'))).status).toBe(200);
      for (let i = 0; i < 3; i++) expect((await ask(gateway, FORGED)).status).toBe(401);
    });
  });

  describe('cost budget per subject', () => {
    /** POST `query` as `token`; the status, Retry-After and body. */
    async function post(gateway: RunningGateway, token: string, query: string): Promise<Answer> {
      const response = await fetch(gateway.graphqlUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify({ query }),
      });
      return { status: response.status, retryAfter: response.headers.get('retry-after') ?? undefined, body: (await response.json()) as Answer['body'] };
    }

    it("charges each operation's estimated cost: heavy queries spend a caller's budget, refused ones cost nothing, and other callers are unaffected", async () => {
      const gateway = await createGateway(
        baseConfig({
          supergraphPath: supergraphFile,
          limits: { maxCost: 50 } as never,
          rateLimit: rateLimitConfigSchema.parse({ perSubject: 1000, costPerSubject: 50, windowSeconds: 60 }),
        }),
      );
      disposers.push(() => gateway.stop());
      // By the README's rule: products (1) + 10 (the default list size) × (id 1 + name 1) = 21.
      const HEAVY = '{ products { id name } }';
      for (let i = 0; i < 2; i++) expect((await post(gateway, tokenOf('alice'), HEAVY)).status).toBe(200);
      const refused = await post(gateway, tokenOf('alice'), HEAVY);
      expect(refused.status).toBe(429);
      expect(Number(refused.retryAfter)).toBeGreaterThanOrEqual(1);
      expect(refused.body.errors).toEqual([
        expect.objectContaining({ extensions: { code: 'RATE_LIMITED', limit: 'cost', retryAfterSeconds: Number(refused.retryAfter), cost: 21 } }),
      ]);
      // 42 of 50 spent, and the refusal was not charged: a query costing 8 or less still runs.
      expect((await post(gateway, tokenOf('alice'), '{ __typename }')).status).toBe(200);
      // Bob has a budget of his own.
      const bob = await post(gateway, tokenOf('bob'), HEAVY);
      expect(bob.status).toBe(200);
      expect(bob.body.data.products).toHaveLength(2);
      expect(await rateLimitedCount(gateway, 'cost')).toBe(1);
    });

    it('refuses a budget smaller than the largest operation the limits allow, naming the variable', () => {
      expect(() => loadGatewayConfig({ NODE_ENV: 'development', AUTH_JWT_SECRET: TEST_SECRET, INTERNAL_TOKEN_SECRET: TEST_SECRET, RATE_LIMIT_COST_PER_SUBJECT: '1000' })).toThrow(
        /RATE_LIMIT_COST_PER_SUBJECT: expected a cost budget of at least LIMIT_MAX_COST/,
      );
    });
  });

  describe('failed authentications per client address', () => {
    it('past the budget refuses the address before verifying its token, a valid one too; successes do not count; other addresses and the operational endpoints are unaffected', async () => {
      const gateway = await startGateway({ perSubject: 100, failedAuthPerIp: 3, windowSeconds: 60 });
      // Successful authentications spend nothing of the budget.
      for (let i = 0; i < 5; i++) expect((await ask(gateway, tokenOf('alice'))).status).toBe(200);
      // Each failure within the budget is told why.
      const failures = [await ask(gateway, FORGED), await ask(gateway, null), await ask(gateway, 'not-a-jwt')];
      expect(failures.map((f) => [f.status, f.body.errors?.[0]?.extensions.code])).toEqual(Array.from({ length: 3 }, () => [401, 'UNAUTHENTICATED']));
      expectRefused(await ask(gateway, FORGED), 'failedAuthIp', 60);
      // A valid token from the address is refused too: its token is not even looked at.
      expectRefused(await ask(gateway, tokenOf('alice')), 'failedAuthIp', 60);
      // Another client address keeps its own budget.
      expect((await ask(gateway, tokenOf('alice'), '127.0.0.2')).status).toBe(200);
      expect((await ask(gateway, FORGED, '127.0.0.2')).status).toBe(401);
      // The operational endpoints are not rate limited.
      for (const route of ['/healthz', '/readyz', '/metrics']) expect((await fetch(`${gateway.url}${route}`)).status).toBe(200);
      expect(await rateLimitedCount(gateway, 'failedAuthIp')).toBe(2);
    });

    it("does not count a refusal that is the identity provider's fault (its keys are unavailable)", async () => {
      const issuer = await startOidcIssuer({ audience: 'rate-limits' });
      disposers.push(() => issuer.stop());
      // Nothing listens on port 1: no key can be had, whatever the token.
      const unreachable = 'http://127.0.0.1:1/oauth2/default';
      const gateway = await createGateway(
        baseConfig({
          supergraphPath: supergraphFile,
          auth: authConfigSchema.parse({ mode: 'oidc', issuer: unreachable, audience: 'rate-limits', clinics: [TEST_CLINIC] }),
          rateLimit: rateLimitConfigSchema.parse({ failedAuthPerIp: 1, windowSeconds: 60 }),
        }),
      );
      disposers.push(() => gateway.stop());
      const token = await issuer.sign({ clinic: TEST_CLINIC }, { issuer: unreachable });
      for (let i = 0; i < 3; i++) {
        const answer = await ask(gateway, token);
        expect([answer.status, answer.body.errors?.[0]?.message]).toEqual([401, "Not authenticated: invalid token: the identity provider's signing keys are unavailable"]);
      }
      // A token that is the caller's fault spends the budget as ever.
      expect((await ask(gateway, 'not-a-jwt')).status).toBe(401);
      expectRefused(await ask(gateway, token), 'failedAuthIp', 60);
    });
  });

  describe('shared through Redis', () => {
    it('counts requests split over two replicas together, for subjects and failed authentications alike, under hashed keys', async () => {
      const keyPrefix = redisPrefix();
      const settings = { perSubject: 4, failedAuthPerIp: 2, windowSeconds: 60, redisUrl: REDIS_URL, keyPrefix, redisTimeoutMs: 5000 };
      const [a, b] = [await startGateway(settings), await startGateway(settings)];
      // Two each: four in all, the limit.
      for (const replica of [a, b, a, b]) expect((await ask(replica, tokenOf('alice'))).status).toBe(200);
      expectRefused(await ask(a, tokenOf('alice')), 'subject', 60);
      expectRefused(await ask(b, tokenOf('alice')), 'subject', 60);
      // One failure at each replica spends the address's budget at both.
      expect((await ask(a, FORGED)).status).toBe(401);
      expect((await ask(b, FORGED)).status).toBe(401);
      expectRefused(await ask(a, tokenOf('bob')), 'failedAuthIp', 60);

      const redis = createRedisClient({ url: REDIS_URL });
      await redis.connect();
      try {
        const keys = await redis.keys(`${keyPrefix}:*`);
        // Alice's requests, her operations' cost, the address's failures: one counter each.
        expect(keys.map((key) => key.slice(keyPrefix.length + 1).split(':')[0]).sort()).toEqual(['cost', 'failed-auth-ip', 'subject']);
        for (const key of keys) expect(key).not.toMatch(/alice|127\.0\.0\.1/);
      } finally {
        redis.destroy();
      }
    });

    it('with Redis unreachable, answers every request and limits each replica on its own', async () => {
      const placeholder = await listen((_req, res) => res.end());
      await placeholder.stop();
      const settings = { perSubject: 2, windowSeconds: 60, redisUrl: `redis://127.0.0.1:${placeholder.port}`, keyPrefix: redisPrefix() };
      const [a, b] = [await startGateway(settings), await startGateway(settings)];
      // Each replica lets two through: four in all, where a shared count would have allowed two.
      for (const replica of [a, b, a, b]) expect((await ask(replica, tokenOf('alice'))).status).toBe(200);
      expectRefused(await ask(a, tokenOf('alice')), 'subject', 60);
      expectRefused(await ask(b, tokenOf('alice')), 'subject', 60);
    });

    it('with a Redis that stops answering, does not wait for it: the replica counts on its own', async () => {
      const redis = await startFreezableRedisProxy();
      disposers.push(() => redis.stop());
      // A timeout a loaded machine cannot reach before the freeze: only then do requests go to memory.
      const gateway = await startGateway({ perSubject: 3, windowSeconds: 60, redisUrl: redis.url, keyPrefix: redisPrefix(), redisTimeoutMs: 3000 });
      for (let i = 0; i < 2; i++) expect((await ask(gateway, tokenOf('alice'))).status).toBe(200);
      redis.freeze();
      // Counted in memory from here: three more, then the limit.
      for (let i = 0; i < 3; i++) expect((await ask(gateway, tokenOf('alice'))).status).toBe(200);
      expectRefused(await ask(gateway, tokenOf('alice')), 'subject', 60);
    });
  });

  describe('over WebSocket', () => {
    const EVENTS = 'subscription { itemEvents { id } }';

    async function startRig(rateLimit: Record<string, unknown>) {
      const bus = createMemoryEventBus();
      const rig = await startSubscriptionRig(bus, {}, { rateLimit: rateLimitConfigSchema.parse(rateLimit) });
      disposers.push(async () => {
        await rig.stop();
        await bus.close();
      });
      return rig;
    }

    /** A graphql-ws client that reports how its socket closed. */
    function wsClient(url: string, token: string): { client: Client; closed: Promise<{ code: number; reason: string }> } {
      let onClosed!: (event: { code: number; reason: string }) => void;
      const closed = new Promise<{ code: number; reason: string }>((resolve) => (onClosed = resolve));
      const client = createClient({
        url,
        webSocketImpl: WebSocket,
        retryAttempts: 0,
        connectionParams: { authorization: `Bearer ${token}` },
        on: { closed: (event) => onClosed(event as { code: number; reason: string }) },
      });
      disposers.push(async () => {
        await client.dispose();
      });
      return { client, closed };
    }

    /** Subscribe and wait for the first thing that happens: a result, or an error. */
    function firstOutcome(client: Client): Promise<{ next?: unknown; error?: any }> {
      return new Promise((resolve) => {
        // Nothing is published: a subscription that is served has no outcome, and says so in time.
        setTimeout(() => resolve({}), 10_000).unref();
        client.subscribe({ query: EVENTS }, { next: (next) => resolve({ next }), error: (error) => resolve({ error }), complete: () => undefined });
      });
    }

    it('counts the connection and each subscribe message; past the limit a subscribe is refused with RATE_LIMITED and a new connection closes with 4429', async () => {
      const rig = await startRig({ perSubject: 3, windowSeconds: 60 });
      const { client } = wsClient(rig.wsUrl, tokenOf('alice'));
      // The connection is one request, these two subscriptions two more…
      const subscribed = [collect(client, EVENTS), collect(client, EVENTS)];
      await waitForSubscribers(rig.gateway, 2);
      expect(subscribed.map((s) => s.error())).toEqual([undefined, undefined]);
      // …so the next subscribe message is over the limit, on the same socket, which stays open.
      const refused = await firstOutcome(client);
      expect(refused.error).toEqual([
        expect.objectContaining({ message: expect.stringMatching(/retry after \d+ s/), extensions: { code: 'RATE_LIMITED', limit: 'subject', retryAfterSeconds: expect.any(Number) } }),
      ]);
      await waitForSubscribers(rig.gateway, 2);

      const again = wsClient(rig.wsUrl, tokenOf('alice'));
      const outcome = await firstOutcome(again.client);
      expect(outcome.error).toMatchObject({ code: 4429, reason: expect.stringMatching(/^Too many requests from this caller: retry after \d+ s$/) });
      expect(await again.closed).toMatchObject({ code: 4429 });

      // Another subject connects and subscribes as before.
      const other = wsClient(rig.wsUrl, tokenOf('bob'));
      collect(other.client, EVENTS);
      await waitForSubscribers(rig.gateway, 3);
    });

    it('shares the failed-authentication budget with HTTP: past it, a socket with a valid token closes with 4429', async () => {
      const rig = await startRig({ perSubject: 100, failedAuthPerIp: 2, windowSeconds: 60 });
      for (let i = 0; i < 2; i++) {
        const forged = wsClient(rig.wsUrl, FORGED);
        await firstOutcome(forged.client);
        expect(await forged.closed).toMatchObject({ code: 4403 });
      }
      const valid = wsClient(rig.wsUrl, tokenOf('alice'));
      expect((await firstOutcome(valid.client)).error).toMatchObject({ code: 4429, reason: expect.stringMatching(/^Too many failed authentications from this address: retry after \d+ s$/) });
      expectRefused(await ask(rig.gateway, tokenOf('alice')), 'failedAuthIp', 60);
    });
  });
});

/** A TCP proxy to the real Redis that can stop passing its answers on (a stalled, half-open Redis). */
async function startFreezableRedisProxy(): Promise<{ url: string; freeze(): void; stop(): Promise<void> }> {
  const target = new URL(REDIS_URL);
  let frozen = false;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect(Number(target.port || 6379), target.hostname);
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('error', () => undefined);
      socket.on('close', () => sockets.delete(socket));
    }
    client.pipe(upstream);
    upstream.on('data', (chunk) => {
      if (!frozen) client.write(chunk);
    });
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  return {
    url: `redis://127.0.0.1:${port}`,
    freeze: () => void (frozen = true),
    stop: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

describe('the client address a per-address limit counts', () => {
  it('is an IPv4 address as it is, also when mapped into IPv6', () => {
    expect(limitedAddress('10.1.2.3')).toBe('10.1.2.3');
    expect(limitedAddress('::ffff:10.1.2.3')).toBe('10.1.2.3');
  });

  it("is an IPv6 address's /64 network, however the address is written", () => {
    expect(limitedAddress('2001:db8:0:1::5')).toBe('2001:db8:0:1::/64');
    expect(limitedAddress('2001:0db8:0000:0001:ffff:0:0:9')).toBe('2001:db8:0:1::/64');
    expect(limitedAddress('2001:db8::1')).toBe('2001:db8:0:0::/64');
    expect(limitedAddress('fe80::1%eth0')).toBe('fe80:0:0:0::/64');
    expect(limitedAddress('::1')).toBe('0:0:0:0::/64');
  });

  it('is "unknown" for a socket that no longer has one', () => {
    expect(limitedAddress(undefined)).toBe('unknown');
  });
});
