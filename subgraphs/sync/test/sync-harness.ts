/**
 * The sync engine against the real vendor emulators (Semble, HubSpot, Stripe, GoCardless,
 * Google Calendar, in-process on free ports, a small seed world), an in-memory bus and store, and optionally
 * the sync subgraph over HTTP. Semble, HubSpot and GoCardless send their webhooks to recording receivers;
 * `deliverWebhooks()` waits for every delivery to finish and hands what arrived to the worker's
 * handler as inbox payloads — a stand-in for the webhook ingress (built separately), so a test
 * can see exactly which echoes of our own writes come back and what they cause.
 */
import { assessDataQuality } from '../../../lib/data-quality';
import { createMemoryEventBus } from '../../../lib/event-bus';
import type { EventBus } from '../../../lib/event-bus';
import { createLogger } from '../../../lib/logger';
import { createSeedWorld, SEED_CALENDAR_ID } from '../../../lib/seed';
import type { InternalIdentity } from '../../../lib/internal-identity';
import type { SeedWorld } from '../../../lib/seed';
import { asGateway, TEST_INTERNAL_TOKEN_SECRET } from '../../../lib/test/as-gateway';
import { startRecordingReceiver } from '../../../lib/webhooks/recording-receiver';
import type { RecordingReceiver } from '../../../lib/webhooks/recording-receiver';
import type { GoCardlessWebhookPayload, HubSpotWebhookEvent, SembleWebhookBody, WebhookDelivery } from '../../../lib/webhooks';
import { startGoogleCalendarEmulator } from '../../calendar/emulator/server';
import type { GoogleCalendarEmulator } from '../../calendar/emulator/server';
import { startHubSpotEmulator } from '../../crm/emulator/server';
import type { HubSpotEmulator } from '../../crm/emulator/server';
import { startGoCardlessEmulator } from '../../payments/emulator/gocardless';
import type { GoCardlessEmulator } from '../../payments/emulator/gocardless';
import { startStripeEmulator } from '../../payments/emulator/server';
import type { StripeEmulator } from '../../payments/emulator/server';
import { startSembleEmulator } from '../../semble/emulator/server';
import type { SembleEmulator } from '../../semble/emulator/server';
import { createSyncClients } from '../src/clients';
import type { SyncClients } from '../src/clients';
import { SYNC_EVENTS_TOPIC } from '../src/inbox';
import type { InboxItem, SyncEventPayload } from '../src/inbox';
import { sembleToRecord } from '../src/records';
import { createServer } from '../src/server';
import type { SyncServer } from '../src/server';
import { createMemorySyncStore } from '../src/store';
import type { SyncStore } from '../src/store';
import { createInboxHandler } from '../src/worker';
import type { SyncConfig } from '../src/config';

const TOKENS = { semble: 'semble-test-token', hubspot: 'hubspot-test-token', stripe: 'sk_test_sync', google: 'google-test-token', goCardless: 'gocardless-test-token' };

export interface SyncHarness {
  world: SeedWorld;
  semble: SembleEmulator;
  hubspot: HubSpotEmulator;
  calendar: GoogleCalendarEmulator;
  stripe: StripeEmulator;
  goCardless: GoCardlessEmulator;
  bus: EventBus;
  store: SyncStore;
  clients: SyncClients;
  handler: ReturnType<typeof createInboxHandler>;
  /** The subgraph over HTTP (worker off: tests drive the handler), when asked for. */
  server: SyncServer | null;
  config: SyncConfig;
  /**
   * Waits for the emulators' webhook deliveries to finish, then hands every webhook received
   * since the last call to the handler (one inbox payload per request). Returns the items.
   */
  deliverWebhooks(): Promise<InboxItem[]>;
  /** Payloads published on sync-events so far. */
  syncEvents(): Promise<SyncEventPayload[]>;
  /** A GraphQL request to the subgraph, signed as the gateway signs it for `caller` (by default a caller with no roles). */
  graphql<T = Record<string, unknown>>(
    query: string,
    variables?: Record<string, unknown>,
    caller?: Partial<InternalIdentity>,
  ): Promise<{ data?: T; errors?: Array<{ message: string; extensions?: { code?: string } }> }>;
  /** Seed patients with a CRM contact and data good enough to sync directly. */
  goodPatientsWithContact(): string[];
  contactOf(patientId: string): { id: string; properties: Record<string, string | null> };
  stop(): Promise<void>;
}

async function settled(emulatorUrl: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const { deliveries } = (await (await fetch(`${emulatorUrl}/__admin/webhooks`)).json()) as { deliveries: WebhookDelivery[] };
    if (deliveries.every((delivery) => delivery.status === 'delivered' || delivery.status === 'failed')) return;
    if (Date.now() > deadline) throw new Error('webhook deliveries did not finish');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

function toItems(receiver: 'semble' | 'hubspot' | 'gocardless', body: Buffer): InboxItem[] {
  if (receiver === 'gocardless') {
    const payload = JSON.parse(body.toString('utf8')) as GoCardlessWebhookPayload;
    return payload.events.map((event) => ({ vendor: 'gocardless', eventId: event.id, resourceType: event.resource_type, action: event.action, links: event.links }));
  }
  if (receiver === 'semble') {
    const event = JSON.parse(body.toString('utf8')) as SembleWebhookBody;
    return [{ vendor: 'semble', eventType: event.eventType, id: event.data.id }];
  }
  const events = JSON.parse(body.toString('utf8')) as HubSpotWebhookEvent[];
  return events.map((event) => ({
    vendor: 'hubspot',
    eventId: String(event.eventId),
    subscriptionType: event.subscriptionType,
    objectId: String(event.objectId),
    propertyName: event.propertyName,
    propertyValue: event.propertyValue,
    occurredAt: event.occurredAt ?? 0,
    changeSource: event.changeSource,
  }));
}

export async function startSyncHarness(
  options: { patients?: number; server?: boolean; adminToken?: string; /** @default 2000, the service's */ clockSkewMs?: number } = {},
): Promise<SyncHarness> {
  const world = createSeedWorld({ patients: options.patients ?? 30, seed: 42 });
  const stops: Array<() => Promise<void>> = [];
  const stopAll = async () => {
    for (const stop of stops.splice(0).reverse()) await stop().catch(() => undefined);
  };
  try {
    const sembleReceiver: RecordingReceiver = await startRecordingReceiver('/semble');
    stops.push(() => sembleReceiver.stop());
    const hubspotReceiver: RecordingReceiver = await startRecordingReceiver('/hubspot');
    stops.push(() => hubspotReceiver.stop());
    const retryDelaysMs = [10, 10];
    const semble = await startSembleEmulator({ world, token: TOKENS.semble, webhook: { url: sembleReceiver.url, secret: 'semble-secret', retryDelaysMs } });
    stops.push(() => semble.stop());
    const hubspot = await startHubSpotEmulator({
      world,
      token: TOKENS.hubspot,
      rateLimit: { max: 100_000, windowMs: 10_000 },
      webhook: { url: hubspotReceiver.url, secret: 'hubspot-secret', retryDelaysMs },
    });
    stops.push(() => hubspot.stop());
    const calendar = await startGoogleCalendarEmulator({ world, token: TOKENS.google });
    stops.push(() => calendar.stop());
    const stripe = await startStripeEmulator({ world, token: TOKENS.stripe });
    stops.push(() => stripe.stop());
    const goCardlessReceiver: RecordingReceiver = await startRecordingReceiver('/gocardless');
    stops.push(() => goCardlessReceiver.stop());
    const goCardless = await startGoCardlessEmulator({ world, token: TOKENS.goCardless, webhook: { url: goCardlessReceiver.url, secret: 'gocardless-secret', retryDelaysMs } });
    stops.push(() => goCardless.stop());

    const bus = createMemoryEventBus();
    stops.push(() => bus.close());
    const store = createMemorySyncStore();
    const config: SyncConfig = {
      port: 0,
      host: '127.0.0.1',
      sembleBaseUrl: semble.url,
      sembleToken: TOKENS.semble,
      hubspotBaseUrl: hubspot.url,
      hubspotToken: TOKENS.hubspot,
      stripeBaseUrl: stripe.url,
      stripeSecretKey: TOKENS.stripe,
      goCardlessBaseUrl: goCardless.url,
      goCardlessAccessToken: TOKENS.goCardless,
      googleCalendarBaseUrl: calendar.url,
      googleCalendarToken: TOKENS.google,
      googleCalendarId: SEED_CALENDAR_ID,
      vendorTimeoutMs: 5_000,
      busKeyPrefix: 'unused:',
      busMaxEventsPerTopic: 100_000,
      syncKeyPrefix: 'unused:',
      pollIntervalMs: 0,
      sweepEnabled: false,
      sweepIntervalMs: 60_000,
      sweepOverlapMs: 30_000,
      clockSkewMs: options.clockSkewMs ?? 2000,
      worker: false,
      workerName: 'test-worker',
      workerClaimAfterMs: 30_000,
      workerMaxDeliveries: 10,
      internalTokenSecret: TEST_INTERNAL_TOKEN_SECRET,
      ...(options.adminToken ? { adminToken: options.adminToken } : {}),
    };
    const clients = createSyncClients(config);
    const logger = createLogger('sync-test');
    const handler = createInboxHandler({ bus, store, clients, logger, clockSkewMs: config.clockSkewMs });
    const server = options.server ? await createServer(config, { bus, store, clients, logger }) : null;
    if (server) stops.push(() => server.stop());

    const seen = { semble: 0, hubspot: 0, gocardless: 0 };
    return {
      world,
      semble,
      hubspot,
      calendar,
      stripe,
      goCardless,
      bus,
      store,
      clients,
      handler,
      server,
      config,
      async deliverWebhooks() {
        await Promise.all([settled(semble.url), settled(hubspot.url), settled(goCardless.url)]);
        const delivered: InboxItem[] = [];
        for (const [name, receiver] of [['semble', sembleReceiver], ['hubspot', hubspotReceiver], ['gocardless', goCardlessReceiver]] as const) {
          const fresh = receiver.received.slice(seen[name]).filter((request) => request.answeredWith === 200);
          seen[name] = receiver.received.length;
          for (const request of fresh) {
            const items = toItems(name, request.body);
            delivered.push(...items);
            await handler.handle({ receivedAt: new Date().toISOString(), items });
          }
        }
        return delivered;
      },
      async syncEvents() {
        return (await bus.read(SYNC_EVENTS_TOPIC, { limit: 10_000 })).map((event) => event.payload as SyncEventPayload);
      },
      async graphql(query, variables, caller = {}) {
        if (!server) throw new Error('started without the server');
        const response = await fetch(server.graphqlUrl, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...(await asGateway('sync', caller)) },
          body: JSON.stringify({ query, variables }),
        });
        return (await response.json()) as never;
      },
      goodPatientsWithContact() {
        const withContact = new Set(world.contacts.map((contact) => contact.patientId));
        return [...semble.store.patients.values()]
          .filter((patient) => withContact.has(patient.id))
          .filter((patient) => {
            const record = sembleToRecord(patient);
            return assessDataQuality({ email: record.email, phones: [record.phone, ...(record.otherPhones ?? [])], nhsNumber: record.nhsNumber ?? null }).route === 'DIRECT';
          })
          .map((patient) => patient.id);
      },
      contactOf(patientId) {
        const contact = [...hubspot.objects.contacts.values()].find((candidate) => candidate.properties.semble_patient_id === patientId);
        if (!contact) throw new Error('no contact for the patient');
        return contact;
      },
      stop: stopAll,
    };
  } catch (error) {
    await stopAll();
    throw error;
  }
}
