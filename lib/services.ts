/**
 * The registry of the patient graph's services, the one list of them: each subgraph with the
 * vendor emulators it reads from, the sync service, which reads every vendor and receives
 * their webhooks, and the cascade service, which follows the sync service's events and delivers
 * through its connectors (to the connectors emulator offline). `npm start`'s launcher (lib/stack/patient-graph.ts), the in-process test stack
 * (test/stack.ts), composition (schema/subgraphs.ts), the failover benchmark and the generated
 * docker-compose.yml (lib/stack/docker-compose.ts) are all built from it, so adding a service is
 * an entry here plus the service's own code. Nothing in gateway/ reads it: the gateway is generic.
 *
 * An entrypoint is named once, from the project root without an extension. Processes run it
 * compiled (`dist/<entrypoint>.js`); a stack in one process requires it where this code runs
 * (the sources under ts-jest) and calls its `entrypoint` export (lib/emulator-main.ts,
 * lib/subgraph-main.ts).
 */
import path from 'node:path';
import type { z } from 'zod';
import type { EmulatorEntrypoint } from './emulator-main';
import { fromRoot } from './root';
import type { SubgraphEntrypoint } from './subgraph-main';

/** A vendor emulator: what a client needs to reach it. */
export interface VendorEmulatorService {
  /** The emulator's name: what it reports to the launcher, its docker-compose service. */
  name: string;
  /** Its main module, exporting `entrypoint` (an EmulatorEntrypoint). */
  entrypoint: string;
  /** The vendor it stands in for (the test stack's key for it). */
  vendor: string;
  /**
   * The documented port, which the emulator's own default and its clients' default base URLs
   * point at: `npm start` takes it when it is free, docker-compose always.
   */
  defaultPort: number;
  /** The variables a client reads the vendor's base URL and its token from. */
  baseUrlEnv: string;
  tokenEnv: string;
  /** The token the emulator accepts, and its clients send, when none is set. */
  devToken: string;
  /** Variables of the emulator's own that `npm start` passes on from its environment. */
  settings?: readonly string[];
}

/** A vendor emulator that also sends the sync service the vendor's signed webhooks. */
export interface EmulatorService extends VendorEmulatorService {
  /** The signed webhooks the emulator sends the sync service. */
  webhook: {
    /** The variable the emulator reads the URL to post to from (unset: it sends none). */
    urlEnv: string;
    /** The route on the sync service that receives them. */
    path: string;
    /** Secrets the emulator signs with and the sync service verifies with: variable → development value. */
    secrets: Readonly<Record<string, string>>;
  };
}

export interface SubgraphService<Emulator extends VendorEmulatorService = VendorEmulatorService> {
  /** The subgraph's name in the supergraph (and the gateway's SUBGRAPH_<NAME>_URL). */
  name: string;
  /** Its main module, exporting `entrypoint` (a SubgraphEntrypoint). */
  entrypoint: string;
  /** Its Federation 2 schema, from the project root. */
  schema: string;
  /** Its fixed port: its own default, docker-compose's, and the supergraph's default routing URL's. */
  port: number;
  /** The emulators it reads from: it gets each one's base URL and token. */
  emulators: readonly Emulator[];
  /**
   * It keeps vendor responses in a vendor cache (VENDOR_CACHE_* variables) that `entity-changes`
   * on the bus evicts: `npm start` gives it the sync service's bus over HTTP (BUS_URL, BUS_TOKEN),
   * or with Redis REDIS_URL and a VENDOR_CACHE_KEY its instances share, and passes VENDOR_CACHE_*
   * on; docker-compose gives it REDIS_URL; the test stack hands it its bus.
   */
  vendorCache?: boolean;
}

/** The subgraphs of the domain, each run in as many instances as asked for. */
export const SUBGRAPHS = [
  {
    name: 'semble',
    entrypoint: 'subgraphs/semble/src/main',
    schema: 'subgraphs/semble/schema.graphql',
    port: 4001,
    emulators: [
      {
        name: 'semble-emulator',
        entrypoint: 'subgraphs/semble/emulator/main',
        vendor: 'semble',
        defaultPort: 4101,
        baseUrlEnv: 'SEMBLE_BASE_URL',
        tokenEnv: 'SEMBLE_TOKEN',
        devToken: 'semble-dev-token',
        webhook: { urlEnv: 'SEMBLE_WEBHOOK_URL', path: '/webhooks/semble', secrets: { SEMBLE_WEBHOOK_SECRET: 'semble-dev-webhook-secret' } },
      },
    ],
  },
  {
    name: 'crm',
    entrypoint: 'subgraphs/crm/src/main',
    schema: 'subgraphs/crm/schema.graphql',
    port: 4002,
    emulators: [
      {
        name: 'hubspot-emulator',
        entrypoint: 'subgraphs/crm/emulator/main',
        vendor: 'hubspot',
        defaultPort: 4102,
        baseUrlEnv: 'HUBSPOT_BASE_URL',
        tokenEnv: 'HUBSPOT_TOKEN',
        devToken: 'hubspot-dev-token',
        webhook: { urlEnv: 'HUBSPOT_WEBHOOK_URL', path: '/webhooks/hubspot', secrets: { HUBSPOT_CLIENT_SECRET: 'hubspot-dev-client-secret' } },
        settings: ['HUBSPOT_RATE_LIMIT_MAX', 'HUBSPOT_RATE_LIMIT_WINDOW_MS'],
      },
    ],
  },
  {
    name: 'payments',
    entrypoint: 'subgraphs/payments/src/main',
    schema: 'subgraphs/payments/schema.graphql',
    port: 4003,
    vendorCache: true,
    emulators: [
      {
        name: 'stripe-emulator',
        entrypoint: 'subgraphs/payments/emulator/main',
        vendor: 'stripe',
        defaultPort: 4103,
        baseUrlEnv: 'STRIPE_BASE_URL',
        tokenEnv: 'STRIPE_SECRET_KEY',
        devToken: 'sk_test_patientgraph',
        webhook: { urlEnv: 'STRIPE_WEBHOOK_URL', path: '/webhooks/stripe', secrets: { STRIPE_WEBHOOK_SECRET: 'whsec_patientgraph_dev' } },
        settings: ['STRIPE_SEARCH_MAX_CLAUSES'],
      },
      {
        name: 'gocardless-emulator',
        entrypoint: 'subgraphs/payments/emulator/gocardless-main',
        vendor: 'gocardless',
        defaultPort: 4106,
        baseUrlEnv: 'GOCARDLESS_BASE_URL',
        tokenEnv: 'GOCARDLESS_ACCESS_TOKEN',
        devToken: 'gocardless-dev-token',
        webhook: { urlEnv: 'GOCARDLESS_WEBHOOK_URL', path: '/webhooks/gocardless', secrets: { GOCARDLESS_WEBHOOK_SECRET: 'gocardless-dev-webhook-secret' } },
      },
    ],
  },
  {
    name: 'calendar',
    entrypoint: 'subgraphs/calendar/src/main',
    schema: 'subgraphs/calendar/schema.graphql',
    port: 4004,
    emulators: [
      {
        name: 'google-calendar-emulator',
        entrypoint: 'subgraphs/calendar/emulator/main',
        vendor: 'google',
        defaultPort: 4104,
        baseUrlEnv: 'GOOGLE_CALENDAR_BASE_URL',
        tokenEnv: 'GOOGLE_CALENDAR_TOKEN',
        devToken: 'google-dev-token',
        webhook: {
          urlEnv: 'GOOGLE_CALENDAR_WEBHOOK_URL',
          path: '/webhooks/google-calendar',
          // Google push has no signature: the channel we created and the token we gave it.
          secrets: { GOOGLE_CALENDAR_CHANNEL_ID: 'patient-graph-dev-channel', GOOGLE_CALENDAR_CHANNEL_TOKEN: 'google-dev-channel-token' },
        },
      },
    ],
  },
] as const satisfies readonly SubgraphService<EmulatorService>[];

/** An emulator of the registry, typed with its literal names (so `vendor` is a Vendor). */
export type PatientGraphEmulator = (typeof SUBGRAPHS)[number]['emulators'][number];
export type Vendor = PatientGraphEmulator['vendor'];

/** Every vendor emulator, in the order of the subgraphs that read them. */
export const EMULATORS: readonly PatientGraphEmulator[] = SUBGRAPHS.flatMap((subgraph): readonly PatientGraphEmulator[] => subgraph.emulators);

/** The sync service: the sync subgraph, webhook ingress and worker, one instance reading every vendor. */
export const SYNC_SERVICE = {
  name: 'sync',
  entrypoint: 'subgraphs/sync/src/main',
  schema: 'subgraphs/sync/schema.graphql',
  port: 4005,
  emulators: EMULATORS,
} as const satisfies SubgraphService<EmulatorService>;

/**
 * The connectors emulator: one process standing in for every vendor a cascade connector delivers
 * to (signed webhook, Slack, Teams, Mailchimp, Twilio, Jira, Asana, GA4, Mixpanel). It only
 * receives, so it sends no webhooks; its token is every vendor credential it accepts, and the
 * cascade's connectors sign and authenticate with it (CASCADE_WEBHOOK_SECRET and the like).
 */
export const CONNECTORS_EMULATOR = {
  name: 'connectors-emulator',
  entrypoint: 'subgraphs/cascade/emulator/main',
  vendor: 'connectors',
  defaultPort: 4107,
  baseUrlEnv: 'CONNECTORS_BASE_URL',
  tokenEnv: 'CONNECTORS_EMULATOR_TOKEN',
  devToken: 'connectors-dev-token',
} as const satisfies VendorEmulatorService;

/**
 * The secrets the default cascade.json names (a Slack webhook URL is its own credential), as the
 * connectors emulator at `baseUrl` with `token` accepts them: what the cascade uses offline when
 * they are unset.
 */
export function cascadeConnectorSecrets(baseUrl: string, token: string): Record<string, string> {
  return {
    CASCADE_WEBHOOK_SECRET: token,
    CASCADE_SLACK_FRONT_DESK_URL: `${baseUrl}/services/T0CLINIC/B0FRONTDESK/${token}`,
    CASCADE_SLACK_FINANCE_URL: `${baseUrl}/services/T0CLINIC/B0FINANCE/${token}`,
    CASCADE_JIRA_API_TOKEN: token,
    CASCADE_MAILCHIMP_API_KEY: token,
    CASCADE_TWILIO_AUTH_TOKEN: token,
    CASCADE_GA4_API_SECRET: token,
  };
}

const emulatorOf = (vendor: Vendor) => EMULATORS.find((emulator) => emulator.vendor === vendor) as PatientGraphEmulator;

/**
 * The cascade service: the cascade subgraph (steps, dead letters, redrive), its intake from the
 * sync service's topics and its deliverer. It reads Semble (event fields), HubSpot (marketing
 * consent), Stripe and GoCardless (failed payments), and delivers to the connectors emulator.
 * One instance unless REDIS_URL (replicas then share its consumer groups and store).
 */
export const CASCADE_SERVICE = {
  name: 'cascade',
  entrypoint: 'subgraphs/cascade/src/main',
  schema: 'subgraphs/cascade/schema.graphql',
  port: 4006,
  emulators: [emulatorOf('semble'), emulatorOf('hubspot'), emulatorOf('stripe'), emulatorOf('gocardless'), CONNECTORS_EMULATOR],
} as const satisfies SubgraphService;

/** Every emulator a stack runs: the vendors' and the connectors'. */
export const ALL_EMULATORS: readonly VendorEmulatorService[] = [...EMULATORS, CONNECTORS_EMULATOR];

/** Every subgraph in the supergraph. */
export const ALL_SUBGRAPHS = [...SUBGRAPHS, SYNC_SERVICE, CASCADE_SERVICE] as const;

export type SubgraphName = (typeof ALL_SUBGRAPHS)[number]['name'];

/** Every webhook secret of every emulator: variable → development value. */
export const WEBHOOK_SECRETS: Readonly<Record<string, string>> = Object.fromEntries(EMULATORS.flatMap((emulator) => Object.entries(emulator.webhook.secrets)));

/** The subgraph keeps a vendor cache that follows the bus (see SubgraphService.vendorCache). */
export const hasVendorCache = (subgraph: SubgraphService) => subgraph.vendorCache === true;

/** The routing URL the supergraph records for a subgraph (the gateway's default for it): its fixed port on localhost. */
export const defaultRoutingUrl = (subgraph: SubgraphService) => `http://localhost:${subgraph.port}/graphql`;

/** The compiled entrypoint, which processes run, also when this module runs under ts-jest. */
export const scriptOf = (service: VendorEmulatorService | SubgraphService) => fromRoot('dist', `${service.entrypoint}.js`);

/**
 * The environment that points a client at `emulators`: each one's base URL and, when `tokenOf`
 * is given, its token.
 */
export function vendorEnv<Emulator extends VendorEmulatorService>(
  emulators: readonly Emulator[],
  urlOf: (emulator: Emulator) => string | undefined,
  tokenOf?: (emulator: Emulator) => string,
): Record<string, string | undefined> {
  return Object.fromEntries(
    emulators.flatMap((emulator) => [[emulator.baseUrlEnv, urlOf(emulator)], ...(tokenOf ? [[emulator.tokenEnv, tokenOf(emulator)]] : [])]),
  );
}

/**
 * A service's `entrypoint` export, required where this code runs. The module is found by a path
 * in data, so its export is checked here, once, before anything calls it.
 */
function requireEntrypoint(service: VendorEmulatorService | SubgraphService): { name: string; start: (...args: never[]) => unknown } {
  const file = path.join(__dirname, '..', service.entrypoint);
  const exported = (require(file) as { entrypoint?: { name?: unknown; start?: unknown } }).entrypoint;
  if (typeof exported?.start !== 'function' || exported.name !== service.name) {
    const found = exported === undefined ? 'no such export' : `name ${JSON.stringify(exported.name)} and start ${typeof exported.start}`;
    throw new Error(`${service.entrypoint}: expected an \`entrypoint\` export named "${service.name}" with a start function, got ${found}`);
  }
  return exported as { name: string; start: (...args: never[]) => unknown };
}

export const loadEmulatorEntrypoint = (emulator: VendorEmulatorService) => requireEntrypoint(emulator) as unknown as EmulatorEntrypoint<z.ZodRawShape>;
export const loadSubgraphEntrypoint = (subgraph: SubgraphService) => requireEntrypoint(subgraph) as unknown as SubgraphEntrypoint;
