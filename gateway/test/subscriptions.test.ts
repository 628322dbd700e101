import WebSocket from 'ws';
import { createMemoryEventBus } from '../../lib/event-bus/memory';
import type { EventBus } from '../../lib/event-bus/types';
import { collect, startSubscriptionRig, waitForSubscribers } from './subscription-fixtures';
import type { SubscriptionRig } from './subscription-fixtures';

async function eventuallyTrue(check: () => boolean, deadlineMs = 5000): Promise<boolean> {
  const until = Date.now() + deadlineMs;
  while (!check() && Date.now() < until) await new Promise((resolve) => setTimeout(resolve, 20));
  return check();
}

const EVENTS = 'subscription ($kind: String, $after: String) { itemEvents(kind: $kind, after: $after) { id kind product { id name } } }';

describe('subscriptions over graphql-ws at the gateway', () => {
  let bus: EventBus;
  let rig: SubscriptionRig;

  beforeEach(async () => {
    bus = createMemoryEventBus();
    rig = await startSubscriptionRig(bus, { initTimeoutMs: 500, maxPerSocket: 3, maxMessageBytes: 4096 });
  });
  afterEach(async () => {
    await rig.stop();
    await bus.close();
  });

  it('delivers each event with fields resolved across subgraphs through the query planner', async () => {
    const sub = collect(rig.client(), EVENTS);
    await waitForSubscribers(rig.gateway, 1);
    const first = await rig.publish('restocked', 'p1');
    const second = await rig.publish('sold', 'p2');
    const results = await sub.waitFor(2);
    expect(results).toEqual([
      { data: { itemEvents: { id: first, kind: 'restocked', product: { id: 'p1', name: 'Stethoscope' } } } },
      { data: { itemEvents: { id: second, kind: 'sold', product: { id: 'p2', name: 'Otoscope' } } } },
    ]);
  });

  it('filters events by the field arguments', async () => {
    const sub = collect(rig.client(), EVENTS, { kind: 'sold' });
    await waitForSubscribers(rig.gateway, 1);
    await rig.publish('restocked', 'p1');
    const sold = await rig.publish('sold', 'p2');
    const results = await sub.waitFor(1);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(results.map((r) => r.data.itemEvents.id)).toEqual([sold]);
  });

  it('resolves identical selections once per event and shares the result', async () => {
    const subs = [collect(rig.client(), EVENTS), collect(rig.client(), EVENTS), collect(rig.client(), EVENTS)];
    const other = collect(rig.client(), 'subscription { itemEvents { id kind } }');
    await waitForSubscribers(rig.gateway, 4);
    const before = rig.lookups();
    for (let i = 0; i < 3; i++) await rig.publish('restocked', 'p1');
    for (const sub of subs) expect(await sub.waitFor(3)).toHaveLength(3);
    expect(await other.waitFor(3)).toHaveLength(3);
    // Three events × two distinct selections, not × four subscribers.
    expect(rig.lookups() - before).toBe(6);
  });

  it('gives a client that reconnects with `after` every event it missed, in order, then live ones', async () => {
    const first = collect(rig.client(), EVENTS);
    await waitForSubscribers(rig.gateway, 1);
    const seen = [await rig.publish('a', 'p1'), await rig.publish('b', 'p1')];
    await first.waitFor(2);
    first.unsubscribe();
    await waitForSubscribers(rig.gateway, 0);

    const missed = [];
    for (let i = 0; i < 5; i++) missed.push(await rig.publish(`m${i}`, 'p2'));
    const resumed = collect(rig.client(), EVENTS, { after: seen[1] });
    const replayed = await resumed.waitFor(5);
    expect(replayed.map((r) => r.data.itemEvents.id)).toEqual(missed);
    const live = await rig.publish('live', 'p1');
    const all = await resumed.waitFor(6);
    expect(all.map((r) => r.data.itemEvents.id)).toEqual([...missed, live]);
  });

  it('loses nothing and repeats nothing when events arrive while the missed ones are replayed', async () => {
    const start = await rig.publish('start', 'p1');
    const backlog = [];
    for (let i = 0; i < 300; i++) backlog.push((await bus.publish({ topic: 'items', type: 'x', payload: { kind: 'backlog', productId: 'p1' } })).cursor);
    const resumed = collect(rig.client(), 'subscription ($after: String) { itemEvents(after: $after) { id } }', { after: start });
    const during = [];
    for (let i = 0; i < 50; i++) during.push(await rig.publish('during', 'p2'));
    const results = await resumed.waitFor(350, 20_000);
    expect(results.map((r) => r.data.itemEvents.id)).toEqual([...backlog, ...during]);
  });

  it('rejects an invalid subscription for that operation only; the socket keeps serving the others', async () => {
    const client = rig.client();
    const good = collect(client, EVENTS);
    const unknownField = collect(client, 'subscription { itemEvents { id colour } }');
    const notASubscription = collect(client, '{ itemEvent(id: "1") { id } }');
    await waitForSubscribers(rig.gateway, 1);
    await rig.publish('restocked', 'p1');
    expect(await good.waitFor(1)).toHaveLength(1);
    expect(unknownField.error()).toEqual([expect.objectContaining({ message: expect.stringContaining('"colour"'), extensions: { code: 'GRAPHQL_VALIDATION_FAILED' } })]);
    expect(notASubscription.error()).toEqual([expect.objectContaining({ extensions: { code: 'BAD_REQUEST' } })]);
  });

  it('answers a malformed `after` cursor with BAD_USER_INPUT and ends that subscription', async () => {
    const badCursor = collect(rig.client(), EVENTS, { after: 'yesterday' });
    const results = await badCursor.waitFor(1);
    expect(results[0]!.errors![0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', argumentName: 'after' });
    expect(await eventuallyTrue(() => badCursor.completed())).toBe(true);
  });

  it('caps subscriptions per connection', async () => {
    const client = rig.client();
    const subs = Array.from({ length: 4 }, () => collect(client, EVENTS));
    await waitForSubscribers(rig.gateway, 3);
    const refused = subs.filter((sub) => sub.error() !== undefined);
    expect(refused).toHaveLength(1);
    expect(refused[0]!.error()).toEqual([expect.objectContaining({ extensions: { code: 'BAD_REQUEST', limit: 3 } })]);
  });

  const rawSocket = async (onOpen: (socket: WebSocket) => void, headers: Record<string, string> = {}) => {
    const socket = new WebSocket(rig.wsUrl, 'graphql-transport-ws', { headers });
    return new Promise<{ code: number; reason: string }>((resolve) => {
      socket.on('open', () => onOpen(socket));
      socket.on('close', (code, reason) => resolve({ code, reason: reason.toString() }));
    });
  };

  it('closes a connection without a valid token with 4403 Forbidden', async () => {
    const closed = await rawSocket((socket) => socket.send(JSON.stringify({ type: 'connection_init', payload: {} })));
    expect(closed.code).toBe(4403);
    const forged = await rawSocket((socket) => socket.send(JSON.stringify({ type: 'connection_init', payload: { authorization: 'Bearer not-a-token' } })));
    expect(forged.code).toBe(4403);
  });

  it('closes a connection that never initialises with 4408', async () => {
    const closed = await rawSocket(() => undefined);
    expect(closed.code).toBe(4408);
  });

  it('closes a connection that sends a message over the size limit with 1009', async () => {
    const closed = await rawSocket((socket) => socket.send(JSON.stringify({ type: 'connection_init', payload: { pad: 'x'.repeat(10_000) } })));
    expect(closed.code).toBe(1009);
  });
});
