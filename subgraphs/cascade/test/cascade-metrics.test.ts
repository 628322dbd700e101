/**
 * GET /metrics of the cascade service, scraped from the running service (real HTTP, a real
 * receiver behind its connectors) after a delivery and after a dead letter: step state changes,
 * delivery attempts by outcome, the queue and dead-letter gauges and each connector's breaker,
 * with no patient data in any label; and the route is closed without CASCADE_ADMIN_TOKEN's bearer.
 */
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createClient } from 'redis';
import { createMemoryEventBus } from '../../../lib/event-bus/memory';
import { createLogger } from '../../../lib/logger';
import { loadCascadeConfig } from '../src/config';
import type { Connector } from '../src/connectors/types';
import type { CascadeEvent } from '../src/events';
import { createServer } from '../src/server';
import type { CascadeServer } from '../src/server';
import { createMemoryCascadeStore } from '../src/store/memory';
import { createRedisCascadeStore } from '../src/store/redis';
import type { CascadeStore } from '../src/store/types';
import { httpTestConnector, startReceiver, until } from './receiver';
import type { Receiver } from './receiver';

const ADMIN_TOKEN = 'cascade-metrics-test-token';
const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

const FILE = {
  connectors: {
    mail: { kind: 'webhook', fields: ['patientId', 'firstName'] },
    ops: { kind: 'slack', fields: ['patientId'] },
  },
  steps: [
    { name: 'welcome-email', on: 'patient.created', connector: 'mail', template: 'Welcome, {{firstName}}' },
    { name: 'staff-notification', on: 'patient.created', connector: 'ops' },
  ],
  // Two tries, then the dead letters; two failures in a row open a connector's breaker for long.
  delivery: { maxAttempts: 2, baseDelayMs: 20, maxDelayMs: 50, breakerThreshold: 2, breakerHalfOpenAfterMs: 600_000, timeoutMs: 5000 },
};

const event = (patientId: string, firstName: string): CascadeEvent => ({
  id: `semble:patient:${patientId}:created`,
  type: 'patient.created',
  occurredAt: new Date().toISOString(),
  patientId,
  fields: { patientId, firstName },
});

// The queue and dead-letter gauges read the store: both kinds.
describe.each(['memory', 'redis'] as const)('the cascade service /metrics with the store in %s', (variant) => {
  let receiver: Receiver;
  let cascade: CascadeServer;
  let dir: string;
  let store: CascadeStore;
  const prefix = `pg-test:cascade-metrics:${randomUUID()}:`;

  beforeAll(async () => {
    receiver = await startReceiver();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cascade-metrics-'));
    const file = path.join(dir, 'cascade.json');
    fs.writeFileSync(file, JSON.stringify(FILE));
    const connectors = new Map<string, Connector>([
      ['mail', httpTestConnector('mail', 'webhook', `${receiver.url}/mail`, FILE.connectors.mail.fields)],
      ['ops', httpTestConnector('ops', 'slack', `${receiver.url}/ops`, FILE.connectors.ops.fields)],
    ]);
    const config = loadCascadeConfig({
      PORT: '0',
      CASCADE_CONFIG: file,
      CASCADE_POLL_INTERVAL_MS: '25',
      CASCADE_SWEEP_INTERVAL_MS: '0',
      CASCADE_ADMIN_TOKEN: ADMIN_TOKEN,
      INTERNAL_TOKEN_SECRET: 'cascade-metrics-test-internal-secret-0123456789',
    });
    store = variant === 'memory' ? createMemoryCascadeStore() : createRedisCascadeStore({ url: REDIS_URL, keyPrefix: prefix });
    cascade = await createServer(config, { bus: createMemoryEventBus(), store, connectors, logger: createLogger('cascade-metrics-test', 'silent') });
  });
  afterAll(async () => {
    await cascade?.stop();
    await store?.close();
    await receiver?.stop();
    if (variant === 'redis') {
      const client = createClient({ url: REDIS_URL });
      await client.connect();
      for await (const keys of client.scanIterator({ MATCH: `${prefix}*`, COUNT: 500 })) if (keys.length) await client.del(keys);
      await client.quit();
    }
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  /** The scrape's samples, `name{labels}` → value. */
  async function scrape(): Promise<{ text: string; sample: (series: string) => number | undefined }> {
    const response = await fetch(`${cascade.url}/metrics`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toContain('text/plain');
    const text = await response.text();
    const samples = new Map<string, number>();
    for (const line of text.split('\n')) {
      const match = /^(\S+)\s+(\S+)$/.exec(line);
      if (match && !line.startsWith('#')) samples.set(match[1] as string, Number(match[2]));
    }
    return { text, sample: (series) => samples.get(series) };
  }
  const stateOf = async (id: string) => (await cascade.store.get(id))?.state;

  it('is closed without the admin token', async () => {
    expect((await fetch(`${cascade.url}/metrics`)).status).toBe(401);
    expect((await fetch(`${cascade.url}/metrics`, { headers: { authorization: 'Bearer not-the-token-at-all' } })).status).toBe(401);
  });

  it('counts a delivery, then a dead letter, by connector, step and outcome, with no patient data', async () => {
    await cascade.engine.accept(event('p-metrics-1', 'Philippa'));
    await until(async () => (await stateOf('semble:patient:p-metrics-1:created:welcome-email')) === 'SENT' && (await stateOf('semble:patient:p-metrics-1:created:staff-notification')) === 'SENT', 'both steps sent');

    const delivered = await scrape();
    expect(delivered.sample('cascade_steps_total{connector="mail",step="welcome-email",state="PENDING"}')).toBe(1);
    expect(delivered.sample('cascade_steps_total{connector="mail",step="welcome-email",state="SENT"}')).toBe(1);
    expect(delivered.sample('cascade_steps_total{connector="ops",step="staff-notification",state="SENT"}')).toBe(1);
    expect(delivered.sample('cascade_steps_total{connector="ops",step="staff-notification",state="DEAD"}')).toBe(0);
    expect(delivered.sample('cascade_delivery_attempts_total{connector="mail",outcome="sent"}')).toBe(1);
    expect(delivered.sample('cascade_delivery_attempts_total{connector="ops",outcome="sent"}')).toBe(1);
    expect(delivered.sample('cascade_delivery_attempts_total{connector="ops",outcome="retry"}')).toBe(0);
    expect(delivered.sample('cascade_dead_letters')).toBe(0);
    expect(delivered.sample('cascade_steps_due')).toBe(0);
    expect(delivered.sample('cascade_steps_scheduled')).toBe(0);
    expect(delivered.sample('cascade_breaker_state{connector="ops",state="closed"}')).toBe(1);
    expect(delivered.sample('cascade_breaker_state{connector="ops",state="open"}')).toBe(0);
    expect(delivered.sample('cascade_sweep_runs_total{outcome="completed"}')).toBe(0);

    // The Slack receiver goes down: two 503s, the step is dead and the breaker open.
    receiver.down('/ops', { status: 503 });
    await cascade.engine.accept(event('p-metrics-2', 'Quentin'));
    await until(async () => (await stateOf('semble:patient:p-metrics-2:created:staff-notification')) === 'DEAD', 'the staff notification to be dead-lettered');
    await until(async () => (await stateOf('semble:patient:p-metrics-2:created:welcome-email')) === 'SENT', 'the second welcome email');

    const dead = await scrape();
    expect(dead.sample('cascade_steps_total{connector="mail",step="welcome-email",state="SENT"}')).toBe(2);
    expect(dead.sample('cascade_steps_total{connector="ops",step="staff-notification",state="PENDING"}')).toBe(2);
    expect(dead.sample('cascade_steps_total{connector="ops",step="staff-notification",state="FAILED"}')).toBe(1);
    expect(dead.sample('cascade_steps_total{connector="ops",step="staff-notification",state="DEAD"}')).toBe(1);
    expect(dead.sample('cascade_steps_total{connector="ops",step="staff-notification",state="SENT"}')).toBe(1);
    expect(dead.sample('cascade_delivery_attempts_total{connector="mail",outcome="sent"}')).toBe(2);
    expect(dead.sample('cascade_delivery_attempts_total{connector="ops",outcome="sent"}')).toBe(1);
    expect(dead.sample('cascade_delivery_attempts_total{connector="ops",outcome="retry"}')).toBe(2);
    expect(dead.sample('cascade_dead_letters')).toBe(1);
    expect(dead.sample('cascade_steps_scheduled')).toBe(0);
    expect(dead.sample('cascade_breaker_state{connector="ops",state="open"}')).toBe(1);
    expect(dead.sample('cascade_breaker_state{connector="ops",state="closed"}')).toBe(0);
    expect(dead.sample('cascade_breaker_state{connector="mail",state="closed"}')).toBe(1);

    for (const value of ['p-metrics-1', 'p-metrics-2', 'Philippa', 'Quentin']) expect(dead.text).not.toContain(value);
  });
});
