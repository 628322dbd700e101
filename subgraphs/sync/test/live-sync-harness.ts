/**
 * The sync service as it runs: the Semble and HubSpot emulators send their signed webhooks over
 * HTTP to the service's own ingress, and the service's worker (and, when asked for, its
 * reconciliation sweep) does the rest. Unlike sync-harness.ts, nothing hands webhooks to the
 * worker by hand: what the ingress accepts or drops is what the worker sees.
 */
import { assessDataQuality } from '../../../lib/data-quality';
import { createMemoryEventBus } from '../../../lib/event-bus';
import type { EventBus } from '../../../lib/event-bus';
import { waitFor } from '../../../lib/event-bus/test/wait-for';
import { createLogger } from '../../../lib/logger';
import { createSeedWorld, SEED_CALENDAR_ID } from '../../../lib/seed';
import { freePort } from '../../../lib/stack/patient-graph';
import { asGateway, TEST_INTERNAL_TOKEN_SECRET } from '../../../lib/test/as-gateway';
import type { WebhookDelivery } from '../../../lib/webhooks';
import { startHubSpotEmulator } from '../../crm/emulator/server';
import type { HubSpotEmulator } from '../../crm/emulator/server';
import { startSembleEmulator } from '../../semble/emulator/server';
import type { SembleEmulator } from '../../semble/emulator/server';
import type { SyncConfig } from '../src/config';
import { INBOX_TOPIC, SYNC_EVENTS_TOPIC } from '../src/inbox';
import type { InboxPayload, SyncEventPayload } from '../src/inbox';
import { sembleToRecord } from '../src/records';
import { createServer } from '../src/server';
import type { SyncServer } from '../src/server';
import { createMemorySyncStore } from '../src/store';

const TOKENS = { semble: 'semble-live-token', hubspot: 'hubspot-live-token' };
const SECRETS = { semble: 'semble-live-secret', hubspot: 'hubspot-live-secret' };
/** Nothing listens here: the tests never reach Stripe, GoCardless or Google. */
const UNUSED_VENDOR_URL = 'http://127.0.0.1:9';

export interface LiveSync {
  semble: SembleEmulator;
  hubspot: HubSpotEmulator;
  server: SyncServer;
  bus: EventBus;
  /** A seed patient with a CRM contact and data clean enough to sync directly; a different one each call. */
  takeGoodPatient(): string;
  contactOf(patientId: string): { id: string; properties: Record<string, string | null> };
  /** A change in Semble's UI (admin route); resolves after the webhook's first attempt. */
  editInSemble(patientId: string, changes: Record<string, string>): Promise<void>;
  editInHubSpot(contactId: string, properties: Record<string, string>): Promise<void>;
  /** The vendor loses its next webhook (emulator admin switch). */
  dropNextWebhook(vendor: 'semble' | 'hubspot'): Promise<void>;
  deliveries(vendor: 'semble' | 'hubspot'): Promise<WebhookDelivery[]>;
  /** Waits until every webhook the vendor sent so far has been answered 2xx (or given up). */
  deliveriesSettled(vendor: 'semble' | 'hubspot'): Promise<WebhookDelivery[]>;
  syncEvents(): Promise<SyncEventPayload[]>;
  inbox(): Promise<Array<{ type: string; payload: InboxPayload }>>;
  /** HubSpot batch upserts served so far (every CRM write of the sync engine). */
  crmWrites(): number;
  /** One sample of the service's /metrics, by series (name plus labels as printed). */
  metric(series: string): Promise<number>;
  graphql<T = Record<string, unknown>>(query: string): Promise<{ data?: T; errors?: unknown[] }>;
  stop(): Promise<void>;
}

export interface LiveSyncOptions {
  /** The sweep's interval; false turns it off (only webhooks then carry changes). @default false */
  sweepIntervalMs?: number | false;
  /** @default 0: a sweep lists from exactly its checkpoints */
  sweepOverlapMs?: number;
  /** Last-write-wins clock-skew allowance (SYNC_CLOCK_SKEW_MS). @default 2000 */
  clockSkewMs?: number;
  /** Patients in the seed world (seed 7). @default 30 */
  patients?: number;
}

export async function startLiveSync(options: LiveSyncOptions = {}): Promise<LiveSync> {
  const world = createSeedWorld({ patients: options.patients ?? 30, seed: 7 });
  const stops: Array<() => Promise<void>> = [];
  const stopAll = async () => {
    for (const stop of stops.splice(0).reverse()) await stop().catch(() => undefined);
  };
  try {
    // The service's port is chosen first: the emulators are told where to send their webhooks.
    const port = await freePort();
    const origin = `http://127.0.0.1:${port}`;
    const retryDelaysMs = [100, 300, 1000];
    const semble = await startSembleEmulator({ world, token: TOKENS.semble, webhook: { url: `${origin}/webhooks/semble`, secret: SECRETS.semble, retryDelaysMs } });
    stops.push(() => semble.stop());
    const hubspot = await startHubSpotEmulator({
      world,
      token: TOKENS.hubspot,
      rateLimit: { max: 100_000, windowMs: 10_000 },
      webhook: { url: `${origin}/webhooks/hubspot`, secret: SECRETS.hubspot, retryDelaysMs },
    });
    stops.push(() => hubspot.stop());

    const bus = createMemoryEventBus();
    stops.push(() => bus.close());
    const store = createMemorySyncStore();
    stops.push(() => store.close());
    const config: SyncConfig = {
      port,
      host: '127.0.0.1',
      publicUrl: origin,
      sembleBaseUrl: semble.url,
      sembleToken: TOKENS.semble,
      hubspotBaseUrl: hubspot.url,
      hubspotToken: TOKENS.hubspot,
      stripeBaseUrl: UNUSED_VENDOR_URL,
      stripeSecretKey: 'sk_test_unused',
      goCardlessBaseUrl: UNUSED_VENDOR_URL,
      goCardlessAccessToken: 'unused',
      googleCalendarBaseUrl: UNUSED_VENDOR_URL,
      googleCalendarToken: 'unused',
      googleCalendarId: SEED_CALENDAR_ID,
      vendorTimeoutMs: 5_000,
      busKeyPrefix: 'unused:',
      busMaxEventsPerTopic: 100_000,
      syncKeyPrefix: 'unused:',
      pollIntervalMs: 0,
      sweepEnabled: options.sweepIntervalMs !== undefined && options.sweepIntervalMs !== false,
      sweepIntervalMs: options.sweepIntervalMs || 60_000,
      sweepOverlapMs: options.sweepOverlapMs ?? 0,
      clockSkewMs: options.clockSkewMs ?? 2000,
      worker: true,
      workerName: 'live-worker',
      // A failed handling comes back soon, so a slow machine does not stall a test for long.
      workerClaimAfterMs: 1_000,
      workerMaxDeliveries: 10,
      sembleWebhookSecret: SECRETS.semble,
      hubspotClientSecret: SECRETS.hubspot,
      internalTokenSecret: TEST_INTERNAL_TOKEN_SECRET,
    };
    const server = await createServer(config, { bus, store, logger: createLogger('sync-live', 'silent') });
    stops.push(() => server.stop());

    const withContact = new Set(world.contacts.map((contact) => contact.patientId));
    const good = [...semble.store.patients.values()]
      .filter((patient) => withContact.has(patient.id))
      .filter((patient) => {
        const record = sembleToRecord(patient);
        return assessDataQuality({ email: record.email, phones: [record.phone, ...(record.otherPhones ?? [])], nhsNumber: record.nhsNumber ?? null }).route === 'DIRECT';
      })
      .map((patient) => patient.id);

    const admin = async (url: string, method: string, path: string, body: unknown) => {
      const response = await fetch(`${url}/__admin${path}`, { method, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
      if (!response.ok) throw new Error(`${method} /__admin${path}: ${response.status} ${await response.text()}`);
    };
    const emulatorUrl = (vendor: 'semble' | 'hubspot') => (vendor === 'semble' ? semble.url : hubspot.url);
    const deliveries = async (vendor: 'semble' | 'hubspot') =>
      ((await (await fetch(`${emulatorUrl(vendor)}/__admin/webhooks`)).json()) as { deliveries: WebhookDelivery[] }).deliveries;

    return {
      semble,
      hubspot,
      server,
      bus,
      takeGoodPatient() {
        const patientId = good.shift();
        if (!patientId) throw new Error('no good patients left in the seed world');
        return patientId;
      },
      contactOf(patientId) {
        const contact = [...hubspot.objects.contacts.values()].find((candidate) => candidate.properties.semble_patient_id === patientId);
        if (!contact) throw new Error('no contact for the patient');
        return contact;
      },
      editInSemble: (patientId, changes) => admin(semble.url, 'PATCH', `/patients/${patientId}`, changes),
      editInHubSpot: (contactId, properties) => admin(hubspot.url, 'PATCH', `/contacts/${contactId}`, { properties }),
      dropNextWebhook: (vendor) => admin(emulatorUrl(vendor), 'POST', '/webhooks/drop', { count: 1 }),
      deliveries,
      async deliveriesSettled(vendor) {
        let list: WebhookDelivery[] = [];
        await waitFor(`${vendor} webhook deliveries to finish`, async () => {
          list = await deliveries(vendor);
          return list.every((delivery) => delivery.status === 'delivered' || delivery.status === 'failed');
        });
        return list;
      },
      async syncEvents() {
        return (await bus.read(SYNC_EVENTS_TOPIC, { limit: 10_000 })).map((event) => event.payload as SyncEventPayload);
      },
      async inbox() {
        return (await bus.read(INBOX_TOPIC, { limit: 10_000 })).map((event) => ({ type: event.type, payload: event.payload as InboxPayload }));
      },
      crmWrites: () => hubspot.counts().byRoute['POST /crm/v3/objects/contacts/batch/upsert'] ?? 0,
      async metric(series) {
        const text = await (await fetch(`${server.url}/metrics`)).text();
        const line = text.split('\n').find((candidate) => candidate.startsWith(`${series} `));
        if (!line) throw new Error(`no metric ${series}`);
        return Number(line.slice(series.length + 1));
      },
      async graphql(query) {
        const response = await fetch(server.graphqlUrl, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...(await asGateway('sync', { roles: ['admin'] })) },
          body: JSON.stringify({ query }),
        });
        return (await response.json()) as never;
      },
      stop: stopAll,
    };
  } catch (error) {
    await stopAll();
    throw error;
  }
}
