/**
 * A new Stripe payment, end to end over HTTP: created in the Stripe emulator
 * (`POST /v1/payment_intents`), whose signed `payment_intent.created` reaches the sync service's
 * webhook ingress; the worker (consuming the inbox) re-reads the intent and records its state on
 * the invoice, and the payments subgraph (on the same bus, with its vendor cache) serves
 * Payment.status. A new payment is PENDING in both, never FAILED; a declined attempt makes it
 * FAILED in both; success makes it PAID on the invoice and SUCCEEDED as a payment.
 *
 * Every wait is for an event: the worker's PAYMENT_SYNCED for the patient on `sync-events`, and
 * the payments subgraph saying it applied the worker's `entity-changes` (so its cache holds
 * nothing older). Deadlines only bound a wait; nothing is timed.
 */
import { ENTITY_CHANGES_TOPIC, readEntityChanges } from '../lib/entity-changes';
import { createMemoryEventBus } from '../lib/event-bus';
import type { BusEvent, EventBus } from '../lib/event-bus';
import { createLogger } from '../lib/logger';
import { createSeedWorld } from '../lib/seed';
import type { SeedWorld } from '../lib/seed';
import { freePort } from '../lib/stack/patient-graph';
import type { RunningSubgraph } from '../lib/subgraph';
import { asGateway, TEST_INTERNAL_TOKEN_SECRET } from '../lib/test/as-gateway';
import { readDeliveries } from '../lib/webhooks/recording-receiver';
import { startGoCardlessEmulator } from '../subgraphs/payments/emulator/gocardless';
import type { GoCardlessEmulator } from '../subgraphs/payments/emulator/gocardless';
import { startStripeEmulator } from '../subgraphs/payments/emulator/server';
import type { StripeEmulator } from '../subgraphs/payments/emulator/server';
import { loadPaymentsConfig } from '../subgraphs/payments/src/config';
import { createServer as createPaymentsServer } from '../subgraphs/payments/src/server';
import { loadSyncConfig } from '../subgraphs/sync/src/config';
import { INBOX_TOPIC, SYNC_EVENTS_TOPIC } from '../subgraphs/sync/src/inbox';
import type { InboxPayload, SyncEventPayload } from '../subgraphs/sync/src/inbox';
import { createServer as createSyncServer } from '../subgraphs/sync/src/server';
import type { SyncServer } from '../subgraphs/sync/src/server';

const STRIPE_KEY = 'sk_test_payment_status';
const STRIPE_WEBHOOK_SECRET = 'whsec_payment_status_test';
const GOCARDLESS_TOKEN = 'gocardless-payment-status';
/** A bound on each wait, generous for a loaded two-core machine; never a duration under test. */
const DEADLINE_MS = 20_000;

/** A topic's live events in arrival order, and a wait for the first one from a given index that matches. */
interface Watch {
  events: BusEvent[];
  next(what: string, from: number, match: (event: BusEvent) => boolean): Promise<BusEvent>;
}

async function watchTopic(bus: EventBus, topic: string, stops: Array<() => Promise<void>>): Promise<Watch> {
  const events: BusEvent[] = [];
  let wake: Array<() => void> = [];
  stops.push(
    await bus.subscribe(topic, {}, (event) => {
      events.push(event);
      for (const waiter of wake.splice(0)) waiter();
    }),
  );
  return {
    events,
    next(what, from, match) {
      return new Promise((resolve, reject) => {
        const deadline = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), DEADLINE_MS);
        const check = () => {
          const found = events.slice(from).find(match);
          if (found) {
            clearTimeout(deadline);
            resolve(found);
          } else {
            wake.push(check);
          }
        };
        check();
      });
    },
  };
}

let world: SeedWorld;
let bus: EventBus;
let stripe: StripeEmulator;
let goCardless: GoCardlessEmulator;
let sync: SyncServer;
let payments: RunningSubgraph;
let syncEvents: Watch;
let entityChanges: Watch;
/** Cursors of the entity-changes events the payments subgraph has applied to its vendor cache. */
const applied = new Set<string>();
let appliedWake: Array<() => void> = [];
const stops: Array<() => Promise<void>> = [];

beforeAll(async () => {
  world = createSeedWorld({ patients: 30, seed: 42 });
  bus = createMemoryEventBus();
  stops.push(() => bus.close());
  syncEvents = await watchTopic(bus, SYNC_EVENTS_TOPIC, stops);
  entityChanges = await watchTopic(bus, ENTITY_CHANGES_TOPIC, stops);

  // The sync service's port is chosen first: Stripe is told where to send its webhooks.
  const syncPort = await freePort();
  const syncOrigin = `http://127.0.0.1:${syncPort}`;
  stripe = await startStripeEmulator({
    world,
    token: STRIPE_KEY,
    webhook: { url: `${syncOrigin}/webhooks/stripe`, secret: STRIPE_WEBHOOK_SECRET, retryDelaysMs: [100, 300, 1000] },
  });
  stops.push(() => stripe.stop());
  goCardless = await startGoCardlessEmulator({ world, token: GOCARDLESS_TOKEN });
  stops.push(() => goCardless.stop());

  sync = await createSyncServer(
    loadSyncConfig({
      PORT: String(syncPort),
      PUBLIC_URL: syncOrigin,
      STRIPE_BASE_URL: stripe.url,
      STRIPE_SECRET_KEY: STRIPE_KEY,
      STRIPE_WEBHOOK_SECRET,
      GOCARDLESS_BASE_URL: goCardless.url,
      GOCARDLESS_ACCESS_TOKEN: GOCARDLESS_TOKEN,
      SYNC_WORKER_NAME: 'payment-status-test',
      // A try that failed on a loaded machine comes back soon rather than after 30 s.
      SYNC_WORKER_CLAIM_AFTER_MS: '500',
      INTERNAL_TOKEN_SECRET: TEST_INTERNAL_TOKEN_SECRET,
    }),
    { bus, logger: createLogger('sync', 'silent') },
  );
  stops.push(() => sync.stop());

  payments = await createPaymentsServer(
    loadPaymentsConfig({
      PORT: '0',
      STRIPE_BASE_URL: stripe.url,
      STRIPE_SECRET_KEY: STRIPE_KEY,
      GOCARDLESS_BASE_URL: goCardless.url,
      GOCARDLESS_ACCESS_TOKEN: GOCARDLESS_TOKEN,
      INTERNAL_TOKEN_SECRET: TEST_INTERNAL_TOKEN_SECRET,
    }),
    {
      bus,
      logger: createLogger('payments', 'silent'),
      onEntityChanges: (event) => {
        applied.add(event.cursor);
        for (const waiter of appliedWake.splice(0)) waiter();
      },
    },
  );
  stops.push(() => payments.stop());
});

afterAll(async () => {
  for (const stop of stops.splice(0).reverse()) await stop().catch(() => undefined);
});

function appliedToPaymentsCache(cursor: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const deadline = setTimeout(() => reject(new Error(`timed out waiting for the payments subgraph to apply entity-changes ${cursor}`)), DEADLINE_MS);
    const check = () => {
      if (applied.has(cursor)) {
        clearTimeout(deadline);
        resolve();
      } else {
        appliedWake.push(check);
      }
    };
    check();
  });
}

async function graphql<T>(subgraph: { graphqlUrl: string }, audience: string, query: string, variables: Record<string, unknown>): Promise<T> {
  const response = await fetch(subgraph.graphqlUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(await asGateway(audience)) },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await response.json()) as { data?: T; errors?: unknown[] };
  expect(body.errors).toBeUndefined();
  return body.data!;
}

/** What the worker recorded on the invoice, as the sync subgraph serves it. */
async function invoicePaymentState(invoiceId: string) {
  const data = await graphql<{ _entities: Array<{ paymentState: { state: string; provider: string; paymentId: string } | null }> }>(
    sync,
    'sync',
    'query ($r: [_Any!]!) { _entities(representations: $r) { ... on Invoice { paymentState { state provider paymentId } } } }',
    { r: [{ __typename: 'Invoice', id: invoiceId }] },
  );
  return data._entities[0]!.paymentState;
}

/** The invoice's payments, as the payments subgraph serves them. */
async function invoicePayments(invoiceId: string) {
  const data = await graphql<{ _entities: [{ payments: Array<{ id: string; status: string; providerStatus: string }> }] }>(
    payments,
    'payments',
    'query ($r: [_Any!]!) { _entities(representations: $r) { ... on Invoice { payments { id status providerStatus } } } }',
    { r: [{ __typename: 'Invoice', id: invoiceId }] },
  );
  return data._entities[0].payments;
}

/** The invoice's payments and the payment itself, as the payments subgraph serves them. */
async function paymentsView(invoiceId: string, paymentId: string) {
  const data = await graphql<{ _entities: [{ payments: Array<{ id: string; status: string; providerStatus: string }> }, { status: string; providerStatus: string }] }>(
    payments,
    'payments',
    'query ($r: [_Any!]!) { _entities(representations: $r) { ... on Invoice { payments { id status providerStatus } } ... on Payment { status providerStatus } } }',
    { r: [{ __typename: 'Invoice', id: invoiceId }, { __typename: 'Payment', id: paymentId }] },
  );
  const [invoice, payment] = data._entities;
  return { invoicePayments: invoice.payments, payment };
}

it('shows a new Stripe payment PENDING (not FAILED) in the worker and the payments subgraph, FAILED after a declined attempt, then paid', async () => {
  // An invoice of a patient with a Stripe customer and, so far, no payment at any provider.
  const taken = new Set([...world.paymentIntents, ...world.goCardlessPayments].map((payment) => payment.invoiceId));
  const customer = world.customers.find((candidate) => world.invoices.some((invoice) => invoice.patientId === candidate.patientId && !taken.has(invoice.id)))!;
  expect(customer).toBeDefined();
  const invoice = world.invoices.find((candidate) => candidate.patientId === customer.patientId && !taken.has(candidate.id))!;
  expect(await invoicePaymentState(invoice.id)).toBeNull();
  // Read once, so the payments subgraph's cache holds the empty answer the change must evict.
  expect(await invoicePayments(invoice.id)).toEqual([]);

  /** Waits for the worker's PAYMENT_SYNCED for the patient after `from`, then for the payments subgraph to have applied the worker's entity-changes. */
  const synced = async (from: { syncEvents: number; entityChanges: number }) => {
    await syncEvents.next('the worker to record the payment (PAYMENT_SYNCED)', from.syncEvents, (event) => {
      const payload = event.payload as SyncEventPayload;
      return payload.type === 'PAYMENT_SYNCED' && payload.patientId === customer.patientId;
    });
    // The worker's own event: it names the invoice (the ingress's names the payment only).
    const workers = await entityChanges.next('the worker’s entity-changes', from.entityChanges, (event) =>
      readEntityChanges(event.payload).entities.some((entity) => entity.type === 'Invoice' && entity.id === invoice.id),
    );
    await appliedToPaymentsCache(workers.cursor);
  };
  const mark = () => ({ syncEvents: syncEvents.events.length, entityChanges: entityChanges.events.length });

  // 1. Created: Stripe sends payment_intent.created carrying an intent awaiting a payment method.
  let from = mark();
  const response = await fetch(`${stripe.url}/v1/payment_intents`, {
    method: 'POST',
    headers: { authorization: `Bearer ${STRIPE_KEY}`, 'content-type': 'application/x-www-form-urlencoded', 'idempotency-key': `invoice-${invoice.id}` },
    body: new URLSearchParams({
      amount: String(Math.round(invoice.total * 100)),
      currency: 'gbp',
      customer: customer.id,
      'metadata[semble_patient_id]': customer.patientId,
      'metadata[semble_invoice_id]': invoice.id,
    }).toString(),
  });
  expect(response.status).toBe(200);
  const intent = (await response.json()) as { id: string; status: string; last_payment_error: unknown };
  expect(intent).toMatchObject({ status: 'requires_payment_method', last_payment_error: null });
  await synced(from);

  // The worker got it as payment_intent.created, through the signed webhook.
  const inbox = (await bus.read(INBOX_TOPIC, { limit: 1000 })).flatMap((event) => (event.payload as InboxPayload).items);
  expect(inbox).toContainEqual(expect.objectContaining({ vendor: 'stripe', type: 'payment_intent.created', objectId: intent.id }));
  expect(await readDeliveries(stripe.url)).toEqual([expect.objectContaining({ event: 'payment_intent.created', status: 'delivered', attempts: 1 })]);

  expect(await invoicePaymentState(invoice.id)).toEqual({ state: 'PENDING', provider: 'stripe', paymentId: intent.id });
  expect(await paymentsView(invoice.id, intent.id)).toEqual({
    invoicePayments: [{ id: intent.id, status: 'PENDING', providerStatus: 'requires_payment_method' }],
    payment: { status: 'PENDING', providerStatus: 'requires_payment_method' },
  });

  // 2. The first attempt is declined: back to requires_payment_method, now with last_payment_error.
  from = mark();
  const transition = (status: string) =>
    fetch(`${stripe.url}/__admin/payment_intents/${intent.id}/transition`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ status }) });
  expect((await transition('failed')).status).toBe(200);
  await synced(from);
  expect(await invoicePaymentState(invoice.id)).toEqual({ state: 'FAILED', provider: 'stripe', paymentId: intent.id });
  expect(await paymentsView(invoice.id, intent.id)).toEqual({
    invoicePayments: [{ id: intent.id, status: 'FAILED', providerStatus: 'requires_payment_method' }],
    payment: { status: 'FAILED', providerStatus: 'requires_payment_method' },
  });

  // 3. Another attempt succeeds.
  from = mark();
  expect((await transition('succeeded')).status).toBe(200);
  await synced(from);
  expect(await invoicePaymentState(invoice.id)).toEqual({ state: 'PAID', provider: 'stripe', paymentId: intent.id });
  expect(await paymentsView(invoice.id, intent.id)).toEqual({
    invoicePayments: [{ id: intent.id, status: 'SUCCEEDED', providerStatus: 'succeeded' }],
    payment: { status: 'SUCCEEDED', providerStatus: 'succeeded' },
  });

  const delivered = await readDeliveries(stripe.url);
  expect(delivered.map((delivery) => [delivery.event, delivery.status])).toEqual([
    ['payment_intent.created', 'delivered'],
    ['payment_intent.payment_failed', 'delivered'],
    ['payment_intent.succeeded', 'delivered'],
  ]);
});
