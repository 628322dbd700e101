/**
 * Single sign-on: a gateway in oidc mode in front of a small supergraph, taking tokens from a
 * local OpenID Connect issuer (oidc-issuer.ts) whose keys it finds through discovery. Tokens are
 * refused over HTTP (401 UNAUTHENTICATED) and over WebSocket (4403); keys rotate and retire; key
 * set fetches are counted at the issuer.
 */
import path from 'node:path';
import { parse } from 'graphql';
import { exportSPKI, SignJWT, UnsecuredJWT } from 'jose';
import WebSocket from 'ws';
import { createMemoryEventBus } from '../../lib/event-bus/memory';
import type { EventBus } from '../../lib/event-bus/types';
import { startSubgraph } from '../../lib/subgraph';
import { TEST_INTERNAL_TOKEN_SECRET } from '../../lib/test/as-gateway';
import type { RunningSubgraph } from '../../lib/subgraph';
import { authConfigSchema } from '../src/auth/config';
import { createGateway } from '../src/server';
import type { RunningGateway } from '../src/server';
import { baseConfig, composeToFile, eventually, graphql, productsSdl, startProducts, tempDir } from './fixtures';
import { startOidcIssuer } from './oidc-issuer';
import type { OidcIssuer } from './oidc-issuer';

const AUDIENCE = 'patient-graph-api';
const QUERY = '{ products { id } }';

let products: RunningSubgraph;
let supergraphFile: string;
let issuer: OidcIssuer;
const running: Array<{ stop(): Promise<void> }> = [];

beforeAll(async () => {
  products = await startProducts();
  supergraphFile = path.join(tempDir(), 'supergraph.graphql');
  composeToFile(supergraphFile, [{ name: 'products', url: products.graphqlUrl, typeDefs: parse(productsSdl()) }]);
  issuer = await startOidcIssuer({ audience: AUDIENCE });
});

afterAll(async () => {
  for (const server of running.reverse()) await server.stop();
  await issuer?.stop();
  await products?.stop();
});

/** A gateway in oidc mode for the issuer, serving clinic north; `auth` overrides its settings. */
async function startGateway(auth: Record<string, unknown> = {}, extra: { bus?: EventBus } = {}): Promise<RunningGateway> {
  const gateway = await createGateway(
    baseConfig({
      supergraphPath: supergraphFile,
      auth: authConfigSchema.parse({ mode: 'oidc', issuer: issuer.issuer, audience: AUDIENCE, clinics: ['north'], ...auth }),
      // Any mapped field makes the gateway serve graphql-ws; authentication happens on connect.
      ...(extra.bus ? { subscriptions: { fields: { productEvents: { topic: 'products', lookup: 'products' } } } as never } : {}),
    }),
    extra.bus ? { bus: extra.bus } : {},
  );
  running.push(gateway);
  return gateway;
}

async function ask(gateway: RunningGateway, token: string) {
  const { status, body } = await graphql(gateway.graphqlUrl, QUERY, { token });
  return { status, products: body.data?.products as unknown[] | undefined, error: body.errors?.[0] as { message: string; extensions: unknown } | undefined };
}

const refusedBecause = (reason: string) => ({ status: 401, products: undefined, error: { message: `Not authenticated: ${reason}`, extensions: { code: 'UNAUTHENTICATED' } } });
const served = { status: 200, products: [{ id: 'p1' }, { id: 'p2' }], error: undefined };
const NO_MATCHING_KEY = "invalid token: no key of the identity provider's key set matches the token";

describe('single sign-on: tokens from an OpenID Connect provider', () => {
  let gateway: RunningGateway;
  let bus: EventBus;

  beforeAll(async () => {
    bus = createMemoryEventBus();
    running.push({ stop: () => bus.close() });
    gateway = await startGateway({}, { bus });
  });

  it('serves a token from the provider, whose keys it found through discovery once', async () => {
    expect(await ask(gateway, await issuer.sign())).toEqual(served);
    expect(await ask(gateway, await issuer.sign({ sub: 'someone-else' }))).toEqual(served);
    expect(issuer.served().discovery).toBe(1);
  });

  it('refuses a token for another audience or issuer, an expired one and one that never expires', async () => {
    const now = Math.floor(Date.now() / 1000);
    const cases: Array<[string, string]> = [
      [await issuer.sign({}, { audience: 'another-api' }), 'invalid token: jwt audience invalid'],
      [await issuer.sign({}, { issuer: 'https://login.evil.example/' }), 'invalid token: jwt issuer invalid'],
      // Two minutes is beyond the 30 s clock tolerance.
      [await issuer.sign({}, { expiresAt: now - 120 }), 'invalid token: jwt expired'],
      [await issuer.sign({}, { expiresAt: null }), 'invalid token: jwt has no exp claim'],
    ];
    for (const [token, reason] of cases) expect(await ask(gateway, token)).toEqual(refusedBecause(reason));
  });

  it('refuses an unsigned token and an HS256 one signed with the public key, before looking for any key', async () => {
    const claims = { sub: 'mallory', clinic: 'north', roles: ['admin'] };
    const unsigned = new UnsecuredJWT(claims).setIssuer(issuer.issuer).setAudience(AUDIENCE).setExpirationTime('5m').encode();
    // The classic confusion: the provider's public key, which anyone can fetch, as an HMAC secret.
    const published = issuer.current();
    const hmacWithPublicKey = await new SignJWT(claims)
      .setProtectedHeader({ alg: 'HS256', kid: published.kid })
      .setIssuer(issuer.issuer)
      .setAudience(AUDIENCE)
      .setExpirationTime('5m')
      .sign(new TextEncoder().encode(await exportSPKI(published.publicKey)));
    const fetchesBefore = issuer.served().jwks;

    expect(await ask(gateway, unsigned)).toEqual(refusedBecause('invalid token: jwt signature is required'));
    expect(await ask(gateway, hmacWithPublicKey)).toEqual(refusedBecause('invalid token: jwt algorithm not allowed'));
    expect(issuer.served().jwks).toBe(fetchesBefore);
  });

  it('refuses tokens signed by a key the provider does not publish, under an unknown kid or a published one', async () => {
    const stranger = await issuer.addKey({ publish: false });
    expect(await ask(gateway, await issuer.sign({}, { key: stranger }))).toEqual(refusedBecause(NO_MATCHING_KEY));
    expect(await ask(gateway, await issuer.sign({}, { key: stranger, kid: issuer.current().kid }))).toEqual(refusedBecause('invalid token: invalid signature'));
  });

  it('refuses a token for a clinic this deployment does not serve, or for none, naming the claim and not its value', async () => {
    const south = await ask(gateway, await issuer.sign({ clinic: 'south' }));
    expect(south).toEqual(refusedBecause('the token\'s "clinic" claim is not a clinic this gateway serves'));
    expect(south.error!.message).not.toContain('south');
    expect(await ask(gateway, await issuer.sign({ clinic: undefined }))).toEqual(refusedBecause('the token has no "clinic" claim: every token is for one clinic'));
  });

  it('starts while the provider is unreachable, and refuses the tokens it cannot check', async () => {
    // Nothing listens on port 1: discovery fails at once.
    const unreachable = 'http://127.0.0.1:1/oauth2/default';
    const lonely = await startGateway({ issuer: unreachable });
    expect(await ask(lonely, await issuer.sign({}, { issuer: unreachable }))).toEqual(refusedBecause("invalid token: the identity provider's signing keys are unavailable"));
  });

  it('closes a WebSocket with 4403 for a refused token and acknowledges an accepted one', async () => {
    const wsUrl = gateway.graphqlUrl.replace('http://', 'ws://');
    expect(await connectWith(wsUrl, await issuer.sign())).toBe('acknowledged');
    expect(await connectWith(wsUrl, await issuer.sign({}, { audience: 'another-api' }))).toBe(4403);
    expect(await connectWith(wsUrl, await issuer.sign({ clinic: 'south' }))).toBe(4403);
  });
});

describe('key rotation', () => {
  /** Refetches for every unknown kid (no cooldown), and holds a key set for at most a second. */
  let eager: RunningGateway;
  /** Refetches at most once a minute. */
  let patient: RunningGateway;

  beforeAll(async () => {
    eager = await startGateway({ jwksCooldownMs: 0, jwksMaxAgeMs: 1000 });
    patient = await startGateway({ jwksCooldownMs: 60_000 });
  });

  it('accepts tokens from a new key once it refetched the key set, and refuses a retired key once it has fetched it again', async () => {
    const previous = await issuer.addKey();
    const previousToken = await issuer.sign({}, { key: previous });
    expect(await ask(eager, previousToken)).toEqual(served);

    const before = issuer.served().jwks;
    await issuer.addKey({ alg: 'ES256' });
    expect(await ask(eager, await issuer.sign())).toEqual(served);
    expect(issuer.served().jwks).toBeGreaterThan(before);
    // While both keys are published, both sign.
    expect(await ask(eager, previousToken)).toEqual(served);

    issuer.retireKey(previous.kid);
    expect(await eventually(async () => (await ask(eager, previousToken)).status === 401)).toBe(true);
    expect(await ask(eager, previousToken)).toEqual(refusedBecause(NO_MATCHING_KEY));
  });

  it('fetches the key set at most once per AUTH_JWKS_COOLDOWN_MS, however many unknown kids arrive', async () => {
    expect(await ask(patient, await issuer.sign())).toEqual(served);
    const strangers = await Promise.all(Array.from({ length: 5 }, () => issuer.addKey({ publish: false })));
    const tokens = await Promise.all(strangers.map((key) => issuer.sign({}, { key })));

    const before = issuer.served().jwks;
    for (const token of tokens) expect(await ask(patient, token)).toEqual(refusedBecause(NO_MATCHING_KEY));
    // A key the provider really did publish just now waits for the cooldown too.
    await issuer.addKey();
    expect(await ask(patient, await issuer.sign())).toEqual(refusedBecause(NO_MATCHING_KEY));
    expect(issuer.served().jwks).toBe(before);

    // The same tokens make a gateway without a cooldown fetch for each of them.
    for (const token of tokens) await ask(eager, token);
    expect(issuer.served().jwks - before).toBeGreaterThanOrEqual(tokens.length);
  });
});

describe("roles and clinic from the provider's claims, as field-level authorisation sees them", () => {
  const chartsSdl = `
    extend schema @link(url: "https://specs.apollo.dev/federation/v2.7", import: ["@key", "@requiresScopes"])
    type Query { chart: Chart }
    type Chart { id: ID! notes: String @requiresScopes(scopes: [["clinical"]]) total: Int @requiresScopes(scopes: [["financial"]]) }
  `;
  const NAMESPACED_CLINIC = 'https://patient-graph.example/clinic';
  let gateway: RunningGateway;

  beforeAll(async () => {
    const charts = await startSubgraph({
      name: 'charts',
      typeDefs: parse(chartsSdl),
      resolvers: { Query: { chart: () => ({ id: 'c1', notes: 'stable', total: 120 }) } },
      context: () => ({}),
      internalTokenSecret: TEST_INTERNAL_TOKEN_SECRET,
    });
    running.push(charts);
    const file = path.join(tempDir(), 'supergraph.graphql');
    composeToFile(file, [{ name: 'charts', url: charts.graphqlUrl, typeDefs: parse(chartsSdl) }]);
    gateway = await createGateway(
      baseConfig({
        supergraphPath: file,
        authorization: { roles: { clinician: ['clinical'], finance: ['financial'] } },
        auth: authConfigSchema.parse({
          mode: 'oidc',
          issuer: issuer.issuer,
          audience: AUDIENCE,
          clinics: ['north', 'south'],
          rolesClaim: 'realm_access.roles',
          roleMap: { doctors: ['clinician'] },
          clinicClaim: NAMESPACED_CLINIC,
        }),
      }),
    );
    running.push(gateway);
  });

  /** The chart as a token with `claims` sees it, and the paths of the fields withheld. */
  async function chartAs(claims: Record<string, unknown>) {
    const { status, body } = await graphql(gateway.graphqlUrl, '{ chart { notes total } }', { token: await issuer.sign(claims) });
    return { status, chart: body.data?.chart, withheld: body.errors?.map((error: { path?: string[] }) => error.path?.join('.')) };
  }

  it('reads roles at a nested claim path through AUTH_ROLE_MAP, and the clinic from a namespaced claim', async () => {
    const south = { [NAMESPACED_CLINIC]: 'south' };
    // "doctors" is the provider's name for our clinicians.
    expect(await chartAs({ ...south, realm_access: { roles: ['doctors'] } })).toEqual({ status: 200, chart: { notes: 'stable', total: null }, withheld: ['chart.total'] });
    // "finance" already is our role's name; "superuser" is nobody's.
    expect(await chartAs({ ...south, realm_access: { roles: ['finance', 'superuser'] } })).toEqual({ status: 200, chart: { notes: null, total: 120 }, withheld: ['chart.notes'] });
    // Roles anywhere but at AUTH_ROLES_CLAIM grant nothing (a chart with no field to show is withheld whole).
    expect(await chartAs({ ...south, roles: ['clinician', 'finance'] })).toEqual({ status: 200, chart: null, withheld: ['chart'] });
    // The clinic is read where AUTH_CLINIC_CLAIM says, not from a claim named clinic.
    expect((await chartAs({ clinic: 'north', realm_access: { roles: ['doctors'] } })).status).toBe(401);
  });
});

/** Open a graphql-ws connection with `token`: acknowledged, or the close code. */
function connectWith(wsUrl: string, token: string): Promise<'acknowledged' | number> {
  const socket = new WebSocket(wsUrl, 'graphql-transport-ws');
  return new Promise((resolve) => {
    socket.on('open', () => socket.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${token}` } })));
    socket.on('message', (data) => {
      if ((JSON.parse(String(data)) as { type: string }).type !== 'connection_ack') return;
      resolve('acknowledged');
      socket.close();
    });
    socket.on('close', (code) => resolve(code));
  });
}
