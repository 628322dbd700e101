import { eventually, graphql } from './fixtures';
import { startFailoverRig, startProxy } from './upstream-fixtures';
import type { ControllableProxy, FailoverRig } from './upstream-fixtures';

const STOCK = '{ products { id name stock } }';
const RESTOCK = 'mutation { restock(id: "p1") }';
const operations = (proxy: ControllableProxy, kind: 'query' | 'mutation') =>
  proxy.hits.filter((hit) => (kind === 'mutation' ? hit.body.startsWith('{"query":"mutation') : !hit.body.startsWith('{"query":"mutation'))).length;

describe('load-balanced upstream failover', () => {
  const rigs: FailoverRig[] = [];
  const proxies: ControllableProxy[] = [];
  afterEach(async () => {
    for (const rig of rigs.splice(0)) await rig.stop();
    for (const proxy of proxies.splice(0)) await proxy.stop();
  });
  const rig = async (...args: Parameters<typeof startFailoverRig>) => {
    const started = await startFailoverRig(...args);
    rigs.push(started);
    return started;
  };
  const proxy = async (...args: Parameters<typeof startProxy>) => {
    const started = await startProxy(...args);
    proxies.push(started);
    return started;
  };

  it('spreads queries round-robin over the healthy primaries', async () => {
    let a!: ControllableProxy, b!: ControllableProxy;
    const { gateway } = await rig(async (inventory) => {
      a = await proxy(inventory.graphqlUrl);
      b = await proxy(inventory.graphqlUrl);
      return { urls: [a.graphqlUrl, b.graphqlUrl] };
    }, { dedupe: false });
    for (let i = 0; i < 10; i++) {
      const { body } = await graphql(gateway.graphqlUrl, STOCK);
      expect(body.errors).toBeUndefined();
      expect(body.data.products[0]).toEqual({ id: 'p1', name: 'Stethoscope', stock: 3 });
    }
    expect(a.hits.length).toBe(5);
    expect(b.hits.length).toBe(5);
  });

  it('retries a stalled endpoint on another once the per-try timeout fires', async () => {
    let stalled!: ControllableProxy, good!: ControllableProxy;
    const { gateway } = await rig(async (inventory) => {
      stalled = await proxy(inventory.graphqlUrl, { kind: 'stall' });
      good = await proxy(inventory.graphqlUrl);
      return { urls: [stalled.graphqlUrl, good.graphqlUrl] };
    }, { tryTimeoutMs: 1000, health: { intervalMs: 0 } });
    for (let i = 0; i < 4; i++) {
      const { body } = await graphql(gateway.graphqlUrl, STOCK);
      expect(body.errors).toBeUndefined();
      expect(body.data.products[1].stock).toBe(0);
    }
    expect(stalled.hits.length).toBeGreaterThan(0);
    expect(good.hits.length).toBe(4);
  });

  it('retries 502 on another endpoint', async () => {
    let failing!: ControllableProxy, good!: ControllableProxy;
    const { gateway } = await rig(async (inventory) => {
      failing = await proxy(inventory.graphqlUrl, { kind: 'status', status: 502 });
      good = await proxy(inventory.graphqlUrl);
      return { urls: [failing.graphqlUrl, good.graphqlUrl] };
    }, { health: { intervalMs: 0 } });
    for (let i = 0; i < 4; i++) expect((await graphql(gateway.graphqlUrl, STOCK)).body.errors).toBeUndefined();
    expect(failing.hits.length).toBeGreaterThan(0);
    expect(good.hits.length).toBe(4);
  });

  it('honours 429 Retry-After: another endpoint takes the retry, and the throttled one waits', async () => {
    let throttled!: ControllableProxy, good!: ControllableProxy;
    const { gateway } = await rig(async (inventory) => {
      throttled = await proxy(inventory.graphqlUrl, { kind: 'status', status: 429, retryAfterSeconds: 30 });
      good = await proxy(inventory.graphqlUrl);
      return { urls: [throttled.graphqlUrl, good.graphqlUrl] };
    }, { health: { intervalMs: 0 }, dedupe: false });
    for (let i = 0; i < 6; i++) expect((await graphql(gateway.graphqlUrl, STOCK)).body.errors).toBeUndefined();
    // Asked once, told to wait 30 s, and not asked again.
    expect(throttled.hits.length).toBe(1);
    expect(good.hits.length).toBe(6);
  });

  it('waits out Retry-After when the throttled endpoint is the only one', async () => {
    let only!: ControllableProxy;
    const { gateway } = await rig(async (inventory) => {
      only = await proxy(inventory.graphqlUrl);
      only.queue.push({ kind: 'status', status: 429, retryAfterSeconds: 1 });
      return { urls: [only.graphqlUrl] };
    }, { health: { intervalMs: 0 } });
    const { body } = await graphql(gateway.graphqlUrl, STOCK);
    expect(body.errors).toBeUndefined();
    expect(only.hits).toHaveLength(2);
    // Behaviour, not speed: the retry came no earlier than the vendor asked.
    expect(only.hits[1]!.at - only.hits[0]!.at).toBeGreaterThanOrEqual(950);
  });

  it('never retries a mutation: the client gets UPSTREAM_UNAVAILABLE and the upstream saw it once', async () => {
    for (const failure of [{ kind: 'status', status: 502 }, { kind: 'drop' }, { kind: 'stall' }] as const) {
      let failing!: ControllableProxy, good!: ControllableProxy;
      const { gateway, inventory } = await rig(async (inv) => {
        failing = await proxy(inv.graphqlUrl, failure);
        good = await proxy(inv.graphqlUrl);
        // The failing endpoint is the only primary; the good one is a replica, which must not take mutations.
        return { urls: [failing.graphqlUrl], replicaUrls: [good.graphqlUrl] };
      }, { tryTimeoutMs: 300, health: { intervalMs: 0 } }, { requestTimeoutMs: 2000 });
      const { body } = await graphql(gateway.graphqlUrl, RESTOCK);
      // With no other primary to move to, a stalled try runs until the request's deadline.
      const reason = failure.kind === 'stall' ? 'DEADLINE_EXCEEDED' : 'ATTEMPTS_FAILED';
      expect(body.errors).toEqual([expect.objectContaining({ extensions: { code: 'UPSTREAM_UNAVAILABLE', serviceName: 'inventory', reason } })]);
      expect(operations(failing, 'mutation')).toBe(1);
      expect(operations(good, 'mutation')).toBe(0);
      expect(inventory.counts.mutations).toBe(0);
      await rigs.pop()!.stop();
    }
  });

  it('opens the breaker after the threshold, fast-fails, probes half-open and closes after recovery', async () => {
    let endpoint!: ControllableProxy;
    const { gateway, readyz, metrics, logs } = await rig(
      async (inventory) => {
        endpoint = await proxy(inventory.graphqlUrl, { kind: 'status', status: 503 });
        return { urls: [endpoint.graphqlUrl] };
      },
      {
        retry: { maxRetries: 0 },
        health: { intervalMs: 0, ejectAfterFailures: 100 },
        breaker: { failureThreshold: 3, windowMs: 60_000, halfOpenAfterMs: 300, successesToClose: 2 },
      },
    );
    const breakerOf = async () => (await readyz()).subgraphs.inventory.endpoints[0].breaker;
    // Each failed query has one error per product's stock, at its path.
    for (let i = 0; i < 3; i++) expect((await graphql(gateway.graphqlUrl, STOCK)).body.errors).toHaveLength(2);
    expect(await breakerOf()).toBe('open');
    expect(endpoint.hits).toHaveLength(3);

    // Open: answered by the breaker, nothing sent upstream.
    const fast = await graphql(gateway.graphqlUrl, STOCK);
    const fastError = (index: number) =>
      expect.objectContaining({ path: ['products', index, 'stock'], extensions: { code: 'UPSTREAM_UNAVAILABLE', serviceName: 'inventory', reason: 'NO_ENDPOINT_AVAILABLE' } });
    expect(fast.body.errors).toEqual([fastError(0), fastError(1)]);
    expect(fast.body.data.products[0]).toEqual({ id: 'p1', name: 'Stethoscope', stock: null });
    expect(endpoint.hits).toHaveLength(3);

    endpoint.mode = { kind: 'pass' };
    await new Promise((resolve) => setTimeout(resolve, 350));
    expect((await graphql(gateway.graphqlUrl, STOCK)).body.errors).toBeUndefined();
    expect(await breakerOf()).toBe('half-open');
    expect((await graphql(gateway.graphqlUrl, STOCK)).body.errors).toBeUndefined();
    expect(await breakerOf()).toBe('closed');
    expect(endpoint.hits).toHaveLength(5);

    // Each change logged once, and visible on /metrics.
    const changes = logs.filter((line) => line.breaker).map((line) => line.breaker);
    expect(changes).toEqual(['open', 'half-open', 'closed']);
    const text = await metrics();
    expect(text).toContain(`gateway_upstream_breaker_state{subgraph="inventory",url="${endpoint.graphqlUrl}"} 0`);
    expect(text).toContain(`gateway_upstream_state_changes_total{subgraph="inventory",url="${endpoint.graphqlUrl}",kind="breaker",state="open"} 1`);
    expect(text).toMatch(/gateway_graphql_request_duration_seconds_count\{operation="query",outcome="error"\} 4\n/);
    expect(text).toMatch(/gateway_graphql_request_duration_seconds_count\{operation="query",outcome="success"\} 2\n/);
  });

  it('reopens at once when a probe fails in half-open', async () => {
    let endpoint!: ControllableProxy;
    const { gateway, readyz } = await rig(
      async (inventory) => {
        endpoint = await proxy(inventory.graphqlUrl, { kind: 'status', status: 503 });
        return { urls: [endpoint.graphqlUrl] };
      },
      { retry: { maxRetries: 0 }, health: { intervalMs: 0, ejectAfterFailures: 100 }, breaker: { failureThreshold: 2, halfOpenAfterMs: 200, successesToClose: 3 } },
    );
    for (let i = 0; i < 2; i++) await graphql(gateway.graphqlUrl, STOCK);
    await new Promise((resolve) => setTimeout(resolve, 250));
    await graphql(gateway.graphqlUrl, STOCK); // the probe fails
    expect((await readyz()).subgraphs.inventory.endpoints[0].breaker).toBe('open');
    expect(endpoint.hits).toHaveLength(3);
  });

  it('keeps sending to the endpoints when health checks eject every one (panic), and reports not ready meanwhile', async () => {
    let a!: ControllableProxy, b!: ControllableProxy;
    const { gateway, metrics } = await rig(async (inventory) => {
      a = await proxy(inventory.graphqlUrl);
      b = await proxy(inventory.graphqlUrl);
      // The health checks fail, the operations would not: an ejection can be wrong.
      a.healthMode = b.healthMode = { kind: 'status', status: 503 };
      return { urls: [a.graphqlUrl, b.graphqlUrl] };
    }, { health: { intervalMs: 100, unhealthyThreshold: 1 }, dedupe: false });
    const readyz = () => fetch(`${gateway.url}/readyz`);
    const bothEjected = await eventually(async () => {
      const response = await readyz();
      const body = (await response.json()) as any;
      return response.status === 503 && body.subgraphs.inventory.available === false && body.subgraphs.inventory.endpoints.every((e: any) => e.health === 'ejected');
    });
    expect(bothEjected).toBe(true);

    for (let i = 0; i < 4; i++) {
      const { body } = await graphql(gateway.graphqlUrl, STOCK);
      expect(body.errors).toBeUndefined();
      expect(body.data.products.map((p: { stock: number }) => p.stock)).toEqual([3, 0]);
    }
    expect(a.hits.length + b.hits.length).toBe(4);
    expect(await metrics()).toContain('gateway_upstream_panic_total{subgraph="inventory"} 4');

    a.healthMode = b.healthMode = undefined;
    expect(await eventually(async () => (await readyz()).status === 200)).toBe(true);
  });

  it('serves partial data fast when every endpoint of a subgraph is down', async () => {
    let a!: ControllableProxy, b!: ControllableProxy;
    const { gateway } = await rig(async (inventory) => {
      a = await proxy(inventory.graphqlUrl);
      b = await proxy(inventory.graphqlUrl);
      return { urls: [a.graphqlUrl, b.graphqlUrl] };
    }, { health: { intervalMs: 0 }, breaker: { failureThreshold: 2 } });
    await a.stop();
    await b.stop();
    const reasons: string[] = [];
    for (let i = 0; i < 5; i++) {
      const { status, body } = await graphql(gateway.graphqlUrl, STOCK);
      expect(status).toBe(200);
      expect(body.data.products).toEqual([
        { id: 'p1', name: 'Stethoscope', stock: null },
        { id: 'p2', name: 'Otoscope', stock: null },
      ]);
      const error = (index: number) =>
        expect.objectContaining({ path: ['products', index, 'stock'], extensions: expect.objectContaining({ code: 'UPSTREAM_UNAVAILABLE', serviceName: 'inventory' }) });
      expect(body.errors).toEqual([error(0), error(1)]);
      reasons.push(body.errors![0].extensions.reason);
    }
    // The first tries find the endpoints dead; after that the gateway knows and answers without trying.
    expect(reasons[0]).toBe('ATTEMPTS_FAILED');
    expect(reasons.at(-1)).toBe('NO_ENDPOINT_AVAILABLE');
  });

  it('serves queries from a replica only when no primary is available, and mutations never', async () => {
    let primary!: ControllableProxy, replica!: ControllableProxy;
    const { gateway } = await rig(async (inventory) => {
      primary = await proxy(inventory.graphqlUrl);
      replica = await proxy(inventory.graphqlUrl);
      return { urls: [primary.graphqlUrl], replicaUrls: [replica.graphqlUrl] };
    }, { health: { intervalMs: 0 } });
    for (let i = 0; i < 3; i++) expect((await graphql(gateway.graphqlUrl, STOCK)).body.errors).toBeUndefined();
    expect(replica.hits).toHaveLength(0);

    primary.mode = { kind: 'status', status: 503 };
    for (let i = 0; i < 5; i++) expect((await graphql(gateway.graphqlUrl, STOCK)).body.errors).toBeUndefined();
    expect(operations(replica, 'query')).toBeGreaterThan(0);

    // The ejected primary is the only place a mutation may go: it is tried anyway (panic), and fails.
    const mutation = await graphql(gateway.graphqlUrl, RESTOCK);
    expect(mutation.body.errors).toEqual([
      expect.objectContaining({ extensions: { code: 'UPSTREAM_UNAVAILABLE', serviceName: 'inventory', reason: 'ATTEMPTS_FAILED' } }),
    ]);
    expect(operations(primary, 'mutation')).toBe(1);
    expect(operations(replica, 'mutation')).toBe(0);
  });

  it('sends identical in-flight queries once and shares the answer', async () => {
    let slow!: ControllableProxy;
    const { gateway } = await rig(async (inventory) => {
      slow = await proxy(inventory.graphqlUrl, { kind: 'pass', delayMs: 300 });
      return { urls: [slow.graphqlUrl] };
    }, { health: { intervalMs: 0 } });
    const answers = await Promise.all(Array.from({ length: 5 }, () => graphql(gateway.graphqlUrl, STOCK)));
    for (const { body } of answers) expect(body.data.products.map((p: { stock: number }) => p.stock)).toEqual([3, 0]);
    expect(slow.hits).toHaveLength(1);
    // Mutations are never shared.
    await Promise.all(Array.from({ length: 3 }, () => graphql(gateway.graphqlUrl, RESTOCK)));
    expect(operations(slow, 'mutation')).toBe(3);
  });
});
