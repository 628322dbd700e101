/**
 * The behaviour every connector kind shares, run against each over real HTTP with the connectors
 * emulator: valid credentials are accepted, a wrong secret is refused by the vendor and comes
 * back `failed`, 429 with Retry-After and 503 come back `retry`, and a repeat carries the same
 * idempotency key (a header, or the vendor's own field).
 */
import { createHash } from 'node:crypto';
import { createConnector } from '../src/connectors';
import type { Connector } from '../src/connectors/types';
import { TOKEN, injectFault, message, never, useConnectorsEmulator } from './connectors-harness';

const emulator = useConnectorsEmulator();
const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
const md5 = (text: string) => createHash('md5').update(text).digest('hex');
const TWILIO_SID = `AC${'0'.repeat(32)}`;

interface KindCase {
  kind: string;
  /** The connector, with `secret` as its credential. */
  make(url: string, secret: string): Connector;
  /** Where the vendor's routes are, for fault injection. */
  pathPrefix: string;
  /** The status the vendor refuses a wrong secret with; undefined: it accepts and drops (GA4). */
  rejectsWith: number | undefined;
  /** The idempotency key the vendor should have been given for message(). */
  expectedKey: string;
}

const key = message().idempotencyKey;
const cases: KindCase[] = [
  {
    kind: 'webhook',
    make: (url, secret) => createConnector('n8n', { kind: 'webhook', url: `${url}/hooks/n8n`, secretEnv: 'SECRET', fields: ['patientId'] }, { SECRET: secret }),
    pathPrefix: '/hooks/',
    rejectsWith: 401,
    expectedKey: key,
  },
  {
    kind: 'slack',
    make: (url, secret) => createConnector('front-desk', { kind: 'slack', urlEnv: 'SLACK_URL', fields: ['patientId'] }, { SLACK_URL: `${url}/services/T0001/B0001/${secret}` }),
    pathPrefix: '/services/',
    rejectsWith: 403,
    expectedKey: key,
  },
  {
    kind: 'teams',
    make: (url, secret) =>
      createConnector('clinic-team', { kind: 'teams', urlEnv: 'TEAMS_URL', fields: ['patientId'] }, { TEAMS_URL: `${url}/workflows/wf1/triggers/manual/paths/invoke?api-version=2016-06-01&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig=${secret}` }),
    pathPrefix: '/workflows/',
    rejectsWith: 401,
    expectedKey: key,
  },
  {
    kind: 'mailchimp',
    make: (url, secret) =>
      createConnector('newsletter', { kind: 'mailchimp', baseUrl: url, apiKeyEnv: 'MC_KEY', listId: 'list1', fields: ['email'], tag: 'new-patient' }, { MC_KEY: secret }),
    pathPrefix: '/3.0/',
    rejectsWith: 401,
    expectedKey: md5('ada.lovelace@example.org'),
  },
  {
    kind: 'twilio',
    make: (url, secret) =>
      createConnector('sms', { kind: 'twilio', baseUrl: url, accountSid: TWILIO_SID, authTokenEnv: 'TWILIO_TOKEN', from: '+447700900001', fields: ['phone'] }, { TWILIO_TOKEN: secret }),
    pathPrefix: '/2010-04-01/',
    rejectsWith: 401,
    expectedKey: key,
  },
  {
    kind: 'jira',
    make: (url, secret) =>
      createConnector('ops', { kind: 'jira', baseUrl: url, email: 'cascade@clinic.example', apiTokenEnv: 'JIRA_TOKEN', projectKey: 'OPS', fields: ['patientId'] }, { JIRA_TOKEN: secret }),
    pathPrefix: '/rest/api/3/',
    rejectsWith: 401,
    expectedKey: `cascade-${sha256(key).slice(0, 20)}`,
  },
  {
    kind: 'asana',
    make: (url, secret) => createConnector('tasks', { kind: 'asana', baseUrl: url, tokenEnv: 'ASANA_TOKEN', projectGid: '1201', fields: ['patientId'] }, { ASANA_TOKEN: secret }),
    pathPrefix: '/api/1.0/',
    rejectsWith: 401,
    expectedKey: key,
  },
  {
    kind: 'mixpanel',
    make: (url, secret) => createConnector('product', { kind: 'mixpanel', baseUrl: url, projectId: 3141, secretEnv: 'MP_SECRET', fields: ['patientId'] }, { MP_SECRET: secret }),
    pathPrefix: '/import',
    rejectsWith: 401,
    expectedKey: sha256(key).slice(0, 32),
  },
  {
    kind: 'ga4',
    make: (url, secret) => createConnector('ga', { kind: 'ga4', baseUrl: url, measurementId: 'G-TEST1234', apiSecretEnv: 'GA_SECRET', fields: ['patientId'] }, { GA_SECRET: secret }),
    pathPrefix: '/mp/',
    rejectsWith: undefined,
    expectedKey: sha256(key).slice(0, 32),
  },
];

describe.each(cases.map((c) => [c.kind, c] as const))('the %s connector', (kind, c) => {
  it('is accepted by the vendor with valid credentials', async () => {
    expect(await c.make(emulator().url, TOKEN).send(message(), never)).toMatchObject({ status: 'sent' });
    const received = emulator().received(kind);
    expect(received.length).toBeGreaterThan(0);
    expect(received.every((r) => r.signatureValid && r.status >= 200 && r.status < 300)).toBe(true);
  });

  if (c.rejectsWith !== undefined) {
    it(`is refused with ${c.rejectsWith} for a wrong secret, and the outcome is failed without field values`, async () => {
      const outcome = await c.make(emulator().url, 'wrong-secret').send(message(), never);
      expect(outcome).toMatchObject({ status: 'failed', httpStatus: c.rejectsWith });
      expect(JSON.stringify(outcome)).not.toMatch(/Ada|Lovelace|example\.org|7700900123|pat-42/);
      expect(emulator().received(kind).map((r) => [r.signatureValid, r.status])).toEqual([[false, c.rejectsWith]]);
    });
  } else {
    it('is answered 2xx but dropped for a wrong secret, as GA4 does (nothing counted as valid)', async () => {
      expect(await c.make(emulator().url, 'wrong-secret').send(message(), never)).toMatchObject({ status: 'sent' });
      expect(emulator().received(kind).map((r) => r.signatureValid)).toEqual([false]);
    });
  }

  it('retries after the Retry-After of a 429', async () => {
    await injectFault(emulator(), { pathPrefix: c.pathPrefix, status: 429, retryAfterSeconds: 12 });
    expect(await c.make(emulator().url, TOKEN).send(message(), never)).toMatchObject({ status: 'retry', httpStatus: 429, retryAfterMs: 12_000 });
  });

  it('retries a 503', async () => {
    await injectFault(emulator(), { pathPrefix: c.pathPrefix, status: 503 });
    const outcome = await c.make(emulator().url, TOKEN).send(message(), never);
    expect(outcome).toMatchObject({ status: 'retry', httpStatus: 503 });
    expect(outcome).not.toHaveProperty('retryAfterMs');
  });

  it('fails, not retries, a 400', async () => {
    await injectFault(emulator(), { pathPrefix: c.pathPrefix, status: 400 });
    expect(await c.make(emulator().url, TOKEN).send(message(), never)).toMatchObject({ status: 'failed', httpStatus: 400 });
  });

  it('gives the vendor the same idempotency key on a repeat', async () => {
    const connector = c.make(emulator().url, TOKEN);
    await connector.send(message(), never);
    await connector.send(message(), never);
    const keys = emulator().received(kind).map((r) => r.idempotencyKey);
    expect(new Set(keys)).toEqual(new Set([c.expectedKey]));
    expect(keys.length).toBeGreaterThanOrEqual(2);
  });

  it('is a different key for another step of the same event', async () => {
    const connector = c.make(emulator().url, TOKEN);
    await connector.send(message(), never);
    await connector.send(message({ idempotencyKey: 'evt-1001:other-step', step: 'other-step' }), never);
    expect(new Set(emulator().received(kind).map((r) => r.idempotencyKey)).size).toBe(kind === 'mailchimp' ? 1 : 2);
  });
});
