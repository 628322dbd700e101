/**
 * The sync service's operational routes, as an operator or a load balancer uses them: /healthz
 * (alive), /readyz (its bus and store answer and its worker runs; 503 naming what does not) and
 * /metrics (Prometheus: inbox events, sync events, webhook deliveries, the process), open on
 * the internal port unless SYNC_ADMIN_TOKEN is set.
 */
import { createMemoryEventBus } from '../../../lib/event-bus';
import type { EventBus } from '../../../lib/event-bus';
import { waitFor } from '../../../lib/event-bus/test/wait-for';
import { signStripe } from '../../../lib/webhooks';
import { INBOX_TOPIC, SYNC_EVENTS_TOPIC } from '../src/inbox';
import type { SyncEventPayload } from '../src/inbox';
import { createServer } from '../src/server';
import type { SyncServer } from '../src/server';
import { createMemorySyncStore } from '../src/store';
import { startSyncHarness } from './sync-harness';
import type { SyncHarness } from './sync-harness';

const STRIPE_SECRET = 'whsec_service_status_test';
const ADMIN_TOKEN = 'admin-token-for-status-tests-0123';

let h: SyncHarness;
beforeAll(async () => {
  h = await startSyncHarness({ patients: 10 });
});
afterAll(() => h.stop());

/** A sync service with its worker, on a bus of its own that a test may close. */
async function startService(overrides: { adminToken?: string } = {}): Promise<{ server: SyncServer; bus: EventBus; origin: string }> {
  const bus = createMemoryEventBus();
  const server = await createServer(
    { ...h.config, ...overrides, worker: true, workerName: 'status-test', workerClaimAfterMs: 100, workerMaxDeliveries: 2, stripeWebhookSecret: STRIPE_SECRET },
    { bus, store: createMemorySyncStore(), clients: h.clients },
  );
  return { server, bus, origin: new URL(server.graphqlUrl).origin };
}

function stripeDelivery(paymentIntentId: string, secret = STRIPE_SECRET) {
  const body = JSON.stringify({
    id: `evt_status_${paymentIntentId}_${secret.length}`,
    object: 'event',
    type: 'payment_intent.succeeded',
    created: Math.floor(Date.now() / 1000),
    data: { object: { id: paymentIntentId, object: 'payment_intent', status: 'succeeded' } },
  });
  return { method: 'POST', headers: { 'content-type': 'application/json', ...signStripe({ secret, body, timestamp: Math.floor(Date.now() / 1000) }) }, body };
}

async function syncEventTypes(bus: EventBus): Promise<string[]> {
  return (await bus.read(SYNC_EVENTS_TOPIC, { limit: 1000 })).map((event) => (event.payload as SyncEventPayload).type);
}

it('is alive and ready while its bus and store answer and its worker runs, and not ready once its bus is gone', async () => {
  const { server, bus, origin } = await startService();
  try {
    expect(await (await fetch(`${origin}/healthz`)).json()).toEqual({ status: 'ok', subgraph: 'sync' });
    const ready = await fetch(`${origin}/readyz`);
    expect({ status: ready.status, body: await ready.json() }).toEqual({
      status: 200,
      body: { status: 'ready', bus: { reachable: true }, store: { reachable: true }, worker: { phase: 'running' } },
    });

    await bus.close();
    const unready = await fetch(`${origin}/readyz`);
    expect({ status: unready.status, body: await unready.json() }).toEqual({
      status: 503,
      body: { status: 'not_ready', bus: { reachable: false }, store: { reachable: true }, worker: { phase: 'running' } },
    });
    // Alive all the same: restarting it is for a supervisor to decide, not a reason to fail liveness.
    expect((await fetch(`${origin}/healthz`)).status).toBe(200);
  } finally {
    await server.stop();
  }
});

it('counts webhook deliveries by vendor and outcome, inbox events and the sync events they cause on /metrics', async () => {
  const { server, bus, origin } = await startService();
  try {
    const paymentIntent = h.world.paymentIntents[0]!.id;
    expect((await fetch(`${origin}/webhooks/stripe`, stripeDelivery(paymentIntent))).status).toBe(200);
    expect((await fetch(`${origin}/webhooks/stripe`, stripeDelivery(paymentIntent, 'whsec_wrong_secret'))).status).toBe(401);
    await waitFor('the worker to record the payment', async () => (await syncEventTypes(bus)).includes('PAYMENT_SYNCED'));

    // An inbox event whose handling keeps failing (HubSpot down) is retried, then set aside.
    await fetch(`${h.hubspot.url}/__admin/faults`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ status: 503, times: 100_000 }) });
    try {
      const patientId = h.goodPatientsWithContact()[0]!;
      await bus.publish({ topic: INBOX_TOPIC, type: 'test', payload: { receivedAt: new Date().toISOString(), items: [{ vendor: 'semble', eventType: 'PATIENT_UPDATED', id: patientId }] } });
      await waitFor('the event to be set aside', async () => (await syncEventTypes(bus)).includes('DEAD_LETTERED'));
    } finally {
      await fetch(`${h.hubspot.url}/__admin/faults`, { method: 'DELETE' });
    }

    const response = await fetch(`${origin}/metrics`);
    expect(response.headers.get('content-type')).toContain('text/plain');
    const metrics = await response.text();
    expect(metrics).toContain('sync_webhook_deliveries_total{vendor="stripe",outcome="accepted",status="200"} 1');
    expect(metrics).toContain('sync_webhook_deliveries_total{vendor="stripe",outcome="refused",status="401"} 1');
    expect(metrics).toContain('sync_inbox_events_total{outcome="handled"} 1');
    expect(metrics).toContain('sync_inbox_events_total{outcome="failed"} 2');
    expect(metrics).toContain('sync_inbox_events_total{outcome="dead_lettered"} 1');
    expect(metrics).toContain('sync_events_published_total{type="PAYMENT_SYNCED"} 1');
    expect(metrics).toContain('sync_events_published_total{type="DEAD_LETTERED"} 1');
    expect(metrics).toMatch(/^sync_process_cpu_seconds_total \d/m);
  } finally {
    await server.stop();
  }
});

it('serves /metrics only with SYNC_ADMIN_TOKEN when it is set; /healthz and /readyz stay open', async () => {
  const { server, origin } = await startService({ adminToken: ADMIN_TOKEN });
  try {
    expect((await fetch(`${origin}/metrics`)).status).toBe(401);
    expect((await fetch(`${origin}/metrics`, { headers: { authorization: 'Bearer wrong-token-wrong-token-0123' } })).status).toBe(401);
    expect(await (await fetch(`${origin}/metrics`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })).text()).toContain('sync_inbox_events_total');
    expect((await fetch(`${origin}/healthz`)).status).toBe(200);
    expect((await fetch(`${origin}/readyz`)).status).toBe(200);
  } finally {
    await server.stop();
  }
});
