/** Outgoing deliveries against a real receiver: success, retries with a fresh request per attempt, giving up, stopping. */
import http from 'node:http';
import { listen } from '../listen';
import { createWebhookSender } from './delivery';
import type { WebhookSender } from './delivery';
import { startRecordingReceiver } from './recording-receiver';
import type { RecordingReceiver } from './recording-receiver';

async function waitUntil(check: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met before the deadline');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe('webhook delivery', () => {
  let receiver: RecordingReceiver;
  let sender: WebhookSender;
  beforeEach(async () => {
    receiver = await startRecordingReceiver('/hook?x=1');
    sender = createWebhookSender({ retryDelaysMs: [10, 20, 40], timeoutMs: 2000 });
  });
  afterEach(async () => {
    sender.stop();
    await receiver.stop();
  });

  it('POSTs the built request and reports it delivered after the first attempt', async () => {
    const delivery = await sender.send({ url: receiver.url, event: 'TEST', build: () => ({ headers: { 'content-type': 'application/json', 'x-a': '1' }, body: '{"a":1}' }) });
    expect(delivery).toMatchObject({ url: receiver.url, event: 'TEST', status: 'delivered', attempts: 1, lastStatusCode: 200, lastError: null });
    expect(receiver.received).toHaveLength(1);
    expect(receiver.received[0]).toMatchObject({ method: 'POST', path: '/hook?x=1' });
    expect(receiver.received[0]!.headers['x-a']).toBe('1');
    expect(receiver.received[0]!.body.toString()).toBe('{"a":1}');
  });

  it('sends a bodiless POST when the request has no body', async () => {
    await sender.send({ url: receiver.url, event: 'PUSH', build: () => ({ headers: { 'x-goog-channel-id': 'c' } }) });
    expect(receiver.received[0]!.body).toHaveLength(0);
  });

  it('retries a non-2xx answer with a request rebuilt for each attempt, until one succeeds', async () => {
    receiver.respondWith((count) => (count < 3 ? 500 : 204));
    const attempts: number[] = [];
    const first = await sender.send({
      url: receiver.url,
      event: 'TEST',
      build: (attempt) => {
        attempts.push(attempt);
        return { headers: { 'x-attempt': String(attempt) }, body: `{"attempt":${attempt}}` };
      },
    });
    expect(first).toMatchObject({ status: 'retrying', attempts: 1, lastStatusCode: 500, lastError: 'HTTP_STATUS' });
    await receiver.waitFor(3);
    await waitUntil(() => sender.list()[0]!.status === 'delivered');
    expect(sender.list()[0]).toMatchObject({ attempts: 3, lastStatusCode: 204, lastError: null });
    expect(attempts).toEqual([1, 2, 3]);
    expect(receiver.received.map((r) => r.headers['x-attempt'])).toEqual(['1', '2', '3']);
  });

  it('gives up after the configured retries', async () => {
    receiver.respondWith(503);
    await sender.send({ url: receiver.url, event: 'TEST', build: () => ({ headers: {}, body: '{}' }) });
    await waitUntil(() => sender.list()[0]!.status === 'failed');
    expect(sender.list()[0]).toMatchObject({ attempts: 4, lastStatusCode: 503, lastError: 'HTTP_STATUS' });
    expect(receiver.received).toHaveLength(4);
  });

  it('counts a refused connection as a network error and retries it', async () => {
    const closed = await listen(http.createServer());
    const url = `${closed.url}/gone`;
    await closed.stop();
    const delivery = await sender.send({ url, event: 'TEST', build: () => ({ headers: {}, body: '{}' }) });
    expect(delivery).toMatchObject({ status: 'retrying', lastStatusCode: null, lastError: 'NETWORK' });
    await waitUntil(() => sender.list()[0]!.status === 'failed');
  });

  it('times out a receiver that never answers', async () => {
    const silent = await listen(http.createServer(() => undefined));
    const slowSender = createWebhookSender({ retryDelaysMs: [], timeoutMs: 50 });
    try {
      const delivery = await slowSender.send({ url: silent.url, event: 'TEST', build: () => ({ headers: {}, body: '{}' }) });
      expect(delivery).toMatchObject({ status: 'failed', attempts: 1, lastError: 'TIMEOUT' });
    } finally {
      slowSender.stop();
      await silent.stop();
    }
  });

  it('marks a delivery whose request cannot be built as failed, without sending', async () => {
    const delivery = await sender.send({ url: receiver.url, event: 'TEST', build: () => { throw new Error('boom'); } });
    expect(delivery).toMatchObject({ status: 'failed', lastError: 'BUILD' });
    expect(receiver.received).toHaveLength(0);
  });

  it('cancels scheduled retries on stop', async () => {
    receiver.respondWith(500);
    const slow = createWebhookSender({ retryDelaysMs: [60_000] });
    await slow.send({ url: receiver.url, event: 'TEST', build: () => ({ headers: {}, body: '{}' }) });
    slow.stop();
    expect(slow.list()[0]).toMatchObject({ status: 'failed', lastError: 'STOPPED', attempts: 1 });
    expect(await slow.send({ url: receiver.url, event: 'TEST', build: () => ({ headers: {}, body: '{}' }) })).toMatchObject({ status: 'failed', attempts: 0 });
    expect(receiver.received).toHaveLength(1);
  });

  it('keeps a bounded listing without bodies, and clear() forgets finished deliveries', async () => {
    const small = createWebhookSender({ keep: 2 });
    for (let i = 0; i < 3; i += 1) await small.send({ url: receiver.url, event: `E${i}`, build: () => ({ headers: {}, body: '{"secret":"phi"}' }) });
    expect(small.list().map((d) => d.event)).toEqual(['E1', 'E2']);
    expect(JSON.stringify(small.list())).not.toContain('phi');
    small.clear();
    expect(small.list()).toEqual([]);
    small.stop();
  });

  it('sends each of the next deliveries twice when told to (duplicateNext), the copy naming the first', async () => {
    expect(sender.duplicateNext(1, 20)).toBe(1);
    const first = await sender.send({ url: receiver.url, event: 'E1', build: (attempt) => ({ headers: { 'x-attempt': String(attempt) }, body: '{"n":1}' }) });
    await receiver.waitFor(2);
    await waitUntil(() => sender.list().length === 2 && sender.list().every((d) => d.status === 'delivered'));
    expect(sender.list()).toEqual([
      expect.objectContaining({ id: first.id, status: 'delivered', attempts: 1 }),
      expect.objectContaining({ event: 'E1', status: 'delivered', attempts: 1, duplicateOf: first.id }),
    ]);
    expect(receiver.received.map((r) => r.body.toString())).toEqual(['{"n":1}', '{"n":1}']);
    // Only the next one.
    await sender.send({ url: receiver.url, event: 'E2', build: () => ({ headers: {}, body: '{"n":2}' }) });
    expect(receiver.received).toHaveLength(3);
    expect(() => sender.duplicateNext(-1)).toThrow(/count: expected a non-negative integer, got -1/);
  });

  it('holds the next deliveries back when told to (delayNext), so later ones overtake them', async () => {
    expect(sender.delayNext(1, 100)).toBe(1);
    const held = await sender.send({ url: receiver.url, event: 'SLOW', build: () => ({ headers: {}, body: '{"n":1}' }) });
    expect(held).toMatchObject({ status: 'pending', attempts: 0 });
    await sender.send({ url: receiver.url, event: 'FAST', build: () => ({ headers: {}, body: '{"n":2}' }) });
    await receiver.waitFor(2);
    expect(receiver.received.map((r) => r.body.toString())).toEqual(['{"n":2}', '{"n":1}']);
    await waitUntil(() => sender.list()[0]!.status === 'delivered');
    expect(() => sender.delayNext(1, 1.5)).toThrow(/ms: expected a non-negative integer, got 1.5/);
  });

  it('ends a held delivery as failed (STOPPED) when stopped before it is sent', async () => {
    const slow = createWebhookSender();
    slow.delayNext(1, 60_000);
    await slow.send({ url: receiver.url, event: 'HELD', build: () => ({ headers: {}, body: '{}' }) });
    slow.stop();
    expect(slow.list()[0]).toMatchObject({ status: 'failed', lastError: 'STOPPED', attempts: 0 });
    expect(receiver.received).toHaveLength(0);
  });
});
