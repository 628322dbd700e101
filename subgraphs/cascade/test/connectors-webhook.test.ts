import { createHmac } from 'node:crypto';
import { createConnector } from '../src/connectors';
import { entrypoint } from '../emulator/main';
import { readEmulatorConfig } from '../../../lib/emulator-main';
import { TOKEN, injectFault, message, never, useConnectorsEmulator } from './connectors-harness';

const emulator = useConnectorsEmulator();

function webhook(overrides: Record<string, unknown> = {}, env: Record<string, string> = { N8N_SECRET: TOKEN }, deps = {}) {
  return createConnector('n8n', { kind: 'webhook', url: `${emulator().url}/hooks/n8n`, secretEnv: 'N8N_SECRET', fields: ['patientId', 'email'], ...overrides }, env, deps);
}

describe('the generic signed webhook connector', () => {
  it('posts the event as JSON with a v1 HMAC-SHA256 signature over "timestamp.body" that the receiver accepts', async () => {
    const outcome = await webhook().send(message(), never);
    expect(outcome).toEqual({ status: 'sent', httpStatus: 200 });
    const [received] = emulator().received('webhook');
    expect(received).toMatchObject({ vendor: 'webhook', path: '/hooks/n8n', signatureValid: true, status: 200, idempotencyKey: 'evt-1001:welcome', eventId: 'evt-1001' });
    expect(received.body).toEqual({
      id: 'evt-1001:welcome',
      eventId: 'evt-1001',
      type: 'patient.created',
      occurredAt: '2026-11-30T09:15:00.000Z',
      step: 'welcome',
      data: { patientId: 'pat-42', email: 'Ada.Lovelace@example.org' },
      text: 'New patient pat-42 registered',
    });
  });

  it('signs exactly as documented: hex HMAC-SHA256 of `${timestamp}.${rawBody}`, timestamp in seconds', async () => {
    let seen: { headers: Headers; body: string } | undefined;
    const capture: typeof fetch = async (_url, init) => {
      seen = { headers: new Headers(init?.headers), body: String(init?.body) };
      return new Response('{}', { status: 200 });
    };
    await webhook({}, undefined, { fetch: capture, now: () => 1_780_000_000_500 }).send(message(), never);
    const expected = createHmac('sha256', TOKEN).update(`1780000000.${seen!.body}`).digest('hex');
    expect(seen!.headers.get('x-patientgraph-timestamp')).toBe('1780000000');
    expect(seen!.headers.get('x-patientgraph-signature')).toBe(`v1=${expected}`);
    expect(seen!.headers.get('idempotency-key')).toBe('evt-1001:welcome');
  });

  it('is refused with 401 when signed with the wrong secret, and the outcome is failed without field values', async () => {
    const outcome = await webhook({}, { N8N_SECRET: 'not-the-secret' }).send(message(), never);
    expect(outcome).toEqual({ status: 'failed', httpStatus: 401, reason: 'webhook "n8n" answered HTTP 401' });
    expect(emulator().received('webhook').map((r) => r.signatureValid)).toEqual([false]);
  });

  it('is refused when its timestamp is outside the receiver window (a replay)', async () => {
    const tenMinutesAgo = Date.now() - 10 * 60 * 1000;
    const outcome = await webhook({}, undefined, { now: () => tenMinutesAgo }).send(message(), never);
    expect(outcome).toMatchObject({ status: 'failed', httpStatus: 401 });
  });

  it('sends the same idempotency key on a repeat, so the receiver can see the duplicate', async () => {
    const connector = webhook();
    await connector.send(message(), never);
    await connector.send(message(), never);
    const received = emulator().received('webhook');
    expect(received.map((r) => [r.idempotencyKey, r.duplicate])).toEqual([
      ['evt-1001:welcome', false],
      ['evt-1001:welcome', true],
    ]);
  });

  it('never sends a field outside its allow-list, even when the message carries one', async () => {
    await webhook({ fields: ['patientId'] }).send(message(), never);
    expect((emulator().received('webhook')[0].body as { data: unknown }).data).toEqual({ patientId: 'pat-42' });
  });

  it('turns 429 with Retry-After into retry with retryAfterMs', async () => {
    await injectFault(emulator(), { pathPrefix: '/hooks/', status: 429, retryAfterSeconds: 7 });
    expect(await webhook().send(message(), never)).toEqual({ status: 'retry', httpStatus: 429, retryAfterMs: 7000, reason: 'webhook "n8n" answered HTTP 429' });
  });

  it('turns 503 into retry, and delivers once the vendor is back', async () => {
    await injectFault(emulator(), { pathPrefix: '/hooks/', status: 503, times: 1 });
    const connector = webhook();
    expect(await connector.send(message(), never)).toMatchObject({ status: 'retry', httpStatus: 503 });
    expect(await connector.send(message(), never)).toMatchObject({ status: 'sent' });
  });

  it('turns a refused connection into retry', async () => {
    const closed = createConnector('gone', { kind: 'webhook', url: 'http://127.0.0.1:1/hooks/x', secretEnv: 'S', fields: [] }, { S: 'x' });
    expect(await closed.send(message(), never)).toEqual({ status: 'retry', reason: 'webhook "gone" could not reach the vendor' });
  });

  it('turns an aborted attempt into retry rather than rejecting', async () => {
    const controller = new AbortController();
    controller.abort();
    expect(await webhook().send(message(), controller.signal)).toEqual({ status: 'retry', reason: 'webhook "n8n" was aborted' });
  });
});

describe('the generic webhook configuration', () => {
  it('names the key, what was expected and what was found', () => {
    expect(() => createConnector('n8n', { kind: 'webhook', secretEnv: 'S', fields: [] }, { S: 'x' })).toThrow('connectors.n8n.url: expected string, found nothing (unset)');
    expect(() => createConnector('n8n', { kind: 'webhook', url: 'ftp://x.test', secretEnv: 'S', fields: [] }, { S: 'x' })).toThrow('connectors.n8n.url: expected an http(s) URL, found "ftp://x.test"');
    expect(() => createConnector('n8n', { kind: 'webhook', url: 'http://x.test', secretEnv: 'lower-case', fields: [] }, {})).toThrow('connectors.n8n.secretEnv: expected an environment variable name (A-Z, 0-9, _), found "lower-case"');
    expect(() => createConnector('n8n', { kind: 'webhook', url: 'http://x.test', secretEnv: 'S', fields: [], sekret: 1 }, { S: 'x' })).toThrow('sekret');
  });

  it('refuses an entry whose secret variable is unset, naming the variable and not a value', () => {
    expect(() => createConnector('n8n', { kind: 'webhook', url: 'http://x.test', secretEnv: 'N8N_SECRET', fields: [] }, {})).toThrow(
      'connectors.n8n.secretEnv: expected the variable N8N_SECRET to be set, found nothing (unset)',
    );
  });

  it('refuses an unknown kind, listing the known ones', () => {
    expect(() => createConnector('x', { kind: 'fax', fields: [] }, {})).toThrow(/connectors\.x\.kind: expected one of "webhook".*, found "fax"/);
  });
});

describe('the connectors emulator', () => {
  it('lists received requests by vendor and forgets them on DELETE', async () => {
    await webhook().send(message(), never);
    const listed = (await (await fetch(`${emulator().url}/__admin/received?vendor=webhook`)).json()) as unknown[];
    expect(listed).toHaveLength(1);
    expect((await fetch(`${emulator().url}/__admin/received?vendor=fax`)).status).toBe(400);
    expect((await fetch(`${emulator().url}/__admin/received`, { method: 'DELETE' })).status).toBe(204);
    expect(await (await fetch(`${emulator().url}/__admin/received`)).json()).toEqual([]);
  });

  it('is the connectors-emulator on port 4107 with a development token by default', () => {
    expect(entrypoint.name).toBe('connectors-emulator');
    expect(readEmulatorConfig(entrypoint, {})).toMatchObject({ port: 4107, token: 'connectors-dev-token' });
  });
});

describe('Retry-After and timeouts', () => {
  it('reads a Retry-After given as an HTTP date', async () => {
    const inThirtySeconds = new Date(Date.now() + 30_000).toUTCString();
    const busy: typeof fetch = async () => new Response('', { status: 503, headers: { 'retry-after': inThirtySeconds } });
    const outcome = await webhook({}, undefined, { fetch: busy }).send(message(), never);
    expect(outcome).toMatchObject({ status: 'retry', httpStatus: 503 });
    // An HTTP date has whole seconds: between 28 and 30 s from now.
    expect((outcome as { retryAfterMs: number }).retryAfterMs).toBeGreaterThan(28_000);
    expect((outcome as { retryAfterMs: number }).retryAfterMs).toBeLessThanOrEqual(30_000);
  });

  it('gives up on a vendor slower than timeoutMs with a retry', async () => {
    await fetch(`${emulator().url}/__admin/faults`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ pathPrefix: '/hooks/', latencyMs: 3000, times: 1 }) });
    expect(await webhook({ timeoutMs: 100 }).send(message(), never)).toEqual({ status: 'retry', reason: 'webhook "n8n" got no answer within 100 ms' });
  });
});
