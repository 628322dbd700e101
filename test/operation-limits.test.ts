/**
 * Operation limits through the real stack, over HTTP and over WebSocket: each limit refuses an
 * operation over it with OPERATION_LIMIT_EXCEEDED naming the limit and what was found, before any
 * subgraph (or vendor) is asked; the README's queries pass; and the nested-fragment fan-out that
 * once ran for half a minute is refused without the gateway's memory growing.
 */
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { startPatientGraph } from './stack';
import type { PatientGraphStack } from './stack';

/** Fifteen levels of fragments, each reaching back to the patient twice: 2^15 paths. */
const FAN_OUT = [
  'query FanOut { patients(first: 50) { nodes { ...L0 } } }',
  ...Array.from({ length: 15 }, (_, level) =>
    level === 14
      ? `fragment L${level} on Patient { id }`
      : `fragment L${level} on Patient { crmContact { patient { ...L${level + 1} } } appointments { patient { ...L${level + 1} } } }`,
  ),
].join('\n');

const OVERVIEW = `query PatientOverview { patients(first: 500) { totalCount pageInfo { hasNextPage endCursor } nodes {
  id fullName dateOfBirth email nhsNumber phones { number e164 } dataQuality { score issues route }
  appointments { id start end status practitioner { fullName } calendarEvent { id status } }
  invoices { id total outstanding payments { id status amountMinor currency } }
  crmContact { id lifecycleStage marketingConsent } deals { id stage amount }
  payments { id provider status amountMinor currency } subscriptions { id status plan } } } }`;

const repeat = (count: number, text: (index: number) => string) => Array.from({ length: count }, (_, index) => text(index)).join(' ');

/** One operation over each limit (the defaults), with the limit it must name. */
const OVER: Array<{ limit: string; query: string; variables?: Record<string, unknown> }> = [
  { limit: 'tokens', query: `{ ${repeat(6000, () => '__typename')} }` },
  { limit: 'depth', query: FAN_OUT },
  { limit: 'aliases', query: `{ patients(first: 1) { ${repeat(51, (i) => `a${i}: totalCount`)} } }` },
  { limit: 'directives', query: `{ patients(first: 1) { ${repeat(26, (i) => `t${i}: totalCount @include(if: true) @skip(if: false)`)} } }` },
  { limit: 'rootFields', query: `{ ${repeat(21, (i) => `p${i}: patient(id: "${i}") { id }`)} }` },
  { limit: 'fragmentSpreads', query: `{ patients(first: 1) { nodes { ${repeat(101, () => '...F')} } } } fragment F on Patient { id }` },
  { limit: 'cost', query: '{ patients(first: 500) { nodes { appointments { patient { appointments { patient { invoices { payments { id } } } } } } } } }' },
  { limit: 'variables', query: `query(${repeat(101, (i) => `$v${i}: Int`)}) { __typename }`, variables: Object.fromEntries(Array.from({ length: 101 }, (_, i) => [`v${i}`, i])) },
  { limit: 'variableStringLength', query: 'query($s: String) { patients(first: 1, filter: { search: $s }) { totalCount } }', variables: { s: 'x'.repeat(400_000) } },
];

describe('operation limits', () => {
  let stack: PatientGraphStack;
  beforeAll(async () => {
    stack = await startPatientGraph({ patients: 40 });
  });
  afterAll(async () => {
    await stack?.stop();
  });

  const vendorRequests = async () => Object.values(await stack.vendorRequests()).reduce((sum, counts) => sum + counts.total, 0);

  it.each(OVER)('refuses an operation over the $limit limit over HTTP, naming it, before any subgraph is asked', async ({ limit, query, variables }) => {
    await stack.resetVendorRequests();
    const answer = await stack.query(query, variables);
    expect(answer.status).toBe(400);
    expect(answer.data).toBeUndefined();
    expect(answer.errors).toEqual([
      expect.objectContaining({ extensions: expect.objectContaining({ code: 'OPERATION_LIMIT_EXCEEDED', limit, maximum: expect.any(Number), found: expect.anything() }) }),
    ]);
    expect(await vendorRequests()).toBe(0);
  });

  it('lets the README overview through', async () => {
    const answer = await stack.query(OVERVIEW);
    expect(answer.errors).toBeUndefined();
    expect(answer.data.patients.nodes).toHaveLength(40);
  });

  it("refuses the fan-out without the gateway growing (the test's own process runs the gateway, so its RSS is the gateway's and more)", async () => {
    const before = process.memoryUsage().rss;
    for (let i = 0; i < 20; i++) {
      const answer = await stack.query(FAN_OUT);
      expect(answer.errors?.[0]?.extensions).toMatchObject({ code: 'OPERATION_LIMIT_EXCEEDED', limit: 'depth' });
    }
    // Before the limits this one document grew the gateway to 1 GB; 100 MB of slack is for the test itself.
    expect(process.memoryUsage().rss - before).toBeLessThan(100 * 1024 * 1024);
  });

  describe('over WebSocket', () => {
    const subscribeOnce = async (query: string, variables?: Record<string, unknown>) => {
      const client = createClient({
        url: stack.gateway.graphqlUrl.replace('http://', 'ws://'),
        webSocketImpl: WebSocket,
        connectionParams: { authorization: `Bearer ${stack.token}` },
        retryAttempts: 0,
      });
      try {
        return await new Promise<unknown>((resolve) => {
          client.subscribe(
            { query, ...(variables ? { variables } : {}) },
            { next: (result) => resolve({ next: result }), error: (error) => resolve({ error }), complete: () => resolve({ complete: true }) },
          );
        });
      } finally {
        await client.dispose();
      }
    };
    const DEEP_SUBSCRIPTION = `subscription { conflicts { patient { ${repeat(12, () => 'crmContact { patient {')} id ${repeat(12, () => '} }')} } } }`;

    it.each([
      { limit: 'depth', query: DEEP_SUBSCRIPTION },
      { limit: 'tokens', query: `subscription { conflicts { ${repeat(6000, () => 'id')} } }` },
      { limit: 'aliases', query: `subscription { conflicts { ${repeat(51, (i) => `a${i}: id`)} } }` },
      { limit: 'variableStringLength', query: 'subscription($p: ID) { syncEvents(patientId: $p) { id } }', variables: { p: 'x'.repeat(20_000) } },
    ])('refuses a subscription over the $limit limit the same way', async ({ limit, query, variables }) => {
      expect(await subscribeOnce(query, variables)).toEqual({
        error: [expect.objectContaining({ extensions: expect.objectContaining({ code: 'OPERATION_LIMIT_EXCEEDED', limit }) })],
      });
    });
  });
});
