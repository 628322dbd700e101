/**
 * The cascade engine's delivery guarantees, against a real HTTP receiver: each step once, no
 * repeat on redelivery, Retry-After honoured, per-connector breakers, dead letters and redrive,
 * fields cut to the connector's allow-list, and marketing consent read from the real HubSpot
 * emulator.
 */
import { startEmulator } from '../../../lib/emulator-main';
import { createMemoryEventBus } from '../../../lib/event-bus/memory';
import { createRedisEventBus } from '../../../lib/event-bus/redis';
import type { EventBus } from '../../../lib/event-bus/types';
import type { Listening } from '../../../lib/listen';
import { createLogger } from '../../../lib/logger';
import { createSeedWorld } from '../../../lib/seed';
import { createHubSpotClient } from '../../../lib/vendors/hubspot';
import { entrypoint as hubspotEntrypoint } from '../../crm/emulator/main';
import { parseCascadeFile } from '../src/cascade-config';
import { createHubSpotConsentLookup } from '../src/consent';
import type { ConsentLookup } from '../src/consent';
import type { Connector } from '../src/connectors/types';
import { createCascadeEngine } from '../src/engine';
import type { CascadeEngine } from '../src/engine';
import { CASCADE_OUTBOX_TOPIC, CASCADE_STEPS_TOPIC } from '../src/events';
import type { CascadeEvent } from '../src/events';
import { randomUUID } from 'node:crypto';
import { createClient } from 'redis';
import { createMemoryCascadeStore } from '../src/store/memory';
import { createRedisCascadeStore } from '../src/store/redis';
import type { CascadeStore, StepRecord } from '../src/store/types';
import { httpTestConnector, startReceiver, until } from './receiver';
import type { Receiver } from './receiver';

const logger = createLogger('cascade-test', 'silent');

const DELIVERY = { baseDelayMs: 20, maxDelayMs: 200, maxAttempts: 4, breakerThreshold: 3, breakerHalfOpenAfterMs: 300, consentWaitMs: 600, consentRetryMs: 50, timeoutMs: 5000 };

const FILE = {
  connectors: {
    mail: { kind: 'webhook', fields: ['patientId', 'firstName', 'email'] },
    staff: { kind: 'slack', fields: ['patientId', 'fullName'] },
    analytics: { kind: 'ga4', fields: ['patientId'] },
  },
  steps: [
    { name: 'welcome-email', on: 'patient.created', connector: 'mail', template: 'Welcome, {{firstName}}' },
    { name: 'staff-notification', on: 'patient.created', connector: 'staff', template: 'New patient {{fullName}}' },
    { name: 'analytics-event', on: 'patient.created', connector: 'analytics', stage: 'short-term', delayMs: 100 },
    { name: 'review-task', on: 'conflict.opened', connector: 'staff' },
  ],
  delivery: DELIVERY,
};

let counter = 0;
function patientCreated(overrides: Partial<CascadeEvent> = {}): CascadeEvent {
  counter += 1;
  const patientId = `p-${counter}`;
  return {
    id: `semble:patient:${patientId}:created`,
    type: 'patient.created',
    occurredAt: new Date().toISOString(),
    patientId,
    fields: { patientId, firstName: 'Ada', lastName: 'Lovelace', fullName: 'Ada Lovelace', email: 'ada@example.test', phone: '+447700900123', dateOfBirth: '1815-12-10', createdAt: new Date().toISOString() },
    ...overrides,
  };
}

interface Harness {
  receiver: Receiver;
  bus: EventBus;
  store: CascadeStore;
  engines: CascadeEngine[];
  engine: CascadeEngine;
  stepsOf(patientId: string): Promise<Record<string, StepRecord>>;
}

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

/** Removes every Redis key under `prefix` after the test. */
function removeKeysAfterwards(prefix: string): void {
  cleanups.push(async () => {
    const client = createClient({ url: REDIS_URL });
    await client.connect();
    for await (const keys of client.scanIterator({ MATCH: `${prefix}*`, COUNT: 500 })) if (keys.length) await client.del(keys);
    await client.quit();
  });
}

/** The bus and store of the variant under test: in memory, or both in Redis under a prefix of the test's own. */
async function busAndStoreOf(variant: 'memory' | 'redis'): Promise<{ bus: EventBus; store: CascadeStore }> {
  if (variant === 'memory') return { bus: createMemoryEventBus(), store: createMemoryCascadeStore() };
  const prefix = `pg-test:cascade:${randomUUID()}:`;
  removeKeysAfterwards(prefix);
  const store = createRedisCascadeStore({ url: REDIS_URL, keyPrefix: `${prefix}store:` });
  cleanups.push(() => store.close());
  return { bus: await createRedisEventBus({ url: REDIS_URL, keyPrefix: `${prefix}bus:` }), store };
}

let variant: 'memory' | 'redis' = 'memory';

async function harness(options: { file?: unknown; replicas?: number; consent?: ConsentLookup } = {}): Promise<Harness> {
  const receiver = await startReceiver();
  cleanups.push(() => receiver.stop());
  const { bus, store } = await busAndStoreOf(variant);
  cleanups.push(() => bus.close());
  const file = parseCascadeFile(options.file ?? FILE);
  const connectors = new Map<string, Connector>(
    Object.entries(file.connectors).map(([name, settings]) => [name, httpTestConnector(name, settings.kind, `${receiver.url}/${name}`, settings.fields)]),
  );
  const engines: CascadeEngine[] = [];
  for (let i = 0; i < (options.replicas ?? 1); i++) {
    const engine = createCascadeEngine({
      bus,
      store,
      file,
      connectors,
      consent: options.consent ?? (async () => 'denied'),
      logger,
      consumer: `replica-${i}`,
      pollIntervalMs: 25,
      claimAfterMs: 2000,
    });
    await engine.start();
    cleanups.push(() => engine.stop());
    engines.push(engine);
  }
  return {
    receiver,
    bus,
    store,
    engines,
    engine: engines[0] as CascadeEngine,
    async stepsOf(patientId) {
      return Object.fromEntries((await store.ofPatient(patientId)).map((record) => [record.step, record]));
    },
  };
}

const settledStates = new Set(['SENT', 'DEAD', 'SKIPPED']);
async function allSettled(h: Harness, patientId: string, count: number) {
  return until(async () => {
    const steps = Object.values(await h.stepsOf(patientId));
    return steps.length === count && steps.every((step) => settledStates.has(step.state)) && steps;
  }, `the ${count} steps of ${patientId} to settle`);
}

describe.each(['memory', 'redis'] as const)('with the bus and store in %s', (storeVariant) => {
  beforeAll(() => {
    variant = storeVariant;
  });

  test('each step of a new patient is delivered once, with only the fields its connector may receive', async () => {
    const h = await harness();
    const event = patientCreated();
    await h.engine.accept(event);
    const steps = await allSettled(h, event.patientId as string, 3);
    expect(steps.map((step) => step.state)).toEqual(['SENT', 'SENT', 'SENT']);

    const mail = h.receiver.accepted('/mail');
    expect(mail).toHaveLength(1);
    expect(mail[0]?.idempotencyKey).toBe(`${event.id}:welcome-email`);
    expect(mail[0]?.body.fields).toEqual({ patientId: event.patientId, firstName: 'Ada', email: 'ada@example.test' });
    expect(mail[0]?.body.text).toBe('Welcome, Ada');
    expect(h.receiver.accepted('/staff')[0]?.body.text).toBe('New patient Ada Lovelace');

    // Analytics gets the id and the event name, nothing that identifies the person.
    const analytics = h.receiver.received.filter((entry) => entry.path === '/analytics');
    expect(analytics).toHaveLength(1);
    expect(analytics[0]?.body.fields).toEqual({ patientId: event.patientId });
    const analyticsText = JSON.stringify(analytics);
    for (const value of ['Ada', 'Lovelace', 'ada@example.test', '+447700900123', '1815-12-10']) expect(analyticsText).not.toContain(value);
  });

  test('an event accepted twice, and outbox messages handed out twice, send nothing twice', async () => {
    const h = await harness({ replicas: 2 });
    const event = patientCreated();
    await Promise.all([h.engines[0]?.accept(event), h.engines[1]?.accept(event)]);
    const steps = await allSettled(h, event.patientId as string, 3);
    // Every step handed out again after it was sent: a redelivered outbox message.
    for (const step of steps) await h.bus.publish({ topic: CASCADE_OUTBOX_TOPIC, type: 'cascade.step.due', payload: { id: step.id } });
    await h.engine.accept(event);
    // The extra messages have been consumed once the group has caught up with a marker behind them.
    const marker = patientCreated();
    await h.engine.accept(marker);
    await allSettled(h, marker.patientId as string, 3);

    const keys = h.receiver.received.filter((entry) => entry.idempotencyKey.startsWith(event.id)).map((entry) => entry.idempotencyKey);
    expect(keys.sort()).toEqual([`${event.id}:analytics-event`, `${event.id}:staff-notification`, `${event.id}:welcome-email`]);
  });

  test('a 429 with Retry-After is not tried again before the time it asked for', async () => {
    const h = await harness();
    h.receiver.plan('/mail', [{ status: 429, headers: { 'retry-after': '2' } }]);
    const event = patientCreated();
    await h.engine.accept(event);
    const failed = await until(async () => {
      const step = (await h.stepsOf(event.patientId as string))['welcome-email'];
      return step?.state === 'FAILED' && step;
    }, 'the first attempt to fail');
    expect(failed.attempts).toBe(1);
    expect(failed.lastError).toMatchObject({ code: 'HTTP_429', httpStatus: 429 });

    await allSettled(h, event.patientId as string, 3);
    const attempts = h.receiver.received.filter((entry) => entry.path === '/mail');
    expect(attempts).toHaveLength(2);
    // Without Retry-After the backoff here is at most 200 ms; the vendor asked for 2 s.
    expect((attempts[1]?.at ?? 0) - (attempts[0]?.at ?? 0)).toBeGreaterThanOrEqual(2000);
    expect((await h.stepsOf(event.patientId as string))['welcome-email']).toMatchObject({ state: 'SENT', attempts: 2, lastError: null });
  });

  test('a connector failing for a while opens its breaker, its steps wait, and it gets every step once it recovers', async () => {
    const h = await harness();
    h.receiver.down('/staff');
    const events = [patientCreated(), patientCreated(), patientCreated(), patientCreated(), patientCreated()];
    for (const event of events) await h.engine.accept(event);

    // Three consecutive failures open the breaker; the steps then wait on it instead of burning attempts.
    await until(() => h.engine.breakerState('staff') === 'open', 'the staff breaker to open');
    const waiting = await until(async () => {
      const steps = await Promise.all(events.map(async (event) => (await h.stepsOf(event.patientId as string))['staff-notification']));
      return steps.some((step) => step?.lastError?.code === 'CIRCUIT_OPEN') && steps;
    }, 'a step to wait on the open breaker');
    expect(waiting.every((step) => step?.state !== 'DEAD')).toBe(true);
    // The other connectors are not held up by this one.
    await until(() => h.receiver.accepted('/mail').length === events.length, 'every welcome email');

    h.receiver.up('/staff');
    for (const event of events) await allSettled(h, event.patientId as string, 3);
    for (const event of events) expect((await h.stepsOf(event.patientId as string))['staff-notification']?.state).toBe('SENT');
    const delivered = h.receiver.accepted('/staff').map((entry) => entry.idempotencyKey).sort();
    expect(delivered).toEqual(events.map((event) => `${event.id}:staff-notification`).sort());
    expect(h.engine.breakerState('staff')).toBe('closed');
  });

  test('a connector that stays down ends in dead letters, and redrive delivers each of them once', async () => {
    // A breaker that never opens here, so the attempts run out.
    const h = await harness({ file: { ...FILE, delivery: { ...DELIVERY, breakerThreshold: 100 } } });
    h.receiver.down('/staff');
    const events = [patientCreated(), patientCreated()];
    for (const event of events) await h.engine.accept(event);
    for (const event of events) await allSettled(h, event.patientId as string, 3);

    const dead = await h.store.dead(100);
    expect(dead.map((step) => step.id).sort()).toEqual(events.map((event) => `${event.id}:staff-notification`).sort());
    expect(dead.every((step) => step.attempts === DELIVERY.maxAttempts && step.lastError?.code === 'HTTP_503')).toBe(true);
    expect(h.receiver.received.filter((entry) => entry.path === '/staff')).toHaveLength(events.length * DELIVERY.maxAttempts);

    // The connector is back: redrive puts the dead steps back, and each is delivered once.
    h.receiver.up('/staff');
    const redriven = await h.engine.redrive();
    expect(redriven.map((step) => step.id).sort()).toEqual(dead.map((step) => step.id).sort());
    for (const event of events) await allSettled(h, event.patientId as string, 3);
    expect(await h.store.dead(100)).toEqual([]);
    for (const event of events) expect((await h.stepsOf(event.patientId as string))['staff-notification']).toMatchObject({ state: 'SENT', redrives: 1, attempts: 1 });
    expect(h.receiver.accepted('/staff').map((entry) => entry.idempotencyKey).sort()).toEqual(dead.map((step) => step.id).sort());
    // A second redrive finds nothing dead and sends nothing.
    expect(await h.engine.redrive()).toEqual([]);
  });

  test('an answer that retrying cannot fix (a 400) sends the step to the dead letters at once', async () => {
    const h = await harness();
    h.receiver.plan('/mail', [{ status: 400 }]);
    const event = patientCreated();
    await h.engine.accept(event);
    await allSettled(h, event.patientId as string, 3);
    expect((await h.stepsOf(event.patientId as string))['welcome-email']).toMatchObject({ state: 'DEAD', attempts: 1, lastError: { code: 'HTTP_400' } });
  });

  test('a switched-off step or connector is recorded as skipped and sends nothing', async () => {
    const file = {
      ...FILE,
      connectors: { ...FILE.connectors, staff: { ...FILE.connectors.staff, enabled: false } },
      steps: FILE.steps.map((step) => (step.name === 'welcome-email' ? { ...step, enabled: false } : step)),
    };
    const h = await harness({ file });
    const event = patientCreated();
    await h.engine.accept(event);
    await allSettled(h, event.patientId as string, 3);
    const steps = await h.stepsOf(event.patientId as string);
    expect(steps['welcome-email']).toMatchObject({ state: 'SKIPPED', lastError: { code: 'STEP_DISABLED' } });
    expect(steps['staff-notification']).toMatchObject({ state: 'SKIPPED', lastError: { code: 'CONNECTOR_DISABLED' } });
    expect(steps['analytics-event']?.state).toBe('SENT');
    expect(h.receiver.received.map((entry) => entry.path)).toEqual(['/analytics']);
  });

  test('every state change is published on cascade-steps without field values', async () => {
    const h = await harness();
    const seen: unknown[] = [];
    const unsubscribe = await h.bus.subscribe(CASCADE_STEPS_TOPIC, {}, (event) => {
      seen.push(event.payload);
    });
    cleanups.push(unsubscribe);
    const event = patientCreated();
    await h.engine.accept(event);
    await allSettled(h, event.patientId as string, 3);
    await until(() => seen.filter((payload) => (payload as { state: string }).state === 'SENT').length === 3, 'three SENT changes');
    expect(seen.filter((payload) => (payload as { step: string }).step === 'welcome-email').map((payload) => (payload as { state: string }).state)).toEqual(['PENDING', 'SENT']);
    const text = JSON.stringify(seen);
    for (const value of ['Ada', 'Lovelace', 'ada@example.test']) expect(text).not.toContain(value);
  });
});

describe('marketing consent (the CRM contact in the HubSpot emulator)', () => {
  beforeAll(() => {
    variant = 'memory';
  });
  const world = createSeedWorld({ patients: 40 });
  let hubspot: Listening;
  beforeAll(async () => {
    hubspot = await startEmulator(hubspotEntrypoint, { PORT: '0', HUBSPOT_TOKEN: 'consent-test-token' }, { world });
  });
  afterAll(() => hubspot.stop());

  const MARKETING_FILE = {
    connectors: { mailchimp: { kind: 'mailchimp', fields: ['patientId', 'email'] } },
    steps: [{ name: 'marketing-sequence', on: 'patient.created', connector: 'mailchimp', marketing: true, stage: 'short-term', delayMs: 50 }],
    delivery: DELIVERY,
  };

  test('a marketing step is sent only with consent, skipped without, and skipped after waiting when there is no contact', async () => {
    const consenting = world.contacts.find((contact) => contact.marketingConsent);
    const refusing = world.contacts.find((contact) => !contact.marketingConsent);
    if (!consenting || !refusing) throw new Error('the seed has no contact with (or without) consent');
    const consent = createHubSpotConsentLookup(createHubSpotClient({ baseUrl: hubspot.url, token: 'consent-test-token' }));
    const h = await harness({ file: MARKETING_FILE, consent });
    const withConsent = patientCreated({ patientId: consenting.patientId, id: `semble:patient:${consenting.patientId}:created` });
    const withoutConsent = patientCreated({ patientId: refusing.patientId, id: `semble:patient:${refusing.patientId}:created` });
    const noContact = patientCreated({ patientId: 'not-in-the-crm', id: 'semble:patient:not-in-the-crm:created' });
    for (const event of [withConsent, withoutConsent, noContact]) await h.engine.accept(event);
    for (const event of [withConsent, withoutConsent, noContact]) await allSettled(h, event.patientId as string, 1);

    expect((await h.stepsOf(consenting.patientId))['marketing-sequence']?.state).toBe('SENT');
    expect((await h.stepsOf(refusing.patientId))['marketing-sequence']).toMatchObject({ state: 'SKIPPED', lastError: { code: 'NO_MARKETING_CONSENT' }, attempts: 0 });
    expect((await h.stepsOf('not-in-the-crm'))['marketing-sequence']).toMatchObject({ state: 'SKIPPED', lastError: { code: 'NO_CRM_CONTACT' }, attempts: 0 });
    expect(h.receiver.received.map((entry) => entry.idempotencyKey)).toEqual([`${withConsent.id}:marketing-sequence`]);
  });
});
