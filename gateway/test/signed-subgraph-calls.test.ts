/**
 * The gateway signs every subgraph call with its caller's identity, for that subgraph: the
 * subgraphs of one request see the same subject, roles, clinic and request id (the next request
 * another id); the active health checks are signed too, so they keep endpoints healthy. A gateway
 * whose secret its subgraphs do not share is refused by them: its client is told the subgraph
 * failed (never that its own credentials did), and the health checks eject the endpoints.
 */
import path from 'node:path';
import { parse } from 'graphql';
import type { InternalIdentity } from '../../lib/internal-identity';
import { startSubgraph } from '../../lib/subgraph';
import type { RunningSubgraph } from '../../lib/subgraph';
import { TEST_INTERNAL_TOKEN_SECRET } from '../../lib/test/as-gateway';
import { createGateway } from '../src/server';
import type { RunningGateway } from '../src/server';
import { HEALTH_CHECK_SUBJECT } from '../src/upstream/health';
import { upstreamPolicySchema } from '../src/upstream/policy';
import { TEST_CLINIC, baseConfig, composeToFile, eventually, graphql, tempDir, testToken } from './fixtures';

const peopleSdl = `
  extend schema @link(url: "https://specs.apollo.dev/federation/v2.7", import: ["@key"])
  type Query { people: [Person!]! }
  type Person @key(fields: "id") { id: ID! name: String! }
`;
const notesSdl = `
  extend schema @link(url: "https://specs.apollo.dev/federation/v2.7", import: ["@key"])
  type Person @key(fields: "id") { id: ID! notes: [String!]! }
`;
const QUERY = '{ people { name notes } }';

describe('signed subgraph calls', () => {
  /** Who each subgraph was called by, in order: the identity its context received. */
  const callers: Record<'people' | 'notes', InternalIdentity[]> = { people: [], notes: [] };
  const requests = (subgraph: keyof typeof callers) => callers[subgraph].filter((identity) => identity.subject !== HEALTH_CHECK_SUBJECT);
  const healthChecks = (subgraph: keyof typeof callers) => callers[subgraph].filter((identity) => identity.subject === HEALTH_CHECK_SUBJECT);
  let people: RunningSubgraph;
  let notes: RunningSubgraph;
  let supergraphPath: string;
  const gateways: RunningGateway[] = [];
  /** A gateway over both subgraphs, health-checking them every 50 ms, signing with `internalTokenSecret`. */
  const startGateway = async (internalTokenSecret = TEST_INTERNAL_TOKEN_SECRET) => {
    const gateway = await createGateway(
      baseConfig({ supergraphPath, internalTokenSecret, upstream: upstreamPolicySchema.parse({ health: { intervalMs: 50, unhealthyThreshold: 2 } }) }),
    );
    gateways.push(gateway);
    return gateway;
  };
  const endpointHealth = async (gateway: RunningGateway) => {
    const ready = (await (await fetch(`${gateway.url}/readyz`)).json()) as { subgraphs: Record<string, { endpoints: Array<{ health: string }> }> };
    return Object.values(ready.subgraphs).flatMap((subgraph) => subgraph.endpoints.map((endpoint) => endpoint.health));
  };

  beforeAll(async () => {
    people = await startSubgraph({
      name: 'people',
      typeDefs: parse(peopleSdl),
      resolvers: { Query: { people: () => [{ id: '1', name: 'Ada' }] }, Person: { __resolveReference: (ref: { id: string }) => ({ id: ref.id, name: 'Ada' }) } },
      context: ({ identity }) => (callers.people.push(identity), {}),
      internalTokenSecret: TEST_INTERNAL_TOKEN_SECRET,
    });
    notes = await startSubgraph({
      name: 'notes',
      typeDefs: parse(notesSdl),
      resolvers: { Person: { __resolveReference: (ref: { id: string }) => ({ id: ref.id }), notes: () => ['allergic to penicillin'] } },
      context: ({ identity }) => (callers.notes.push(identity), {}),
      internalTokenSecret: TEST_INTERNAL_TOKEN_SECRET,
    });
    supergraphPath = path.join(tempDir(), 'supergraph.graphql');
    composeToFile(supergraphPath, [
      { name: 'people', url: people.graphqlUrl, typeDefs: parse(peopleSdl) },
      { name: 'notes', url: notes.graphqlUrl, typeDefs: parse(notesSdl) },
    ]);
  });
  afterEach(async () => {
    for (const gateway of gateways.splice(0)) await gateway.stop();
  });
  afterAll(async () => {
    await people?.stop();
    await notes?.stop();
  });

  it("carries the caller's subject, roles and clinic to every subgraph, with one request id per client request", async () => {
    const gateway = await startGateway();
    const before = { people: requests('people').length, notes: requests('notes').length };
    for (let i = 0; i < 2; i++) {
      const { body } = await graphql(gateway.graphqlUrl, QUERY, { token: testToken(['admin', 'clinician']) });
      expect(body.errors).toBeUndefined();
      expect(body.data).toEqual({ people: [{ name: 'Ada', notes: ['allergic to penicillin'] }] });
    }
    const [first, second] = [0, 1].map((i) => ({ people: requests('people')[before.people + i]!, notes: requests('notes')[before.notes + i]! }));
    expect(first!.people).toEqual({ subject: 'test-user', roles: ['admin', 'clinician'], clinic: TEST_CLINIC, requestId: expect.any(String) });
    expect(first!.notes).toEqual(first!.people);
    expect(second!.notes.requestId).toBe(second!.people.requestId);
    expect(second!.people.requestId).not.toBe(first!.people.requestId);
  });

  it('signs its health checks as a caller with no roles, and the endpoints they check stay healthy', async () => {
    const gateway = await startGateway();
    const before = { people: healthChecks('people').length, notes: healthChecks('notes').length };
    // Enough checks that two failing in a row would have ejected the endpoints.
    expect(await eventually(async () => healthChecks('people').length >= before.people + 4 && healthChecks('notes').length >= before.notes + 4)).toBe(true);
    expect(healthChecks('people').at(-1)).toEqual({ subject: HEALTH_CHECK_SUBJECT, roles: [], requestId: expect.any(String) });
    expect(await endpointHealth(gateway)).toEqual(['healthy', 'healthy']);
  });

  it("is refused by subgraphs that do not share its secret: the client sees the subgraph fail, and health checks eject it", async () => {
    const gateway = await startGateway('another-secret-0123456789abcdef0123456789');
    const before = requests('people').length;
    const { status, body } = await graphql(gateway.graphqlUrl, QUERY);
    expect(status).toBe(200);
    expect(body.data).toBeNull();
    expect(body.errors).toEqual([
      expect.objectContaining({ message: 'Subgraph "people" refused the gateway\'s internal identity', extensions: expect.objectContaining({ code: 'UPSTREAM_BAD_RESPONSE', serviceName: 'people' }) }),
    ]);
    expect(requests('people')).toHaveLength(before);
    expect(await eventually(async () => (await endpointHealth(gateway)).every((health) => health === 'ejected'))).toBe(true);
  });
});
