/**
 * Fair use of a slow subgraph: each caller (token subject) gets a share of the subgraph's
 * concurrency, waits in its own queue beyond it, and a burst by one caller does not make another
 * wait behind it. A full queue or a long wait fails only that call's fields, and does not make the
 * gateway blame the endpoint.
 */
import { signToken } from '../src/auth';
import { TEST_CLINIC, TEST_SECRET, eventually, graphql } from './fixtures';
import { startFailoverRig, startProxy } from './upstream-fixtures';
import type { ControllableProxy, FailoverRig } from './upstream-fixtures';

const STOCK = '{ products { id stock } }';
const tokenOf = (subject: string) => signToken(TEST_SECRET, { subject, roles: ['admin'], clinic: TEST_CLINIC });
const ALICE = tokenOf('alice');
const BOB = tokenOf('bob');

describe('subgraph bulkheads', () => {
  let rig: FailoverRig | undefined;
  let upstream: ControllableProxy | undefined;
  afterEach(async () => {
    await rig?.stop();
    await upstream?.stop();
    rig = upstream = undefined;
  });

  /** inventory behind one proxy that answers each call after `delayMs`. */
  async function start(concurrency: Record<string, unknown>, delayMs: number) {
    rig = await startFailoverRig(
      async (inventory) => {
        upstream = await startProxy(inventory.graphqlUrl, { kind: 'pass', delayMs });
        // The products subgraph keeps the defaults.
        return { urls: [upstream.graphqlUrl], concurrency };
      },
      // Every call distinct (no sharing), no health checks to muddle the counts.
      { dedupe: false, health: { intervalMs: 0 } },
    );
    return rig;
  }

  it("holds one caller's burst to its share, and another caller's query does not wait behind it", async () => {
    const { gateway } = await start({ maxConcurrent: 8, callerMaxConcurrent: 2, callerQueueSize: 50 }, 400);
    const finished: string[] = [];
    const ask = async (who: string, token: string) => {
      const answer = await graphql(gateway.graphqlUrl, STOCK, { token });
      finished.push(who);
      return answer;
    };
    const burst = Array.from({ length: 6 }, () => ask('alice', ALICE));
    // Bob asks once Alice's share is taken and the rest of her burst waits.
    expect(await eventually(async () => upstream!.inFlight === 2)).toBe(true);
    const bob = await ask('bob', BOB);
    const answers = await Promise.all(burst);

    for (const { body } of [...answers, bob]) {
      expect(body.errors).toBeUndefined();
      expect(body.data.products.map((p: { stock: number }) => p.stock)).toEqual([3, 0]);
    }
    // Alice never had more than her 2 calls upstream; with Bob's, 3 at most.
    expect(upstream!.peakInFlight).toBe(3);
    // Bob was answered while most of Alice's burst was still waiting its turn.
    expect(finished.indexOf('bob')).toBeLessThan(4);
  });

  it('refuses a call at once when its queue is full, failing only its fields, and does not blame the endpoint', async () => {
    const { gateway, readyz, metrics } = await start({ maxConcurrent: 4, callerMaxConcurrent: 1, callerQueueSize: 1 }, 400);
    const answers = await Promise.all(Array.from({ length: 4 }, () => graphql(gateway.graphqlUrl, STOCK)));
    const refused = answers.filter(({ body }) => body.errors);
    // One in flight, one queued, two refused.
    expect(refused).toHaveLength(2);
    for (const { status, body } of refused) {
      expect(status).toBe(200);
      expect(body.data.products).toEqual([
        { id: 'p1', stock: null },
        { id: 'p2', stock: null },
      ]);
      const error = (index: number) =>
        expect.objectContaining({ path: ['products', index, 'stock'], extensions: { code: 'UPSTREAM_UNAVAILABLE', serviceName: 'inventory', reason: 'OVERLOADED' } });
      expect(body.errors).toEqual([error(0), error(1)]);
    }
    expect(upstream!.hits).toHaveLength(2);
    const state = await readyz();
    expect(state.subgraphs.inventory.endpoints[0]).toEqual(expect.objectContaining({ health: 'healthy', breaker: 'closed' }));
    // Nothing is left queued, and the callers' shares are gone once idle.
    expect(state.subgraphs.inventory.load).toEqual({ inFlight: 0, queued: 0, callers: 0 });
    expect(await metrics()).toContain('gateway_upstream_overload_total{subgraph="inventory",reason="OVERLOADED",scope="caller"} 2');
  });

  it('gives up a call that waited longer than the queue timeout, and never sends it', async () => {
    const { gateway, metrics } = await start({ maxConcurrent: 1, callerMaxConcurrent: 1, queueTimeoutMs: 300 }, 1500);
    const first = graphql(gateway.graphqlUrl, STOCK, { token: ALICE });
    expect(await eventually(async () => upstream!.inFlight === 1)).toBe(true);
    // Bob's call waits for the subgraph's only slot, which Alice holds for longer than Bob may wait.
    const late = await graphql(gateway.graphqlUrl, STOCK, { token: BOB });
    expect(late.body.errors).toEqual([
      expect.objectContaining({ path: ['products', 0, 'stock'], extensions: expect.objectContaining({ reason: 'QUEUE_TIMEOUT' }) }),
      expect.objectContaining({ path: ['products', 1, 'stock'], extensions: expect.objectContaining({ reason: 'QUEUE_TIMEOUT' }) }),
    ]);
    expect((await first).body.errors).toBeUndefined();
    // Its turn came after Alice's call and it was dropped then: the upstream saw Alice's alone.
    expect(upstream!.hits).toHaveLength(1);
    expect(await metrics()).toContain('gateway_upstream_overload_total{subgraph="inventory",reason="QUEUE_TIMEOUT",scope="subgraph"} 1');
  });

  it('lets every call through at once when the bulkhead is off', async () => {
    const { gateway } = await start({ enabled: false, maxConcurrent: 1, callerMaxConcurrent: 1, callerQueueSize: 0 }, 300);
    const answers = await Promise.all(Array.from({ length: 4 }, () => graphql(gateway.graphqlUrl, STOCK)));
    for (const { body } of answers) expect(body.errors).toBeUndefined();
    expect(upstream!.peakInFlight).toBe(4);
  });
});
