/**
 * Subscriptions over SSE (the graphql-sse protocol, distinct connections mode) with its real
 * client on Node's fetch: the same events, `after` resume, authentication, authorisation and
 * operation limits as over graphql-ws; and a subscription sent as a plain POST is told which
 * transports serve it (400 SUBSCRIPTION_TRANSPORT_REQUIRED), not a 500.
 */
import { NetworkError } from 'graphql-sse';
import { createMemoryEventBus } from '../../lib/event-bus/memory';
import type { EventBus } from '../../lib/event-bus/types';
import { limitsConfigSchema } from '../src/limits/limits';
import { testToken } from './fixtures';
import { collect, feedSdl, startSubscriptionRig, waitForSubscribers } from './subscription-fixtures';
import type { SubscriptionRig } from './subscription-fixtures';

const EVENTS = 'subscription ($kind: String, $after: String) { itemEvents(kind: $kind, after: $after) { id kind product { id name } } }';

/** Wait for the first thing a subscription does: a result, an error or completion. */
async function firstOutcome(sub: ReturnType<typeof collect>, deadlineMs = 10_000) {
  const until = Date.now() + deadlineMs;
  while (sub.results.length === 0 && sub.error() === undefined && !sub.completed() && Date.now() < until) await new Promise((resolve) => setTimeout(resolve, 20));
  return { results: sub.results, error: sub.error(), completed: sub.completed() };
}

describe('subscriptions over SSE at the gateway', () => {
  let bus: EventBus;
  let rig: SubscriptionRig;

  beforeEach(async () => {
    bus = createMemoryEventBus();
    rig = await startSubscriptionRig(bus);
  });
  afterEach(async () => {
    await rig.stop();
    await bus.close();
  });

  it('delivers each event published on the bus, resolved across subgraphs', async () => {
    const sub = collect(rig.sseClient(), EVENTS);
    await waitForSubscribers(rig.gateway, 1);
    const first = await rig.publish('restocked', 'p1');
    const second = await rig.publish('sold', 'p2');
    expect(await sub.waitFor(2)).toEqual([
      { data: { itemEvents: { id: first, kind: 'restocked', product: { id: 'p1', name: 'Stethoscope' } } } },
      { data: { itemEvents: { id: second, kind: 'sold', product: { id: 'p2', name: 'Otoscope' } } } },
    ]);
    sub.unsubscribe();
    await waitForSubscribers(rig.gateway, 0);
  });

  it('resumes with `after`: every event missed, in order, then live ones', async () => {
    const first = collect(rig.sseClient(), EVENTS);
    await waitForSubscribers(rig.gateway, 1);
    const seen = [await rig.publish('a', 'p1'), await rig.publish('b', 'p1')];
    await first.waitFor(2);
    first.unsubscribe();
    await waitForSubscribers(rig.gateway, 0);

    const missed = [];
    for (let i = 0; i < 5; i++) missed.push(await rig.publish(`m${i}`, 'p2'));
    const resumed = collect(rig.sseClient(), EVENTS, { after: seen[1] });
    expect((await resumed.waitFor(5)).map((r) => r.data.itemEvents.id)).toEqual(missed);
    const live = await rig.publish('live', 'p1');
    expect((await resumed.waitFor(6)).map((r) => r.data.itemEvents.id)).toEqual([...missed, live]);
  });

  it('serves a subscription over GET too, its operation in the URL', async () => {
    const url = `${rig.gateway.graphqlUrl}?query=${encodeURIComponent(EVENTS)}&variables=${encodeURIComponent(JSON.stringify({ kind: 'sold' }))}`;
    const abort = new AbortController();
    const response = await fetch(url, { headers: { accept: 'text/event-stream', authorization: `Bearer ${testToken()}` }, signal: abort.signal });
    expect([response.status, response.headers.get('content-type')]).toEqual([200, 'text/event-stream; charset=utf-8']);
    await waitForSubscribers(rig.gateway, 1);
    const cursor = await rig.publish('sold', 'p1');
    const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
    let text = '';
    while (!text.includes(cursor)) {
      const { value, done } = await reader.read();
      if (done) break;
      text += value;
    }
    expect(text).toContain('event: next');
    abort.abort();
    await waitForSubscribers(rig.gateway, 0);
  });

  it('refuses a request without a valid token with 401 before any stream starts', async () => {
    for (const token of [null, 'not-a-token']) {
      const sub = collect(rig.sseClient({ token }), EVENTS);
      const outcome = await firstOutcome(sub);
      expect(outcome.results).toEqual([]);
      expect(outcome.error).toBeInstanceOf(NetworkError);
      expect((outcome.error as NetworkError).response?.status).toBe(401);
    }
    const request = (headers: Record<string, string>, signal?: AbortSignal) =>
      fetch(rig.gateway.graphqlUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'text/event-stream', ...headers },
        body: JSON.stringify({ query: EVENTS }),
        ...(signal ? { signal } : {}),
      });
    // The same request with a token is a stream.
    const abort = new AbortController();
    const stream = await request({ authorization: `Bearer ${testToken()}` }, abort.signal);
    expect([stream.status, stream.headers.get('content-type')]).toEqual([200, 'text/event-stream; charset=utf-8']);
    abort.abort();
    const response = await request({});
    expect(response.status).toBe(401);
    expect(response.headers.get('content-type')).toMatch(/^application\/json/);
    expect(((await response.json()) as { errors: Array<{ extensions: { code: string } }> }).errors[0]!.extensions.code).toBe('UNAUTHENTICATED');
  });

  it('refuses an invalid subscription on its stream with the errors graphql-ws gives, and serves nothing', async () => {
    for (const query of ['subscription { itemEvents { id colour } }', '{ itemEvent(id: "1") { id } }']) {
      const overWs = await firstOutcome(collect(rig.client(), query));
      const overSse = collect(rig.sseClient(), query);
      await overSse.waitFor(1);
      expect(overWs.error).toEqual([expect.objectContaining({ extensions: expect.objectContaining({ code: expect.any(String) }) })]);
      expect(overSse.results).toEqual([{ errors: JSON.parse(JSON.stringify(overWs.error)) }]);
    }
    await waitForSubscribers(rig.gateway, 0);
  });

  it('answers a subscription sent as a plain POST with 400 SUBSCRIPTION_TRANSPORT_REQUIRED naming the transports', async () => {
    const response = await fetch(rig.gateway.graphqlUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json', authorization: `Bearer ${testToken()}` },
      body: JSON.stringify({ query: EVENTS }),
    });
    expect(response.status).toBe(400);
    const { errors } = (await response.json()) as { errors: Array<{ message: string; extensions: Record<string, unknown> }> };
    expect(errors).toEqual([
      {
        message: expect.stringMatching(/graphql-ws.*ws:\/\/127\.0\.0\.1:\d+\/graphql.*Accept: text\/event-stream/),
        extensions: { code: 'SUBSCRIPTION_TRANSPORT_REQUIRED', transports: ['graphql-ws', 'graphql-sse'] },
      },
    ]);
  });
});

describe('subscriptions over SSE: limits and authorisation as over graphql-ws', () => {
  const rigs: Array<{ rig: SubscriptionRig; bus: EventBus }> = [];
  afterEach(async () => {
    for (const { rig, bus } of rigs.splice(0)) {
      await rig.stop();
      await bus.close();
    }
  });
  const start = async (...args: Parameters<typeof startSubscriptionRig> extends [unknown, ...infer Rest] ? Rest : never) => {
    const bus = createMemoryEventBus();
    const rig = await startSubscriptionRig(bus, ...args);
    rigs.push({ rig, bus });
    return rig;
  };

  it('refuses a subscription over the operation limits (too deep), as graphql-ws does', async () => {
    const rig = await start({}, { limits: limitsConfigSchema.parse({ maxDepth: 2 }) });
    const deep = 'subscription { itemEvents { product { id } } }';
    const overWs = await firstOutcome(collect(rig.client(), deep));
    const overSse = collect(rig.sseClient(), deep);
    await overSse.waitFor(1);
    expect(overWs.error).toEqual([expect.objectContaining({ extensions: { code: 'OPERATION_LIMIT_EXCEEDED', limit: 'depth', found: 3, maximum: 2 } })]);
    expect(overSse.results).toEqual([{ errors: JSON.parse(JSON.stringify(overWs.error)) }]);
    // Within the limit, the same rig serves it.
    const shallow = collect(rig.sseClient(), 'subscription { itemEvents { id } }');
    await waitForSubscribers(rig.gateway, 1);
    const cursor = await rig.publish('sold', 'p1');
    expect(await shallow.waitFor(1)).toEqual([{ data: { itemEvents: { id: cursor } } }]);
  });

  it('refuses a field the caller may not see, as graphql-ws does', async () => {
    const guarded = feedSdl
      .replace('import: ["@key"]', 'import: ["@key", "@requiresScopes"]')
      .replace('itemEvents(kind: String, after: String): ItemEvent!', 'itemEvents(kind: String, after: String): ItemEvent! @requiresScopes(scopes: [["feed:read"]])');
    const rig = await start({}, { authorization: { roles: { reader: ['feed:read'] } } }, guarded);
    const query = 'subscription { itemEvents { id } }';
    const outsider = testToken(['outsider']);
    const overWs = await firstOutcome(collect(rig.client({ token: outsider }), query));
    const overSse = collect(rig.sseClient({ token: outsider }), query);
    await overSse.waitFor(1);
    expect(overWs.error).toEqual([expect.objectContaining({ extensions: { code: 'UNAUTHORIZED_FIELD_OR_TYPE' } })]);
    expect(overSse.results).toEqual([{ errors: JSON.parse(JSON.stringify(overWs.error)) }]);

    const reader = collect(rig.sseClient({ token: testToken(['reader']) }), query);
    await waitForSubscribers(rig.gateway, 1);
    const cursor = await rig.publish('sold', 'p1');
    expect(await reader.waitFor(1)).toEqual([{ data: { itemEvents: { id: cursor } } }]);
  });
});
