import fs from 'node:fs';
import { parse } from 'yaml';
import { loadGatewayConfig } from '../../gateway/src/config';
import { fromRoot } from '../root';
import { ALL_EMULATORS, CASCADE_SERVICE, EMULATORS, SUBGRAPHS, SYNC_SERVICE } from '../services';
import { dockerComposeAdminYaml, dockerComposeProductionYaml, dockerComposeYaml, generatedDockerFiles, loadBalancerConf } from './docker-compose';

describe('the committed compose files and load balancer configuration', () => {
  it.each(Object.entries(generatedDockerFiles()))('%s is what the service registry generates today (run `npm run compose:docker` when this fails)', (file, text) => {
    expect(fs.readFileSync(fromRoot(file), 'utf8')).toBe(text);
  });
});

describe('the generated docker-compose.yml, read as compose reads it (YAML 1.1, merge keys)', () => {
  type Service = { command: string[]; environment?: Record<string, string> };
  const { services } = parse(dockerComposeYaml(), { version: '1.1' }) as { services: Record<string, Service> };
  const tokens = Object.fromEntries(ALL_EMULATORS.map((emulator) => [emulator.tokenEnv, emulator.devToken]));

  it('gives every container of the image the shared environment, and the gateway only its own', () => {
    const containers = Object.entries(services).filter(([name]) => name !== 'redis' && name !== 'gateway');
    // Every emulator, two instances of each subgraph, the sync service and the cascade service.
    expect(containers).toHaveLength(ALL_EMULATORS.length + 2 * SUBGRAPHS.length + 2);
    for (const [, service] of containers) expect(service.environment).toMatchObject(tokens);
    expect(Object.keys(services.gateway!.environment!)).not.toContain(EMULATORS[0]!.tokenEnv);
  });

  it('makes the second instance of a subgraph the first one again', () => {
    for (const { name } of SUBGRAPHS) expect(services[`${name}-b`]).toEqual(services[`${name}-a`]);
  });

  // What an operator sets (compose refuses to start without them); defaults stay as written.
  const OPERATOR: Record<string, string> = {
    AUTH_ISSUER: 'https://login.example.org/',
    AUTH_AUDIENCE: 'api://patient-graph',
    AUTH_CLINICS: 'clinic-1',
    CACHE_ENCRYPTION_KEY: 'ab'.repeat(32),
    INTERNAL_TOKEN_SECRET: 'cd'.repeat(32),
  };
  /** A service's environment as compose interpolates it from `operator`'s variables. */
  const interpolated = (service: Service, operator: Record<string, string> = OPERATOR) =>
    Object.fromEntries(
      Object.entries(service.environment ?? {}).map(([key, value]) => [
        key,
        String(value).replace(/\$\{([A-Z_]+)(?::([?-])((?:[^{}]|\{\})*))?\}/g, (_match, name: string, kind?: string, rest?: string) => {
          if (operator[name] !== undefined) return operator[name]!;
          if (kind === '-') return rest ?? '';
          throw new Error(`compose would refuse to start without ${name}: ${rest}`);
        }),
      ]),
    );

  it("gives the gateway a configuration it starts with in production, once the operator's values are set", () => {
    const config = loadGatewayConfig({ ...interpolated(services.gateway!), GATEWAY_CONFIG: fromRoot('schema', 'gateway.json') });
    expect(config).toMatchObject({ environment: 'production', auth: { mode: 'oidc' }, cache: { redisUrl: 'redis://redis:6379' }, internalTokenSecret: OPERATOR.INTERNAL_TOKEN_SECRET });
  });

  it("gives the gateway and every subgraph the operator's INTERNAL_TOKEN_SECRET, and starts none of them without it", () => {
    const signedAndVerifying = ['gateway', SYNC_SERVICE.name, CASCADE_SERVICE.name, ...SUBGRAPHS.flatMap(({ name }) => [`${name}-a`, `${name}-b`])];
    const { INTERNAL_TOKEN_SECRET: _, ...withoutSecret } = OPERATOR;
    for (const name of signedAndVerifying) {
      expect(interpolated(services[name]!).INTERNAL_TOKEN_SECRET).toBe(OPERATOR.INTERNAL_TOKEN_SECRET);
      expect(() => interpolated(services[name]!, withoutSecret)).toThrow('compose would refuse to start without INTERNAL_TOKEN_SECRET');
    }
    // The emulators are no part of it.
    for (const { name } of ALL_EMULATORS) expect(services[name]!.environment).not.toHaveProperty('INTERNAL_TOKEN_SECRET');
  });
});

describe('the generated docker-compose.yml, operations', () => {
  type Service = {
    command: string[];
    environment?: Record<string, string>;
    healthcheck?: { test: string[] };
    depends_on?: Record<string, { condition: string }>;
    ports?: string[];
    volumes?: string[];
  };
  const compose = parse(dockerComposeYaml(), { version: '1.1' }) as { services: Record<string, Service>; volumes: Record<string, unknown> };
  const { services } = compose;

  it('gives every service a healthcheck; those of the image fetch a health route on their own port with node (the image has no curl)', () => {
    for (const [name, service] of Object.entries(services)) {
      expect([name, service.healthcheck?.test?.[0]]).toEqual([name, 'CMD']);
      if (name === 'redis') continue;
      const [, command, flag, script] = service.healthcheck!.test;
      expect({ name, command, flag }).toEqual({ name, command: 'node', flag: '-e' });
      expect(script).toContain(`fetch('http://127.0.0.1:${service.environment!.PORT}/`);
    }
    expect(services.gateway!.healthcheck!.test[3]).toContain('/readyz');
    expect(services[SYNC_SERVICE.name]!.healthcheck!.test[3]).toContain('/readyz');
    for (const { name } of [...ALL_EMULATORS, CASCADE_SERVICE, ...SUBGRAPHS.map(({ name }) => ({ name: `${name}-a` }))]) expect(services[name]!.healthcheck!.test[3]).toContain('/healthz');
  });

  it('starts a service once what it depends on is healthy, and names only services that exist', () => {
    for (const [name, service] of Object.entries(services)) {
      for (const [dependency, { condition }] of Object.entries(service.depends_on ?? {})) {
        expect({ name, dependency, exists: dependency in services, condition }).toEqual({ name, dependency, exists: true, condition: 'service_healthy' });
      }
    }
    expect(Object.keys(services.gateway!.depends_on!)).toEqual(expect.arrayContaining([SYNC_SERVICE.name, CASCADE_SERVICE.name, 'redis', ...SUBGRAPHS.flatMap(({ name }) => [`${name}-a`, `${name}-b`])]));
  });

  it("publishes only the gateway's port; the emulators' admin APIs only with docker-compose.admin.yml, on the host's loopback at their documented ports", () => {
    expect(Object.entries(services).filter(([, service]) => service.ports).map(([name, service]) => [name, service.ports])).toEqual([['gateway', ['4000:4000']]]);
    const admin = parse(dockerComposeAdminYaml(), { version: '1.1' }) as { services: Record<string, Service> };
    expect(Object.keys(admin.services)).toEqual(ALL_EMULATORS.map((emulator) => emulator.name));
    for (const emulator of ALL_EMULATORS) expect(admin.services[emulator.name]).toEqual({ ports: [`127.0.0.1:${emulator.defaultPort}:${emulator.defaultPort}`] });
    expect(ALL_EMULATORS.map((emulator) => emulator.defaultPort).sort()).toEqual([4101, 4102, 4103, 4104, 4106, 4107]);
  });

  it('keeps Redis data in a named volume with the append-only file on', () => {
    const redis = services.redis!;
    expect(redis.command.join(' ')).toContain('--appendonly yes');
    expect(redis.volumes).toEqual(['redis-data:/data']);
    expect(compose.volumes).toHaveProperty('redis-data');
  });
});

describe('the generated docker-compose.production.yml, over docker-compose.yml', () => {
  type Service = {
    image?: string;
    profiles?: string[];
    environment?: Record<string, string>;
    depends_on?: Record<string, { condition: string }>;
    ports?: string[];
    volumes?: string[];
    healthcheck?: { test: string[] };
  };
  const base = (parse(dockerComposeYaml(), { version: '1.1' }) as { services: Record<string, Service> }).services;
  const { services } = parse(dockerComposeProductionYaml(), { version: '1.1' }) as { services: Record<string, Service> };

  it("switches the single gateway off and runs two replicas with its environment, healthcheck and dependencies, unpublished", () => {
    expect(services.gateway).toEqual({ profiles: ['single-gateway'] });
    const { ports: _, ...single } = base.gateway as Service & { command: string[] };
    for (const replica of ['gateway-1', 'gateway-2']) {
      expect(services[replica]).toMatchObject({ environment: single.environment, healthcheck: single.healthcheck, depends_on: single.depends_on });
      expect(services[replica]).not.toHaveProperty('ports');
    }
    // The replicas share the bus, the rate limits and the entity cache through Redis.
    expect(services['gateway-1']!.environment).toMatchObject({ NODE_ENV: 'production', AUTH_MODE: 'oidc', REDIS_URL: 'redis://redis:6379' });
  });

  it("puts a pinned nginx on the gateway's port, started once both replicas are healthy, with the generated configuration read-only", () => {
    const balancer = services['load-balancer']!;
    expect(balancer.image).toMatch(/^nginx:\d+\.\d+\.\d+-alpine$/);
    expect(balancer.ports).toEqual(['4000:4000']);
    expect(balancer.volumes).toEqual(['./docker/load-balancer.conf:/etc/nginx/conf.d/default.conf:ro']);
    expect(balancer.depends_on).toEqual({ 'gateway-1': { condition: 'service_healthy' }, 'gateway-2': { condition: 'service_healthy' } });
    expect(balancer.healthcheck!.test).toEqual(['CMD', 'wget', '-q', '-O', '/dev/null', 'http://127.0.0.1:4000/healthz']);
  });

  it('balances over both replicas, leaves a failing one out, and passes WebSocket upgrades on', () => {
    const conf = loadBalancerConf();
    expect(conf).toContain('server gateway-1:4000 max_fails=3 fail_timeout=10s;');
    expect(conf).toContain('server gateway-2:4000 max_fails=3 fail_timeout=10s;');
    expect(conf).toContain('listen 4000;');
    expect(conf).toContain('proxy_set_header Upgrade $http_upgrade;');
    expect(conf).toContain('proxy_next_upstream error timeout http_502 http_503 http_504;');
    expect(conf).not.toContain('non_idempotent');
  });

  it('requires the vendor cache key of every instance of a subgraph with a vendor cache, and names only services docker-compose.yml has', () => {
    for (const name of Object.keys(services).filter((name) => !['gateway-1', 'gateway-2', 'load-balancer'].includes(name))) expect(base).toHaveProperty([name]);
    for (const name of ['payments-a', 'payments-b']) expect(services[name]!.environment!.VENDOR_CACHE_KEY).toMatch(/^\$\{VENDOR_CACHE_KEY:\?/);
  });
});
