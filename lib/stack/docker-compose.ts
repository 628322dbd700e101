/**
 * docker-compose.yml, generated from the service registry (lib/services.ts): the vendor
 * emulators, two instances of every subgraph (those with a vendor cache keep it in Redis and
 * follow the bus there), the sync service with Redis (its bus and state), and the gateway, all
 * from the one image the Dockerfile builds; the gateway and every subgraph share the operator's
 * INTERNAL_TOKEN_SECRET. Services find each other by
 * their compose names on the fixed and documented ports the registry gives them. Every service
 * has a healthcheck (the image has node, not curl: the check is a `fetch`), each starts once
 * what it reads from is healthy, the emulators' admin APIs are published on the host's loopback
 * at their documented ports, and Redis keeps its data (append-only file) in a named volume.
 * `npm run compose:docker` writes the file; docker-compose-drift.test.ts fails when the committed
 * one is not what this writes.
 */
import fs from 'node:fs';
import { Document } from 'yaml';
import type { Alias, Scalar, YAMLMap } from 'yaml';
import { subgraphUrlEnv } from '../../gateway/src/config';
import { INTERNAL_TOKEN_SECRET_ENV } from '../internal-identity';
import { fromRoot } from '../root';
import { EMULATORS, SUBGRAPHS, SYNC_SERVICE, WEBHOOK_SECRETS, hasVendorCache, vendorEnv } from '../services';
import type { EmulatorService } from '../services';

export const DOCKER_COMPOSE_PATH = 'docker-compose.yml';

const HEADER = [
  ' Generated from lib/services.ts (the service registry) by lib/stack/docker-compose.ts:',
  ' edit those and run `npm run compose:docker`, not this file.',
  '',
  ' The patient graph as containers: the vendor emulators, two instances of each subgraph, the',
  ' sync service, the gateway and Redis.',
  ' The gateway runs as in production: set AUTH_ISSUER, AUTH_AUDIENCE and AUTH_CLINICS (your identity',
  ' provider, README: Single sign-on) and CACHE_ENCRYPTION_KEY (openssl rand -hex 32) before',
  ' `docker compose up`; AUTH_ROLES_CLAIM and AUTH_ROLE_MAP as your provider needs.',
  ' INTERNAL_TOKEN_SECRET (openssl rand -hex 32) is how the subgraphs know a call comes from the',
  ' gateway: set it too.',
].join('\n');

/** Two instances of every subgraph, so the gateway's balancing and failover work as in production. */
const INSTANCES = ['a', 'b'];
const REDIS_URL = 'redis://redis:6379';
const GATEWAY_PORT = 4000;
/** The gateway signs every subgraph call with it and the subgraphs refuse calls it did not sign: compose refuses to start without it. */
const INTERNAL_TOKEN_SECRET = {
  [INTERNAL_TOKEN_SECRET_ENV]: '${INTERNAL_TOKEN_SECRET:?set INTERNAL_TOKEN_SECRET to 32+ characters shared by the gateway and the subgraphs (openssl rand -hex 32)}',
};

/** Redis's data: its append-only file survives `docker compose down` (not `down -v`). */
const REDIS_VOLUME = 'redis-data';

/**
 * A container's healthcheck: GET `path` on its own port answers 2xx. The emulators seed their
 * world before they listen, hence the start period.
 */
const httpCheck = (port: number, path: string) => ({
  test: ['CMD', 'node', '-e', `fetch('http://127.0.0.1:${port}${path}').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))`],
  interval: '10s',
  timeout: '5s',
  retries: 5,
  start_period: '30s',
});

const emulatorUrl = (emulator: EmulatorService) => `http://${emulator.name}:${emulator.defaultPort}`;
const syncOrigin = `http://${SYNC_SERVICE.name}:${SYNC_SERVICE.port}`;

export function dockerComposeYaml(): string {
  // Compose reads YAML 1.1: written as 1.1, text such as `no` is quoted (1.1 reads it as false),
  // and `<<` is the merge key.
  const doc = new Document({}, { version: '1.1' });
  const map = (value: object, flow = false) => {
    const node = doc.createNode(value) as YAMLMap;
    node.flow = flow;
    return node;
  };
  const list = (values: readonly string[]) => doc.createNode(values, { flow: true });
  /** `entries` after `<<: *alias`, the merge key compose reads. */
  const merged = (alias: Alias, entries: object, flow = false) => {
    const node = map(entries, flow);
    node.items.unshift(doc.createPair('<<', alias));
    return node;
  };
  /** Adds `key: value` to `parent`, after a blank line and a comment when given. */
  const add = (parent: YAMLMap, key: string, value: unknown, before: { space?: boolean; comment?: string } = {}) => {
    const pair = doc.createPair(key, value);
    const keyNode = pair.key as Scalar;
    keyNode.spaceBefore = before.space;
    if (before.comment) keyNode.commentBefore = before.comment;
    parent.items.push(pair);
  };

  const sharedEnv = map({
    HOST: '0.0.0.0',
    LOG_LEVEL: 'info',
    SEED_PATIENTS: '500',
    ...Object.fromEntries(EMULATORS.map((emulator) => [emulator.tokenEnv, emulator.devToken])),
  });
  Object.entries(WEBHOOK_SECRETS).forEach(([key, value], index) =>
    add(sharedEnv, key, value, index === 0 ? { comment: ' Webhook secrets shared by the emulators (signing) and the sync service (verifying).' } : {}),
  );
  const service = map({ build: '.', image: 'patient-graph:local', restart: 'unless-stopped', environment: sharedEnv });
  const serviceAlias = doc.createAlias(service, 'service');
  const sharedEnvAlias = doc.createAlias(sharedEnv, 'service-env');
  /** Each of `names` started and healthy before the service starts. */
  const whenHealthy = (names: readonly string[]) => map(Object.fromEntries(names.map((name) => [name, map({ condition: 'service_healthy' }, true)])));
  const healthcheck = (port: number, path: string) => {
    const { test, ...timing } = httpCheck(port, path);
    return map({ test: list(test), ...timing });
  };
  /** A container of the image running `entrypoint` on `port`, with the shared environment plus `env`. */
  const container = (
    entrypoint: string,
    port: number,
    env: Record<string, string | undefined>,
    options: { dependsOn?: readonly string[]; flowEnv?: boolean; healthPath?: string; ports?: readonly string[] } = {},
  ) =>
    merged(serviceAlias, {
      command: list(['node', `dist/${entrypoint}.js`]),
      environment: merged(sharedEnvAlias, { PORT: String(port), ...env }, options.flowEnv ?? true),
      healthcheck: healthcheck(port, options.healthPath ?? '/healthz'),
      ...(options.ports ? { ports: list(options.ports) } : {}),
      ...(options.dependsOn ? { depends_on: whenHealthy(options.dependsOn) } : {}),
    });

  const services = map({});
  add(
    services,
    'redis',
    map({
      image: 'redis:7-alpine',
      command: list(['redis-server', '--appendonly', 'yes']),
      volumes: list([`${REDIS_VOLUME}:/data`]),
      healthcheck: map({ test: list(['CMD', 'redis-cli', 'ping']), interval: '5s', timeout: '3s', retries: 10 }),
    }),
    {
      comment:
        " The event bus (Redis Streams), the sync service's state and the vendor caches, kept in the\n redis-data volume (append-only file): a restart loses no event, checkpoint or conflict.",
    },
  );
  EMULATORS.forEach((emulator, index) =>
    add(
      services,
      emulator.name,
      container(
        emulator.entrypoint,
        emulator.defaultPort,
        { [emulator.webhook.urlEnv]: `${syncOrigin}${emulator.webhook.path}` },
        // The admin API (requests, faults, webhooks) on this machine only, at the port `npm start` uses.
        { ports: [`127.0.0.1:${emulator.defaultPort}:${emulator.defaultPort}`] },
      ),
      index === 0 ? { space: true, comment: " The vendor emulators; each one's admin API is published on the host's loopback (127.0.0.1:4101/__admin, …)." } : {},
    ),
  );
  const instanceNames = (name: string) => INSTANCES.map((instance) => `${name}-${instance}`);
  SUBGRAPHS.forEach((subgraph, index) => {
    const [first, ...others] = instanceNames(subgraph.name);
    const vendorCache = hasVendorCache(subgraph);
    const node = container(
      subgraph.entrypoint,
      subgraph.port,
      // Unset, each instance seals with a key of its own and they do not share entries.
      {
        ...vendorEnv(subgraph.emulators, emulatorUrl),
        ...(vendorCache ? { REDIS_URL, VENDOR_CACHE_KEY: '${VENDOR_CACHE_KEY:-}' } : {}),
        ...INTERNAL_TOKEN_SECRET,
      },
      { dependsOn: [...(vendorCache ? ['redis'] : []), ...subgraph.emulators.map((emulator) => emulator.name)] },
    );
    add(services, first!, node, index === 0 ? { space: true, comment: ' Two instances of every subgraph: the gateway balances over them and fails over between them.' } : {});
    // The other instances are the first one again.
    const alias = doc.createAlias(node, subgraph.name);
    for (const other of others) add(services, other, alias);
  });
  add(
    services,
    SYNC_SERVICE.name,
    container(
      SYNC_SERVICE.entrypoint,
      SYNC_SERVICE.port,
      { PUBLIC_URL: syncOrigin, REDIS_URL, ...vendorEnv(SYNC_SERVICE.emulators, emulatorUrl), ...INTERNAL_TOKEN_SECRET },
      // Healthy when its bus and store answer and its worker runs.
      { dependsOn: ['redis', ...SYNC_SERVICE.emulators.map((emulator) => emulator.name)], flowEnv: false, healthPath: '/readyz' },
    ),
    {
      space: true,
      comment: ' The sync service: sync subgraph, webhook ingress and the worker (one instance; more workers\n can share the work through the Redis consumer group).',
    },
  );
  const gatewayEnv = {
    HOST: '0.0.0.0',
    PORT: String(GATEWAY_PORT),
    NODE_ENV: 'production',
    LOG_LEVEL: 'info',
    // Production takes single sign-on only; compose refuses to start without these, with these messages.
    AUTH_MODE: 'oidc',
    AUTH_ISSUER: "${AUTH_ISSUER:?set AUTH_ISSUER to your identity provider's issuer URL (README, Single sign-on)}",
    AUTH_AUDIENCE: '${AUTH_AUDIENCE:?set AUTH_AUDIENCE to this API at your identity provider}',
    AUTH_CLINICS: '${AUTH_CLINICS:?set AUTH_CLINICS to the clinic id(s) this deployment serves}',
    AUTH_ROLES_CLAIM: '${AUTH_ROLES_CLAIM:-roles}',
    AUTH_ROLE_MAP: '${AUTH_ROLE_MAP:-{}}',
    CACHE_ENCRYPTION_KEY: '${CACHE_ENCRYPTION_KEY:?set CACHE_ENCRYPTION_KEY to 64 hex characters (openssl rand -hex 32)}',
    ...INTERNAL_TOKEN_SECRET,
    // /metrics and /readyz's details are closed in production without it.
    ADMIN_TOKEN: '${ADMIN_TOKEN:-}',
    ...Object.fromEntries(
      SUBGRAPHS.map((subgraph) => [subgraphUrlEnv(subgraph.name), instanceNames(subgraph.name).map((name) => `http://${name}:${subgraph.port}/graphql`).join(',')]),
    ),
    [subgraphUrlEnv(SYNC_SERVICE.name)]: `${syncOrigin}/graphql`,
    GATEWAY_CONFIG: 'schema/gateway.json',
    REDIS_URL,
  };
  const gateway = merged(serviceAlias, {
    command: list(['node', 'dist/gateway/src/main.js']),
    environment: map(gatewayEnv),
    ports: list([`${GATEWAY_PORT}:${GATEWAY_PORT}`]),
    // Healthy when the supergraph is loaded, the bus answers and every subgraph has an endpoint to use.
    healthcheck: healthcheck(GATEWAY_PORT, '/readyz'),
    depends_on: whenHealthy([...SUBGRAPHS.flatMap((subgraph) => instanceNames(subgraph.name)), SYNC_SERVICE.name, 'redis']),
  });
  add(services, 'gateway', gateway, { space: true });

  const root = map({});
  add(root, 'x-service', service);
  add(root, 'services', services, { space: true });
  add(root, 'volumes', map({ [REDIS_VOLUME]: map({}, true) }), { space: true });
  doc.contents = root;
  doc.commentBefore = HEADER;
  return doc.toString({ lineWidth: 0, flowCollectionPadding: false });
}

if (require.main === module) {
  fs.writeFileSync(fromRoot(DOCKER_COMPOSE_PATH), dockerComposeYaml());
  console.log(`Wrote ${DOCKER_COMPOSE_PATH} from lib/services.ts`);
}
