/**
 * HTTP response compression at the gateway: a large answer is gzip-compressed for a client that
 * accepts gzip and sent as it is for one that does not; a small one is never compressed; an SSE
 * subscription, whose client accepts gzip too, still gets each event when it is published (a
 * compressor would hold them back); a WebSocket subscription still upgrades.
 */
import http from 'node:http';
import zlib from 'node:zlib';
import { createMemoryEventBus } from '../../lib/event-bus/memory';
import type { EventBus } from '../../lib/event-bus/types';
import { testToken } from './fixtures';
import { collect, startSubscriptionRig, waitForSubscribers } from './subscription-fixtures';
import type { SubscriptionRig } from './subscription-fixtures';

/** A POST to /graphql with a raw socket read: no client decompresses for us. */
function post(url: string, query: string, acceptEncoding?: string): Promise<{ headers: http.IncomingHttpHeaders; raw: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      url,
      {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${testToken()}`, ...(acceptEncoding ? { 'accept-encoding': acceptEncoding } : {}) },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => resolve({ headers: res.headers, raw: Buffer.concat(chunks) }));
      },
    );
    req.on('error', reject);
    req.end(JSON.stringify({ query }));
  });
}

describe('response compression', () => {
  let bus: EventBus;
  let rig: SubscriptionRig;
  beforeAll(async () => {
    bus = createMemoryEventBus();
    rig = await startSubscriptionRig(bus);
  });
  afterAll(async () => {
    await rig.stop();
    await bus.close();
  });

  // Aliases make the answer as large as we like from the smallest of schemas.
  const LARGE = `{ ${Array.from({ length: 20 }, (_, i) => `a${i}: products { id name __typename }`).join(' ')} }`;

  it('gzips a large answer for a client that accepts gzip, and the answer is the same', async () => {
    const plain = await post(rig.gateway.graphqlUrl, LARGE);
    const gzipped = await post(rig.gateway.graphqlUrl, LARGE, 'gzip');
    expect(plain.headers['content-encoding']).toBeUndefined();
    expect(gzipped.headers['content-encoding']).toBe('gzip');
    expect(gzipped.headers.vary).toMatch(/accept-encoding/i);
    expect(plain.raw.length).toBeGreaterThan(1024);
    expect(gzipped.raw.length).toBeLessThan(plain.raw.length / 4);
    const body = JSON.parse(zlib.gunzipSync(gzipped.raw).toString('utf8'));
    expect(body.data).toEqual(JSON.parse(plain.raw.toString('utf8')).data);
    expect(body.data.a19).toContainEqual({ id: 'p1', name: 'Stethoscope', __typename: 'Product' });
  });

  it('sends a client that accepts only identity the answer as it is', async () => {
    const answer = await post(rig.gateway.graphqlUrl, LARGE, 'identity');
    expect(answer.headers['content-encoding']).toBeUndefined();
    expect(JSON.parse(answer.raw.toString('utf8')).data.a0).toContainEqual({ id: 'p1', name: 'Stethoscope', __typename: 'Product' });
  });

  it('leaves an answer below the threshold uncompressed', async () => {
    const answer = await post(rig.gateway.graphqlUrl, '{ products { id } }', 'gzip');
    expect(answer.raw.length).toBeLessThan(1024);
    expect(answer.headers['content-encoding']).toBeUndefined();
    expect(JSON.parse(answer.raw.toString('utf8')).data.products).toContainEqual({ id: 'p1' });
  });

  it('streams SSE events live, uncompressed, to a client that accepts gzip', async () => {
    const received: string[] = [];
    let headers: http.IncomingHttpHeaders | undefined;
    const req = http.request(rig.gateway.graphqlUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream', 'accept-encoding': 'gzip, br', authorization: `Bearer ${testToken()}` },
    });
    req.on('response', (res) => {
      headers = res.headers;
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => received.push(chunk));
    });
    req.on('error', () => undefined);
    req.end(JSON.stringify({ query: 'subscription { itemEvents { id kind } }' }));
    try {
      await waitForSubscribers(rig.gateway, 1);
      // Each event must arrive before the next is published: nothing is held back.
      for (const kind of ['first', 'second']) {
        await rig.publish(kind, 'p1');
        const deadline = Date.now() + 10_000;
        while (!received.join('').includes(`"kind":"${kind}"`) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
        expect(received.join('')).toContain(`"kind":"${kind}"`);
      }
      expect(headers!['content-type']).toMatch(/^text\/event-stream/);
      // graphql-sse says `none` itself; what matters is that no compressor is in the way.
      expect(headers!['content-encoding'] ?? 'none').toBe('none');
    } finally {
      req.destroy();
      await waitForSubscribers(rig.gateway, 0);
    }
  });

  it('still upgrades a WebSocket subscription', async () => {
    const sub = collect(rig.client(), 'subscription { itemEvents { kind } }');
    await waitForSubscribers(rig.gateway, 1);
    await rig.publish('over-ws', 'p1');
    expect(await sub.waitFor(1)).toEqual([{ data: { itemEvents: { kind: 'over-ws' } } }]);
    sub.unsubscribe();
  });
});
