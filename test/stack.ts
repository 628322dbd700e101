/**
 * The one helper that starts the whole patient graph in this process, on free ports: every
 * service of the registry (lib/services.ts) through its own entrypoint and configuration loader
 * (the vendor emulators over one seed world, the subgraphs wired to the emulators they read
 * from, the sync service), and the gateway over the committed supergraph, sharing one
 * INTERNAL_TOKEN_SECRET. Returns the URLs, a token, the world the emulators serve, and stop().
 */
import { signToken } from '../gateway/src/auth';
import { loadGatewayConfig, subgraphUrlEnv } from '../gateway/src/config';
import { createGateway } from '../gateway/src/server';
import type { RunningGateway } from '../gateway/src/server';
import { startEmulator } from '../lib/emulator-main';
import { createMemoryEventBus } from '../lib/event-bus/memory';
import { INTERNAL_TOKEN_SECRET_ENV } from '../lib/internal-identity';
import type { EventBus } from '../lib/event-bus/types';
import type { Logger } from '../lib/logger';
import { fromRoot } from '../lib/root';
import { createSeedWorld } from '../lib/seed';
import type { SeedWorld } from '../lib/seed';
import {
  CASCADE_SERVICE,
  CONNECTORS_EMULATOR,
  EMULATORS,
  SUBGRAPHS,
  SYNC_SERVICE,
  WEBHOOK_SECRETS,
  hasVendorCache,
  loadEmulatorEntrypoint,
  loadSubgraphEntrypoint,
  vendorEnv,
} from '../lib/services';
import type { PatientGraphEmulator, SubgraphName, Vendor } from '../lib/services';
import { freePort } from '../lib/stack/patient-graph';
import type { CascadeServer } from '../subgraphs/cascade/src/server';
import type { SyncServer } from '../subgraphs/sync/src/server';

export type { Vendor } from '../lib/services';

export interface PatientGraphStack {
  world: SeedWorld;
  gateway: RunningGateway;
  /** A token with every steward role. */
  token: string;
  emulators: Record<Vendor, string>;
  subgraphs: Record<SubgraphName, string>;
  /** The sync service (subgraph, webhook ingress, worker) and the bus it shares with the gateway and the vendor caches. */
  sync: SyncServer;
  /** The cascade service (subgraph, intake, deliverer) on the same bus. */
  cascade: CascadeServer;
  /** The connectors emulator the cascade delivers to (GET /__admin/received). */
  connectors: string;
  bus: EventBus;
  /** POST a query to the gateway with the token (or another one). */
  query<T = any>(
    query: string,
    variables?: Record<string, unknown>,
    options?: { token?: string },
  ): Promise<{ status: number; data?: T; errors?: any[]; extensions?: any }>;
  /** Requests each emulator has served since the last reset. */
  vendorRequests(): Promise<Record<Vendor, { total: number; byRoute: Record<string, number> }>>;
  resetVendorRequests(): Promise<void>;
  stop(): Promise<void>;
}

export const STACK_JWT_SECRET = 'stack-test-secret-0123456789abcdef0123';
/** What the gateway signs subgraph calls with and every subgraph verifies them with; tests sign their own direct calls with it. */
export const STACK_INTERNAL_TOKEN_SECRET = 'stack-internal-secret-0123456789abcdef';
const internalTokenSecret = { [INTERNAL_TOKEN_SECRET_ENV]: STACK_INTERNAL_TOKEN_SECRET };

/**
 * The stack's own vendor tokens and webhook secrets, unlike the development defaults: a value
 * that does not reach a service then fails a test instead of passing on the service's default.
 */
export const VENDOR_TOKENS = Object.fromEntries(EMULATORS.map(({ vendor }) => [vendor, `${vendor}-test-token`])) as Record<Vendor, string>;
const STACK_WEBHOOK_SECRETS = Object.fromEntries(Object.entries(WEBHOOK_SECRETS).map(([key, value]) => [key, `${value}-stack`]));

export interface StackOptions {
  /** Seed size. @default 500 */
  patients?: number;
  hubspotRateLimit?: { max: number; windowMs: number };
  /** Give this vendor's subgraph a token its emulator rejects. */
  wrongTokenFor?: Vendor;
  /** More gateway environment (e.g. CACHE_* settings); it wins over the stack's own. */
  gatewayEnv?: Record<string, string>;
  /**
   * More sync service environment; it wins over the stack's own. The stack turns the
   * reconciliation sweep off (SYNC_SWEEP_ENABLED=false): its background listings would land in
   * the vendor request counts tests assert on. Pass SYNC_SWEEP_ENABLED=true to have it.
   */
  syncEnv?: Record<string, string>;
  /** More cascade service environment (e.g. CASCADE_SHORT_TERM_DELAY_MS); it wins over the stack's own. */
  cascadeEnv?: Record<string, string>;
  /** The gateway's logger (a test reading its log lines makes one with a destination of its own). */
  gatewayLogger?: Logger;
}

/** The connectors emulator's token in the stack: every vendor credential it accepts, and the secret the cascade signs with. */
export const CONNECTORS_TOKEN = 'connectors-test-token';

export async function startPatientGraph(options: StackOptions = {}): Promise<PatientGraphStack> {
  const world = createSeedWorld({ patients: options.patients ?? 500 });
  const started: Array<{ stop(): Promise<void> }> = [];
  const stop = async () => {
    for (const service of started.reverse()) await service.stop();
  };
  // One in-memory bus shared by the sync service, the vendor caches and the gateway, as one process would.
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
    const emulatorEnv = (emulator: PatientGraphEmulator) => ({
      PORT: '0',
      [emulator.tokenEnv]: VENDOR_TOKENS[emulator.vendor],
      ...STACK_WEBHOOK_SECRETS,
      [emulator.webhook.urlEnv]: `${syncOrigin}${emulator.webhook.path}`,
      // HubSpot's emulator reads these; the others ignore them.
      ...(options.hubspotRateLimit
        ? { HUBSPOT_RATE_LIMIT_MAX: String(options.hubspotRateLimit.max), HUBSPOT_RATE_LIMIT_WINDOW_MS: String(options.hubspotRateLimit.windowMs) }
        : {}),
    });
    const emulators = Object.fromEntries(
      await Promise.all(
        EMULATORS.map(async (emulator) => {
          const running = track(await startEmulator(loadEmulatorEntrypoint(emulator), emulatorEnv(emulator), { world, webhookRetry: retry }));
          return [emulator.vendor, running.url] as const;
        }),
      ),
    ) as Record<Vendor, string>;
    const emulatorUrl = ({ vendor }: PatientGraphEmulator) => emulators[vendor];
    const connectors = track(await startEmulator(loadEmulatorEntrypoint(CONNECTORS_EMULATOR), { PORT: '0', [CONNECTORS_EMULATOR.tokenEnv]: CONNECTORS_TOKEN })).url;

    const tokenFor = ({ vendor }: PatientGraphEmulator) => (options.wrongTokenFor === vendor ? `${VENDOR_TOKENS[vendor]}-wrong` : VENDOR_TOKENS[vendor]);
    const subgraphUrls = await Promise.all(
      SUBGRAPHS.map(async (subgraph) => {
        // A vendor cache follows the stack's bus, as it follows the sync service's under npm start.
        const deps = hasVendorCache(subgraph) ? { bus } : {};
        const running = track(
          await loadSubgraphEntrypoint(subgraph).start({ PORT: '0', ...vendorEnv(subgraph.emulators, emulatorUrl, tokenFor), ...internalTokenSecret }, deps),
        );
        return [subgraph.name, running.graphqlUrl] as const;
      }),
    );
    // The sync service's entrypoint serves a SyncServer (subgraphs/sync/src/main.ts); it is
    // loaded by path, which erases the type.
    const sync = track(
      (await loadSubgraphEntrypoint(SYNC_SERVICE).start(
        {
          PORT: String(syncPort),
          PUBLIC_URL: syncOrigin,
          ...vendorEnv(SYNC_SERVICE.emulators, emulatorUrl, ({ vendor }) => VENDOR_TOKENS[vendor]),
          ...STACK_WEBHOOK_SECRETS,
          SYNC_WORKER_CLAIM_AFTER_MS: '500',
          SYNC_SWEEP_ENABLED: 'false',
          ...internalTokenSecret,
          ...options.syncEnv,
        },
        { bus },
      )) as SyncServer,
    );
    // The cascade follows the stack's bus (consumer groups at '$': only what happens from now on).
    const cascade = track(
      (await loadSubgraphEntrypoint(CASCADE_SERVICE).start(
        {
          PORT: '0',
          ...vendorEnv(CASCADE_SERVICE.emulators, (emulator) => (emulator.vendor === 'connectors' ? connectors : emulators[emulator.vendor]), (emulator) =>
            emulator.vendor === 'connectors' ? CONNECTORS_TOKEN : VENDOR_TOKENS[emulator.vendor],
          ),
          CASCADE_POLL_INTERVAL_MS: '100',
          CASCADE_CLAIM_AFTER_MS: '2000',
          ...internalTokenSecret,
          ...options.cascadeEnv,
        },
        { bus },
      )) as CascadeServer,
    );
    const subgraphs = Object.fromEntries([...subgraphUrls, [SYNC_SERVICE.name, sync.graphqlUrl], [CASCADE_SERVICE.name, cascade.graphqlUrl]]) as Record<SubgraphName, string>;

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
          AUTH_CLINICS: 'test',
          ...internalTokenSecret,
          ...Object.fromEntries(Object.entries(subgraphs).map(([name, url]) => [subgraphUrlEnv(name), url])),
          GATEWAY_CONFIG: fromRoot('schema', 'gateway.json'),
          ...options.gatewayEnv,
        }),
        { bus, ...(options.gatewayLogger ? { logger: options.gatewayLogger } : {}) },
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
      cascade,
      connectors,
      bus,
      async query(query, variables, queryOptions) {
        const response = await fetch(gateway.graphqlUrl, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${queryOptions?.token ?? token}` },
          body: JSON.stringify({ query, variables }),
        });
        const body = (await response.json()) as { data?: any; errors?: any[]; extensions?: any };
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
