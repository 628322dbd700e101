/**
 * The one helper that starts the whole patient graph in this process, on free ports: the five
 * vendor emulators over one seed world, the four subgraphs wired to them through their own
 * configuration loaders, and the gateway over the committed supergraph. Returns the URLs, a
 * token, the world the emulators serve, and stop().
 */
import { signToken } from '../gateway/src/auth';
import { loadGatewayConfig } from '../gateway/src/config';
import { createGateway } from '../gateway/src/server';
import type { RunningGateway } from '../gateway/src/server';
import type { Listening } from '../lib/listen';
import { createSeedWorld } from '../lib/seed';
import type { SeedWorld } from '../lib/seed';
import type { RunningSubgraph } from '../lib/subgraph';
import { startGoogleCalendarEmulator } from '../subgraphs/calendar/emulator/server';
import { loadCalendarConfig } from '../subgraphs/calendar/src/config';
import { createServer as createCalendar } from '../subgraphs/calendar/src/server';
import { startHubSpotEmulator } from '../subgraphs/crm/emulator/server';
import { loadCrmConfig } from '../subgraphs/crm/src/config';
import { createServer as createCrm } from '../subgraphs/crm/src/server';
import { startGoCardlessEmulator } from '../subgraphs/payments/emulator/gocardless';
import { startStripeEmulator } from '../subgraphs/payments/emulator/server';
import { loadPaymentsConfig } from '../subgraphs/payments/src/config';
import { createServer as createPayments } from '../subgraphs/payments/src/server';
import { startSembleEmulator } from '../subgraphs/semble/emulator/server';
import { createMemoryEventBus } from '../lib/event-bus/memory';
import type { EventBus } from '../lib/event-bus/types';
import { freePort } from '../lib/stack/patient-graph';
import { fromRoot } from '../lib/root';
import { loadSyncConfig } from '../subgraphs/sync/src/config';
import { createServer as createSync } from '../subgraphs/sync/src/server';
import type { SyncServer } from '../subgraphs/sync/src/server';
import { loadSembleConfig } from '../subgraphs/semble/src/config';
import { createServer as createSemble } from '../subgraphs/semble/src/server';

export type Vendor = 'semble' | 'hubspot' | 'stripe' | 'gocardless' | 'google';

export interface PatientGraphStack {
  world: SeedWorld;
  gateway: RunningGateway;
  /** A token with every steward role. */
  token: string;
  emulators: Record<Vendor, string>;
  subgraphs: Record<'semble' | 'crm' | 'payments' | 'calendar' | 'sync', string>;
  /** The sync service (subgraph, webhook ingress, worker) and the bus it shares with the gateway. */
  sync: SyncServer;
  bus: EventBus;
  /** POST a query to the gateway with the token. */
  query<T = any>(query: string, variables?: Record<string, unknown>): Promise<{ status: number; data?: T; errors?: any[] }>;
  /** Requests each emulator has served since the last reset. */
  vendorRequests(): Promise<Record<Vendor, { total: number; byRoute: Record<string, number> }>>;
  resetVendorRequests(): Promise<void>;
  stop(): Promise<void>;
}

export const STACK_JWT_SECRET = 'stack-test-secret-0123456789abcdef0123';

/** Webhook secrets the emulators sign with and the sync service verifies with. */
const WEBHOOK = {
  semble: 'stack-semble-webhook-secret',
  hubspot: 'stack-hubspot-client-secret',
  stripe: 'whsec_stack_test',
  gocardless: 'stack-gocardless-webhook-secret',
  googleChannel: 'stack-channel',
  googleToken: 'stack-channel-token',
};

export const VENDOR_TOKENS = {
  semble: 'semble-test-token',
  hubspot: 'hubspot-test-token',
  stripe: 'sk_test_stack',
  gocardless: 'gocardless-test-token',
  google: 'google-test-token',
};

export interface StackOptions {
  /** Seed size. @default 500 */
  patients?: number;
  hubspotRateLimit?: { max: number; windowMs: number };
  /** Give this vendor's subgraph a token its emulator rejects. */
  wrongTokenFor?: Vendor;
}

export async function startPatientGraph(options: StackOptions = {}): Promise<PatientGraphStack> {
  const world = createSeedWorld({ patients: options.patients ?? 500 });
  const started: Array<{ stop(): Promise<void> }> = [];
  const stop = async () => {
    for (const service of started.reverse()) await service.stop();
  };
  // One in-memory bus shared by the sync service and the gateway, as one process would.
  const bus = createMemoryEventBus();
  started.push({ stop: () => bus.close() });
  try {
    const track = <T extends { stop(): Promise<void> }>(service: T): T => {
      started.push(service);
      return service;
    };
    // The sync service's port is fixed first: the emulators send their webhooks there.
    const syncPort = await freePort();
    const syncOrigin = `http://127.0.0.1:${syncPort}`;
    // Retries close together, so a test that stops the worker does not wait minutes.
    const retry = { retryDelaysMs: [100, 300, 1000] };
    const [semble, hubspot, stripe, gocardless, google] = (await Promise.all([
      startSembleEmulator({ world, token: VENDOR_TOKENS.semble, webhook: { url: `${syncOrigin}/webhooks/semble`, secret: WEBHOOK.semble, ...retry } }).then(track),
      startHubSpotEmulator({
        world,
        token: VENDOR_TOKENS.hubspot,
        webhook: { url: `${syncOrigin}/webhooks/hubspot`, secret: WEBHOOK.hubspot, ...retry },
        ...(options.hubspotRateLimit ? { rateLimit: options.hubspotRateLimit } : {}),
      }).then(track),
      startStripeEmulator({ world, token: VENDOR_TOKENS.stripe, webhook: { url: `${syncOrigin}/webhooks/stripe`, secret: WEBHOOK.stripe, ...retry } }).then(track),
      startGoCardlessEmulator({ world, token: VENDOR_TOKENS.gocardless, webhook: { url: `${syncOrigin}/webhooks/gocardless`, secret: WEBHOOK.gocardless, ...retry } }).then(track),
      startGoogleCalendarEmulator({
        world,
        token: VENDOR_TOKENS.google,
        webhook: { url: `${syncOrigin}/webhooks/google-calendar`, channelId: WEBHOOK.googleChannel, token: WEBHOOK.googleToken, ...retry },
      }).then(track),
    ])) as Listening[];
    const emulators: Record<Vendor, string> = { semble: semble!.url, hubspot: hubspot!.url, stripe: stripe!.url, gocardless: gocardless!.url, google: google!.url };

    const tokenFor = (vendor: Vendor) => (options.wrongTokenFor === vendor ? `${VENDOR_TOKENS[vendor]}-wrong` : VENDOR_TOKENS[vendor]);
    const subgraphList = (await Promise.all([
      createSemble(loadSembleConfig({ PORT: '0', SEMBLE_BASE_URL: emulators.semble, SEMBLE_TOKEN: tokenFor('semble') })).then(track),
      createCrm(loadCrmConfig({ PORT: '0', HUBSPOT_BASE_URL: emulators.hubspot, HUBSPOT_TOKEN: tokenFor('hubspot') })).then(track),
      createPayments(
        loadPaymentsConfig({
          PORT: '0',
          STRIPE_BASE_URL: emulators.stripe,
          STRIPE_SECRET_KEY: tokenFor('stripe'),
          GOCARDLESS_BASE_URL: emulators.gocardless,
          GOCARDLESS_ACCESS_TOKEN: tokenFor('gocardless'),
        }),
      ).then(track),
      createCalendar(loadCalendarConfig({ PORT: '0', GOOGLE_CALENDAR_BASE_URL: emulators.google, GOOGLE_CALENDAR_TOKEN: tokenFor('google') })).then(track),
    ])) as RunningSubgraph[];
    const [sembleSubgraph, crm, payments, calendar] = subgraphList.map((s) => s.graphqlUrl) as [string, string, string, string];
    const sync = track(
      await createSync(
        loadSyncConfig({
          PORT: String(syncPort),
          PUBLIC_URL: syncOrigin,
          SEMBLE_BASE_URL: emulators.semble,
          SEMBLE_TOKEN: VENDOR_TOKENS.semble,
          HUBSPOT_BASE_URL: emulators.hubspot,
          HUBSPOT_TOKEN: VENDOR_TOKENS.hubspot,
          STRIPE_BASE_URL: emulators.stripe,
          STRIPE_SECRET_KEY: VENDOR_TOKENS.stripe,
          GOCARDLESS_BASE_URL: emulators.gocardless,
          GOCARDLESS_ACCESS_TOKEN: VENDOR_TOKENS.gocardless,
          GOOGLE_CALENDAR_BASE_URL: emulators.google,
          GOOGLE_CALENDAR_TOKEN: VENDOR_TOKENS.google,
          SEMBLE_WEBHOOK_SECRET: WEBHOOK.semble,
          HUBSPOT_CLIENT_SECRET: WEBHOOK.hubspot,
          STRIPE_WEBHOOK_SECRET: WEBHOOK.stripe,
          GOCARDLESS_WEBHOOK_SECRET: WEBHOOK.gocardless,
          GOOGLE_CALENDAR_CHANNEL_ID: WEBHOOK.googleChannel,
          GOOGLE_CALENDAR_CHANNEL_TOKEN: WEBHOOK.googleToken,
          SYNC_WORKER_CLAIM_AFTER_MS: '500',
        }),
        { bus },
      ),
    );
    const subgraphs = { semble: sembleSubgraph, crm, payments, calendar, sync: sync.graphqlUrl };

    const gateway = track(
      await createGateway(
        loadGatewayConfig({
          PORT: '0',
          NODE_ENV: 'test',
          SUPERGRAPH_WATCH: 'false',
          // Batching tests count vendor requests: a retry after a try timeout on a loaded CI
          // machine would add requests that say nothing about batching.
          UPSTREAM_TRY_TIMEOUT_MS: '30000',
          REQUEST_TIMEOUT_MS: '60000',
          AUTH_JWT_SECRET: STACK_JWT_SECRET,
          SUBGRAPH_SEMBLE_URL: subgraphs.semble,
          SUBGRAPH_CRM_URL: subgraphs.crm,
          SUBGRAPH_PAYMENTS_URL: subgraphs.payments,
          SUBGRAPH_CALENDAR_URL: subgraphs.calendar,
          SUBGRAPH_SYNC_URL: subgraphs.sync,
          GATEWAY_CONFIG: fromRoot('schema', 'gateway.json'),
        }),
        { bus },
      ),
    );
    const token = signToken(STACK_JWT_SECRET, { subject: 'stack-test', roles: ['clinician', 'admin', 'marketing', 'finance'], clinic: 'test' });

    const vendorRequests = async () => {
      const entries = await Promise.all(
        (Object.entries(emulators) as Array<[Vendor, string]>).map(async ([vendor, url]) => {
          const response = await fetch(`${url}/__admin/requests`);
          return [vendor, (await response.json()) as { total: number; byRoute: Record<string, number> }] as const;
        }),
      );
      return Object.fromEntries(entries) as Record<Vendor, { total: number; byRoute: Record<string, number> }>;
    };

    return {
      world,
      gateway,
      token,
      emulators,
      subgraphs,
      sync,
      bus,
      async query(query, variables) {
        const response = await fetch(gateway.graphqlUrl, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
          body: JSON.stringify({ query, variables }),
        });
        const body = (await response.json()) as { data?: any; errors?: any[] };
        return { status: response.status, ...body };
      },
      vendorRequests,
      async resetVendorRequests() {
        await Promise.all(Object.values(emulators).map((url) => fetch(`${url}/__admin/requests`, { method: 'DELETE' })));
      },
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
