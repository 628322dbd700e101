/**
 * The payments subgraph's vendor cache, as one suite against memory and a real Redis (with the
 * bus in the same place: the stack's memory bus handed in, or Redis Streams from REDIS_URL),
 * measured at the Stripe and GoCardless emulators' request counters: a repeated question costs
 * the vendors nothing, a larger one searches Stripe only for what is not held, a change the sync
 * service announces on `entity-changes` is visible in the next answer (Stripe's per patient,
 * GoCardless's for the whole listing, neither evicting the other's), a read in flight during the
 * eviction does not put the old value back, an error is never kept, entries expire, and
 * VENDOR_CACHE_ENABLED=false asks the vendors every time. Then what only Redis adds (instances
 * share entries), and the bus over HTTP that `npm start` gives the subgraph.
 */
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import pino from 'pino';
import { ENTITY_CHANGES_TOPIC, readEntityChanges } from '../../../lib/entity-changes';
import type { EntityRef } from '../../../lib/entity-changes';
import { createMemoryEventBus, createRedisEventBus } from '../../../lib/event-bus';
import type { EventBus } from '../../../lib/event-bus';
import { REDIS_URL, deleteKeys } from '../../../lib/event-bus/test/redis-keys';
import { serveBusOverHttp } from '../../../lib/event-bus/test/serve-bus';
import { waitFor } from '../../../lib/event-bus/test/wait-for';
import { listen } from '../../../lib/listen';
import type { Listening } from '../../../lib/listen';
import { freePort } from '../../../lib/stack/patient-graph';
import { asGateway, TEST_INTERNAL_TOKEN_SECRET } from '../../../lib/test/as-gateway';
import { loadPaymentsConfig } from '../src/config';
import { GOCARDLESS_LISTINGS_TAG } from '../src/gocardless-loaders';
import { createServer } from '../src/server';
import type { PaymentsServerDeps } from '../src/server';
import { evictionTags } from '../src/vendor-cache-invalidation';
import { GOCARDLESS_TEST_TOKEN, TEST_KEY, startPaymentsStack } from './payments-stack';
import type { PaymentsStack } from './payments-stack';

const PATIENTS = 60;
/** Long enough that nothing expires during a test unless the test asks for it. */
const LONG_TTL = { VENDOR_CACHE_TTL_MS: '600000' };
const SEARCHES = 'GET /v1/payment_intents/search';
const SUBSCRIPTION_SEARCHES = 'GET /v1/subscriptions/search';
const GOCARDLESS_LISTINGS = { 'GET /payments': 1, 'GET /customers': 1, 'GET /mandates': 1 };

const OVERVIEW = `query ($r: [_Any!]!) { _entities(representations: $r) {
  ... on Patient { id payments { id provider status } subscriptions { id } mandates { id status } }
} }`;
const PAYMENTS_ONLY = `query ($r: [_Any!]!) { _entities(representations: $r) { ... on Patient { id payments { id provider status } } } }`;
type PatientAnswer = { id: string; payments: Array<{ id: string; provider: string; status: string }>; mandates?: Array<{ id: string; status: string }> };

const patients = (ids: readonly string[]) => ({ r: ids.map((id) => ({ __typename: 'Patient', id })) });
const ask = (stack: PaymentsStack, ids: readonly string[], query = OVERVIEW) => stack.query<{ _entities: PatientAnswer[] }>(query, patients(ids));

/** Where a variant keeps the cache and the bus, and the bus the test publishes on. */
interface Placement {
  env: NodeJS.ProcessEnv;
  /** Handed to the subgraph (the in-process stack's way); absent: it connects from `env`. */
  handedIn?: EventBus;
  publisher: EventBus;
  close(): Promise<void>;
}

const runId = `${process.pid}:${randomBytes(4).toString('hex')}`;
const redisPrefix = `pg:test:vendor-cache:${runId}:`;
const sharedKey = randomBytes(32).toString('hex');
afterAll(() => deleteKeys(redisPrefix));

const VARIANTS: Array<[string, () => Promise<Placement>]> = [
  [
    'memory',
    async () => {
      const bus = createMemoryEventBus();
      return { env: {}, handedIn: bus, publisher: bus, close: () => bus.close() };
    },
  ],
  [
    'redis',
    async () => {
      // A prefix per stack: nothing one test stores is found by the next.
      const prefix = `${redisPrefix}${randomBytes(4).toString('hex')}:`;
      const env = {
        REDIS_URL,
        BUS_KEY_PREFIX: `${prefix}bus:`,
        VENDOR_CACHE_KEY_PREFIX: `${prefix}cache`,
        VENDOR_CACHE_KEY: sharedKey,
        // A loaded test machine must not turn a slow Redis answer into a vendor request.
        VENDOR_CACHE_TIMEOUT_MS: '2000',
      };
      const publisher = await createRedisEventBus({ url: REDIS_URL, keyPrefix: env.BUS_KEY_PREFIX });
      return { env, publisher, close: () => publisher.close() };
    },
  ],
];

interface CachedPayments {
  stack: PaymentsStack;
  /** Publishes entity-changes as the sync service would and waits until the subgraph applied it. */
  announce(entities: EntityRef[], source: string): Promise<void>;
  stripe(): Promise<Record<string, number>>;
  goCardless(): Promise<Record<string, number>>;
}

describe('what an entity-changes event evicts', () => {
  const tagsOf = (entities: EntityRef[], source?: string) => evictionTags({ entities, source });

  it('evicts every entity it names by its tag, and leaves the GoCardless listings to GoCardless changes', () => {
    expect(tagsOf([{ type: 'Payment', id: 'pi_1' }, { type: 'Invoice', id: '77' }, { type: 'Patient', id: '12' }], 'stripe')).toEqual(['Payment:pi_1', 'Invoice:77', 'Patient:12']);
    expect(tagsOf([{ type: 'Payment', id: 'pi_1' }], 'stripe')).toEqual(['Payment:pi_1']);
    expect(tagsOf([{ type: 'Patient', id: '12' }], 'semble')).toEqual(['Patient:12']);
  });

  it('evicts the GoCardless listings for a change from GoCardless or naming a GoCardless payment or mandate', () => {
    expect(tagsOf([{ type: 'Payment', id: 'PM0001' }, { type: 'Invoice', id: '77' }, { type: 'Patient', id: '12' }], 'gocardless')).toEqual([
      'Payment:PM0001',
      'Invoice:77',
      'Patient:12',
      GOCARDLESS_LISTINGS_TAG,
    ]);
    expect(tagsOf([{ type: 'Invoice', id: '77' }], 'gocardless')).toEqual(['Invoice:77', GOCARDLESS_LISTINGS_TAG]);
    expect(tagsOf([{ type: 'Payment', id: 'PM0001' }])).toEqual(['Payment:PM0001', GOCARDLESS_LISTINGS_TAG]);
    expect(tagsOf([{ type: 'Mandate', id: 'MD0001' }])).toEqual(['Mandate:MD0001', GOCARDLESS_LISTINGS_TAG]);
  });

  it('reads what it can of a malformed payload', () => {
    expect(evictionTags(readEntityChanges({ entities: [{ type: 'Patient', id: 12 }, { type: 3, id: '4' }, null, 'x'], source: 7 }))).toEqual(['Patient:12']);
    expect(evictionTags(readEntityChanges('not an object'))).toEqual([]);
  });
});

describe.each(VARIANTS)('the vendor cache in %s', (_name, place) => {
  const disposers: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const dispose of disposers.splice(0).reverse()) await dispose();
  });

  async function start(env: NodeJS.ProcessEnv = {}): Promise<CachedPayments> {
    const placement = await place();
    disposers.push(() => placement.close());
    /** Cursors of the entity-changes events the subgraph has applied. */
    const applied: string[] = [];
    const stack = await startPaymentsStack({
      patients: PATIENTS,
      env: { ...placement.env, ...LONG_TTL, ...env },
      deps: { ...(placement.handedIn ? { bus: placement.handedIn } : {}), onEntityChanges: (event) => applied.push(event.cursor) },
    });
    disposers.push(() => stack.stop());
    return {
      stack,
      async announce(entities, source) {
        const event = await placement.publisher.publish({ topic: ENTITY_CHANGES_TOPIC, type: 'entities.changed', payload: { entities, source } });
        await waitFor('the subgraph to apply the entity changes', () => applied.includes(event.cursor));
      },
      async stripe() {
        return (await stack.vendorRequests()).byRoute;
      },
      async goCardless() {
        return (await stack.goCardlessRequests()).byRoute;
      },
    };
  }

  it('answers a repeated question without asking Stripe or GoCardless again', async () => {
    const { stack, stripe, goCardless } = await start();
    const ids = stack.world.patients.slice(0, 5).map((p) => p.id);
    const first = await ask(stack, ids);
    expect(first.errors).toBeUndefined();
    expect(await stripe()).toEqual({ [SEARCHES]: 1, [SUBSCRIPTION_SEARCHES]: 1 });
    expect(await goCardless()).toEqual(GOCARDLESS_LISTINGS);

    await stack.resetVendorRequests();
    const second = await ask(stack, ids);
    expect(second).toEqual(first);
    expect(await stripe()).toEqual({});
    expect(await goCardless()).toEqual({});
  });

  it('searches Stripe only for the patients it does not hold, and answers each from the right records', async () => {
    const { stack, stripe, goCardless } = await start();
    const { world } = stack;
    const ids = world.patients.slice(0, 30).map((p) => p.id);
    await ask(stack, ids.slice(0, 10));

    await stack.resetVendorRequests();
    const result = await ask(stack, ids);
    expect(result.errors).toBeUndefined();
    // 20 patients not held: two searches of 10 per field, where all 30 would take three.
    expect(await stripe()).toEqual({ [SEARCHES]: 2, [SUBSCRIPTION_SEARCHES]: 2 });
    expect(await goCardless()).toEqual({});
    // Held and searched answers back in the order asked, each patient with their own payments.
    expect(result.data!._entities.map((patient) => patient.id)).toEqual(ids);
    for (const patient of result.data!._entities) {
      const expected = [
        ...world.paymentIntents.filter((intent) => intent.patientId === patient.id).map((intent) => intent.id),
        ...world.goCardlessPayments.filter((payment) => payment.patientId === patient.id).map((payment) => payment.id),
      ];
      expect(patient.payments.map((payment) => payment.id).sort()).toEqual(expected.sort());
    }
  });

  it("shows a Stripe change once entity-changes names the payment, evicting only the searches it is in (not the GoCardless listings)", async () => {
    const { stack, announce, stripe, goCardless } = await start();
    const intent = stack.world.paymentIntents.find((candidate) => candidate.patientId && !['succeeded', 'canceled'].includes(candidate.status))!;
    const statusOf = async () => (await ask(stack, [intent.patientId!])).data!._entities[0]!.payments.find((payment) => payment.id === intent.id)!.status;
    const before = await statusOf();
    expect(before).not.toBe('SUCCEEDED');

    await transitionStripe(stack, intent.id, 'succeeded');
    // Until the change is announced, the cache answers (the TTL bounds how long).
    expect(await statusOf()).toBe(before);

    // What Stripe's webhook names, as ingress announces it before the worker has re-read anything.
    await announce([{ type: 'Payment', id: intent.id }], 'stripe');
    await stack.resetVendorRequests();
    expect(await statusOf()).toBe('SUCCEEDED');
    // The patient's payments are searched again; their subscriptions and GoCardless are kept.
    expect(await stripe()).toEqual({ [SEARCHES]: 1 });
    expect(await goCardless()).toEqual({});
  });

  it('lists GoCardless again after a GoCardless change, and keeps the Stripe searches of patients it does not name', async () => {
    const { stack, announce, stripe, goCardless } = await start();
    const payment = stack.world.goCardlessPayments.find((candidate) => ['pending_submission', 'pending_customer_approval', 'submitted'].includes(candidate.status))!;
    const statusOf = async () => (await ask(stack, [payment.patientId])).data!._entities[0]!.payments.find((found) => found.id === payment.id)!.status;
    expect(await statusOf()).not.toBe('SUCCEEDED');

    await transitionGoCardless(stack, payment.id, 'paid_out');
    // What GoCardless's webhook names, as ingress announces it before anything is re-read.
    await announce(
      [
        { type: 'Payment', id: payment.id },
        { type: 'Mandate', id: payment.mandateId },
      ],
      'gocardless',
    );
    await stack.resetVendorRequests();
    expect(await statusOf()).toBe('SUCCEEDED');
    expect(await goCardless()).toEqual(GOCARDLESS_LISTINGS);
    expect(await stripe()).toEqual({});
  });

  it('does not keep what a read in flight brought back from before a change announced meanwhile', async () => {
    const gate = await startSearchGate();
    disposers.push(() => gate.stop());
    const { stack, announce } = await start({ STRIPE_BASE_URL: gate.url });
    gate.target = stack.emulator.url;
    const intent = stack.world.paymentIntents.find((candidate) => candidate.patientId && !['succeeded', 'canceled'].includes(candidate.status))!;
    const statusOf = (result: { data?: { _entities: PatientAnswer[] } | null }) => result.data!._entities[0]!.payments.find((found) => found.id === intent.id)!.status;

    // The search has read Stripe; its answer is held back while the payment changes and the
    // change is announced.
    const held = gate.holdNext();
    const inFlight = ask(stack, [intent.patientId!], PAYMENTS_ONLY);
    await held.read;
    await transitionStripe(stack, intent.id, 'succeeded');
    await announce([{ type: 'Patient', id: intent.patientId! }], 'stripe');
    held.release();
    expect(statusOf(await inFlight)).not.toBe('SUCCEEDED');

    expect(statusOf(await ask(stack, [intent.patientId!], PAYMENTS_ONLY))).toBe('SUCCEEDED');
  });

  it('never keeps an error: only what failed is asked again, and the answer is whole', async () => {
    const { stack, stripe, goCardless } = await start();
    const ids = stack.world.patients.slice(0, 20).map((p) => p.id);
    // One of the two searches fails (a 500 is not retried), and the GoCardless payments listing.
    await injectFault(stack.emulator.url, { status: 500, times: 1, pathPrefix: '/v1/payment_intents/search' });
    await injectFault(stack.goCardless.url, { status: 500, times: 1, pathPrefix: '/payments' });
    const failed = await ask(stack, ids, PAYMENTS_ONLY);
    expect(failed.errors?.map((error) => error.extensions?.vendor)).toEqual(expect.arrayContaining(['stripe', 'gocardless']));

    await stack.resetVendorRequests();
    const again = await ask(stack, ids, PAYMENTS_ONLY);
    expect(again.errors).toBeUndefined();
    expect(await stripe()).toEqual({ [SEARCHES]: 1 });
    expect(await goCardless()).toEqual({ 'GET /payments': 1 });
  });

  it('forgets an entry after VENDOR_CACHE_TTL_MS', async () => {
    const { stack, stripe } = await start({ VENDOR_CACHE_TTL_MS: '200' });
    const ids = [stack.world.patients[0]!.id];
    await ask(stack, ids, PAYMENTS_ONLY);
    await waitFor('a search once the entry has expired', async () => {
      await stack.resetVendorRequests();
      await ask(stack, ids, PAYMENTS_ONLY);
      return (await stripe())[SEARCHES] === 1;
    });
  });

  it('asks the vendors every time with VENDOR_CACHE_ENABLED=false', async () => {
    const { stack, stripe, goCardless } = await start({ VENDOR_CACHE_ENABLED: 'false' });
    const ids = stack.world.patients.slice(0, 5).map((p) => p.id);
    for (let round = 0; round < 2; round++) {
      await stack.resetVendorRequests();
      expect((await ask(stack, ids)).errors).toBeUndefined();
      expect(await stripe()).toEqual({ [SEARCHES]: 1, [SUBSCRIPTION_SEARCHES]: 1 });
      expect(await goCardless()).toEqual(GOCARDLESS_LISTINGS);
    }
  });
});

describe('the vendor cache in Redis, shared by the instances of the subgraph', () => {
  const disposers: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const dispose of disposers.splice(0).reverse()) await dispose();
  });

  it('answers one instance from what another stored, and an event evicts for both', async () => {
    const prefix = `${redisPrefix}shared:`;
    const env = { REDIS_URL, BUS_KEY_PREFIX: `${prefix}bus:`, VENDOR_CACHE_KEY_PREFIX: `${prefix}cache`, VENDOR_CACHE_KEY: sharedKey, VENDOR_CACHE_TIMEOUT_MS: '2000', ...LONG_TTL };
    const applied = { a: [] as string[], b: [] as string[] };
    const stack = await startPaymentsStack({ patients: PATIENTS, env, deps: { onEntityChanges: (event) => applied.a.push(event.cursor) } });
    disposers.push(() => stack.stop());
    const second = await createServer(
      loadPaymentsConfig({
        ...env,
        PORT: '0',
        STRIPE_BASE_URL: stack.emulator.url,
        STRIPE_SECRET_KEY: TEST_KEY,
        GOCARDLESS_BASE_URL: stack.goCardless.url,
        GOCARDLESS_ACCESS_TOKEN: GOCARDLESS_TEST_TOKEN,
        INTERNAL_TOKEN_SECRET: TEST_INTERNAL_TOKEN_SECRET,
      }),
      { onEntityChanges: (event) => applied.b.push(event.cursor) },
    );
    disposers.push(() => second.stop());
    const askSecond = async (ids: string[]) => {
      const response = await fetch(second.graphqlUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(await asGateway('payments')) },
        body: JSON.stringify({ query: OVERVIEW, variables: patients(ids) }),
      });
      return (await response.json()) as { data?: { _entities: PatientAnswer[] }; errors?: unknown[] };
    };
    const ids = stack.world.patients.slice(0, 5).map((p) => p.id);
    const fromFirst = await ask(stack, ids);

    await stack.resetVendorRequests();
    expect(await askSecond(ids)).toEqual(fromFirst);
    expect([(await stack.vendorRequests()).byRoute, (await stack.goCardlessRequests()).byRoute]).toEqual([{}, {}]);

    const publisher = await createRedisEventBus({ url: REDIS_URL, keyPrefix: env.BUS_KEY_PREFIX });
    disposers.push(() => publisher.close());
    const event = await publisher.publish({ topic: ENTITY_CHANGES_TOPIC, type: 'entities.changed', payload: { entities: [{ type: 'Patient', id: ids[0] }], source: 'semble' } });
    await waitFor('both instances to apply the entity changes', () => applied.a.includes(event.cursor) && applied.b.includes(event.cursor));
    await askSecond(ids);
    expect((await stack.vendorRequests()).byRoute).toEqual({ [SEARCHES]: 1, [SUBSCRIPTION_SEARCHES]: 1 });
  });
});

describe('the bus the subgraph follows without Redis', () => {
  const disposers: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const dispose of disposers.splice(0).reverse()) await dispose();
  });

  it('follows the sync service bus over HTTP (BUS_URL, BUS_TOKEN), also when that bus comes up after the subgraph', async () => {
    const token = randomBytes(16).toString('hex');
    const port = await freePort();
    const applied: string[] = [];
    const stack = await startPaymentsStack({
      patients: PATIENTS,
      env: { BUS_URL: `http://127.0.0.1:${port}/bus`, BUS_TOKEN: token, ...LONG_TTL },
      deps: { onEntityChanges: (event) => applied.push(event.cursor) },
    });
    disposers.push(() => stack.stop());
    const patient = stack.world.paymentIntents.find((intent) => intent.patientId)!.patientId!;
    await stack.query(PAYMENTS_ONLY, patients([patient]));

    // The sync service starts after the subgraphs under `npm start`: the subgraph keeps trying.
    const bus = createMemoryEventBus();
    disposers.push(() => bus.close());
    const served = await serveBusOverHttp(bus, { token, port });
    disposers.push(() => served.stop());
    // Events before the subgraph follows are not for it: announce until one is applied.
    await waitFor(
      'the subgraph to follow the bus',
      async () => {
        await bus.publish({ topic: ENTITY_CHANGES_TOPIC, type: 'entities.changed', payload: { entities: [{ type: 'Patient', id: patient }], source: 'stripe' } });
        return applied.length > 0;
      },
      30_000,
    );
    await stack.resetVendorRequests();
    await stack.query(PAYMENTS_ONLY, patients([patient]));
    expect((await stack.vendorRequests()).byRoute).toEqual({ [SEARCHES]: 1 });
  });

  it('says once, at start, that without a bus entries only expire', async () => {
    const lines: string[] = [];
    const logger = pino({ level: 'info' }, { write: (line: string) => lines.push(line) });
    const stack = await startPaymentsStack({ patients: 10, deps: { logger } satisfies PaymentsServerDeps });
    disposers.push(() => stack.stop());
    await stack.query(PAYMENTS_ONLY, patients([stack.world.patients[0]!.id]));
    const warnings = lines.map((line) => JSON.parse(line) as { level: number; msg: string }).filter((line) => /no event bus/.test(line.msg));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]!.level).toBe(40);
  });
});

/** An emulator's admin route: a vendor's user changing a record, or a fault to inject. */
async function postAdmin(url: string, body: object, expectedStatus: number): Promise<void> {
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  expect(response.status).toBe(expectedStatus);
}

const transitionStripe = (stack: PaymentsStack, id: string, status: string) => postAdmin(`${stack.emulator.url}/__admin/payment_intents/${id}/transition`, { status }, 200);
const transitionGoCardless = (stack: PaymentsStack, id: string, status: string) => postAdmin(`${stack.goCardless.url}/__admin/payments/${id}/transition`, { status }, 200);
const injectFault = (emulatorUrl: string, fault: Record<string, unknown>) => postAdmin(`${emulatorUrl}/__admin/faults`, fault, 204);

/**
 * A pass-through to the Stripe emulator that can hold back the answer of the next payment
 * search: the search has read Stripe, and its answer arrives only on release().
 */
async function startSearchGate(): Promise<{ url: string; target: string; holdNext(): { read: Promise<void>; release(): void }; stop(): Promise<void> }> {
  let hold: { read: () => void; released: Promise<void> } | undefined;
  const gate = {
    url: '',
    target: '',
    holdNext() {
      let read!: () => void;
      let release!: () => void;
      const readPromise = new Promise<void>((resolve) => (read = resolve));
      hold = { read, released: new Promise<void>((resolve) => (release = resolve)) };
      return { read: readPromise, release };
    },
    stop: async () => undefined as void,
  };
  const server = http.createServer((req, res) => {
    void (async () => {
      const upstream = await fetch(`${gate.target}${req.url}`, { method: req.method, headers: { authorization: req.headers.authorization ?? '' } });
      const body = Buffer.from(await upstream.arrayBuffer());
      const held = req.url?.startsWith('/v1/payment_intents/search') ? hold : undefined;
      if (held) {
        hold = undefined;
        held.read();
        await held.released;
      }
      res.writeHead(upstream.status, { 'content-type': upstream.headers.get('content-type') ?? 'application/json' });
      res.end(body);
    })();
  });
  const listening: Listening = await listen(server);
  gate.url = listening.url;
  gate.stop = () => listening.stop();
  return gate;
}
