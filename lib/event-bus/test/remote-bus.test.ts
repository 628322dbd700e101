/**
 * The remote bus: another process following an in-memory bus through the HTTP host. The shared
 * behaviour suite runs against it (host served over real HTTP on port 0 in front of a memory
 * bus; consumer groups are not offered remotely), then what only the remote pair has: the
 * bearer token, long-polls that answer on publish, the tail cursor, and a subscriber that
 * survives the host going away.
 */
import http from 'node:http';
import express from 'express';
import { createBusHost } from '../http-host';
import type { BusHost } from '../http-host';
import { createMemoryEventBus } from '../memory';
import { createRemoteEventBus, REMOTE_CONSUME_UNAVAILABLE, RemoteEventBusError } from '../remote';
import type { BusEvent, EventBus, EventBusOptions } from '../types';
import { describeEventBus } from './event-bus.behaviour';
import { settlesWithin, waitFor } from './wait-for';
import { listen } from '../../listen';
import type { Listening } from '../../listen';

const TOKEN = 'remote-bus-test-token';

interface Hosted {
  local: EventBus;
  host: BusHost;
  url: string;
  listening: Listening;
  /** Stops the HTTP server (the bus stays). */
  stopServer(): Promise<void>;
  /** Listens again on the same port. */
  restartServer(): Promise<void>;
  dispose(): Promise<void>;
}

async function hostMemoryBus(options?: EventBusOptions): Promise<Hosted> {
  const local = createMemoryEventBus(options);
  const host = createBusHost(local, { token: TOKEN });
  const app = express();
  app.use('/__bus', host);
  let listening = await listen(app);
  const port = listening.port;
  const hosted: Hosted = {
    local,
    host,
    url: `${listening.url}/__bus`,
    get listening() {
      return listening;
    },
    stopServer: () => listening.stop(),
    async restartServer() {
      listening = await listen(app, port);
    },
    async dispose() {
      await host.close();
      await listening.stop();
      await local.close();
    },
  };
  return hosted;
}

/** A remote bus whose close() also takes down its host, server and memory bus. */
async function remoteBus(options?: EventBusOptions): Promise<EventBus> {
  const hosted = await hostMemoryBus(options);
  const remote = createRemoteEventBus({ url: hosted.url, token: TOKEN });
  return {
    ...remote,
    async close() {
      await remote.close();
      await hosted.dispose();
    },
  };
}

describeEventBus('remote (HTTP host in front of memory)', remoteBus, { consume: false });

describe('remote event bus', () => {
  const disposers: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const dispose of disposers.splice(0).reverse()) await dispose();
  });

  async function setup(busOptions: { pollWaitMs?: number } = {}) {
    const hosted = await hostMemoryBus();
    disposers.push(() => hosted.dispose());
    const remote = createRemoteEventBus({ url: hosted.url, token: TOKEN, ...busOptions });
    disposers.push(() => remote.close());
    return { hosted, remote };
  }

  const get = (url: string, token?: string) =>
    fetch(url, { headers: token === undefined ? {} : { authorization: `Bearer ${token}` } });

  it('refuses requests without the right bearer token', async () => {
    const { hosted } = await setup();
    for (const token of [undefined, '', 'wrong-token', `${TOKEN}x`]) {
      const response = await get(`${hosted.url}/read?topic=t`, token);
      expect(response.status).toBe(401);
      expect(await response.json()).toEqual({ error: { code: 'UNAUTHORIZED', message: 'missing or wrong bearer token' } });
    }
    const wrong = createRemoteEventBus({ url: hosted.url, token: 'wrong-token' });
    disposers.push(() => wrong.close());
    await expect(wrong.publish({ topic: 't', type: 'x', payload: {} })).rejects.toMatchObject({
      code: 'UNAUTHORIZED',
      status: 401,
    });
    expect(await wrong.ping()).toBe(false);
    expect(await hosted.local.read('t')).toEqual([]);
  });

  it('publishes onto the hosted bus, where local readers and remote subscribers both see the event', async () => {
    const { hosted, remote } = await setup();
    const received: BusEvent[] = [];
    disposers.push(await remote.subscribe('shared', {}, (event) => void received.push(event)));
    const fromLocal = await hosted.local.publish({ topic: 'shared', type: 'local', payload: { n: 1 } });
    const fromRemote = await remote.publish({ topic: 'shared', type: 'remote', payload: { n: 2 } });
    expect(await hosted.local.read('shared')).toEqual([fromLocal, fromRemote]);
    await waitFor('both events', () => received.length === 2);
    expect(received).toEqual([fromLocal, fromRemote]);
  });

  it('sends a publish again on a new connection when the host closed the kept-alive one as it was reused', async () => {
    const local = createMemoryEventBus();
    const host = createBusHost(local, { token: TOKEN });
    const app = express();
    app.use('/__bus', host);
    // Like a host whose idle timeout fires just as the client reuses the socket: the second
    // request on any connection finds it closed, unread.
    const requestsBySocket = new WeakMap<object, number>();
    const server = http.createServer((req, res) => {
      const n = (requestsBySocket.get(req.socket) ?? 0) + 1;
      requestsBySocket.set(req.socket, n);
      if (n === 2) req.socket.destroy();
      else app(req, res);
    });
    const listening = await listen(server);
    const remote = createRemoteEventBus({ url: `${listening.url}/__bus`, token: TOKEN });
    disposers.push(async () => {
      await remote.close();
      await host.close();
      await listening.stop();
      await local.close();
    });
    await remote.publish({ topic: 'audit', type: 'first', payload: {} });
    await remote.publish({ topic: 'audit', type: 'second', payload: {} });
    expect((await local.read('audit')).map((event) => event.type)).toEqual(['first', 'second']);
  });

  it('rejects consume, saying to run workers where the bus is', async () => {
    const { remote } = await setup();
    await expect(remote.consume('t', { group: 'g', consumer: 'c' }, async () => undefined)).rejects.toThrow(
      REMOTE_CONSUME_UNAVAILABLE,
    );
  });

  it('answers a long-poll as soon as an event is published, and with nothing once the wait is over', async () => {
    const { hosted } = await setup();
    const first = await hosted.local.publish({ topic: 'poll', type: 'x', payload: {} });
    const polling = get(`${hosted.url}/poll?topic=poll&after=${first.cursor}&waitMs=30000`, TOKEN);
    await waitFor('the poll to wait', () => hosted.host.waitingPolls() === 1);
    const published = await hosted.local.publish({ topic: 'poll', type: 'x', payload: { n: 2 } });
    const response = await settlesWithin('the poll', polling, 10_000);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ events: [published] });

    const empty = await get(`${hosted.url}/poll?topic=poll&after=${published.cursor}&waitMs=50`, TOKEN);
    expect(await empty.json()).toEqual({ events: [] });
  });

  it('reports the newest cursor of a topic as its tail, and null for an empty topic', async () => {
    const { hosted } = await setup();
    expect(await (await get(`${hosted.url}/tail?topic=tail`, TOKEN)).json()).toEqual({ cursor: null });
    let last: BusEvent | undefined;
    // Spread over many milliseconds, with several events in some of them.
    for (let index = 0; index < 40; index += 1) {
      last = await hosted.local.publish({ topic: 'tail', type: 'x', payload: { index } });
      if (index % 4 === 0) await new Promise((resolve) => setTimeout(resolve, 3));
    }
    expect(await (await get(`${hosted.url}/tail?topic=tail`, TOKEN)).json()).toEqual({ cursor: last!.cursor });
  });

  it('answers bad requests with the error code: malformed cursor, expired cursor, missing topic', async () => {
    const hosted = await hostMemoryBus({ maxEventsPerTopic: 2 });
    disposers.push(() => hosted.dispose());
    const events: BusEvent[] = [];
    for (let index = 0; index < 5; index += 1) events.push(await hosted.local.publish({ topic: 'r', type: 'x', payload: {} }));

    const malformed = await get(`${hosted.url}/read?topic=r&after=nope`, TOKEN);
    expect(malformed.status).toBe(400);
    expect(await malformed.json()).toEqual({
      error: { code: 'INVALID_CURSOR', message: 'invalid cursor: expected "<ms>-<seq>", got "nope"', cursor: 'nope' },
    });
    const expired = await get(`${hosted.url}/read?topic=r&after=${events[0]!.cursor}`, TOKEN);
    expect(expired.status).toBe(410);
    expect(await expired.json()).toEqual({
      error: expect.objectContaining({ code: 'CURSOR_EXPIRED', topic: 'r', after: events[0]!.cursor, oldest: events[3]!.cursor }),
    });
    const noTopic = await get(`${hosted.url}/read`, TOKEN);
    expect(noTopic.status).toBe(400);
    expect(await noTopic.json()).toMatchObject({ error: { code: 'BAD_REQUEST' } });
  });

  it('tells a subscriber the host went away, then resumes without a gap or duplicate once it is back', async () => {
    const { hosted, remote } = await setup({ pollWaitMs: 200 });
    const topic = 'outage';
    const received: BusEvent[] = [];
    const errors: Error[] = [];
    disposers.push(await remote.subscribe(topic, {}, (event) => void received.push(event), (error) => errors.push(error)));
    const published = [await hosted.local.publish({ topic, type: 'x', payload: { n: 0 } })];
    await waitFor('the first event', () => received.length === 1);

    await hosted.stopServer();
    await waitFor('the outage to be reported', () => errors.length > 0);
    expect(errors[0]).toBeInstanceOf(RemoteEventBusError);
    expect(await remote.ping()).toBe(false);
    for (let n = 1; n <= 3; n += 1) published.push(await hosted.local.publish({ topic, type: 'x', payload: { n } }));

    await hosted.restartServer();
    await waitFor('the events published during the outage', () => received.length === 4);
    published.push(await hosted.local.publish({ topic, type: 'x', payload: { n: 4 } }));
    await waitFor('the event after the outage', () => received.length === 5);
    expect(received).toEqual(published);
    expect(errors).toHaveLength(1); // once per outage, not once per retry
    expect(await remote.ping()).toBe(true);
  });

  it('ends waiting polls when the host closes, and reports the bus unavailable afterwards', async () => {
    const local = createMemoryEventBus();
    const host = createBusHost(local, { token: TOKEN });
    const listening = await listen(express().use(host));
    disposers.push(async () => {
      await listening.stop();
      await local.close();
    });
    const polling = get(`${listening.url}/poll?topic=closing&waitMs=30000`, TOKEN);
    await waitFor('the poll to wait', () => host.waitingPolls() === 1);
    await host.close();
    const response = await settlesWithin('the waiting poll', polling, 10_000);
    expect(await response.json()).toEqual({ events: [] });
    const after = await get(`${listening.url}/ping`, TOKEN);
    expect(after.status).toBe(503);
    expect(await after.json()).toMatchObject({ error: { code: 'BUS_UNAVAILABLE' } });
  });
});
