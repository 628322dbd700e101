/**
 * Cursor pagination of `patients` over Semble's page/pageSize lists, against the real
 * emulator: every patient exactly once, in the practice system's order; argument errors.
 */
import { startSembleHarness } from './harness';
import type { GraphQLResult, SembleHarness } from './harness';

const PAGE = /* GraphQL */ `
  query Page($first: Int, $after: String, $filter: PatientFilter) {
    patients(first: $first, after: $after, filter: $filter) {
      nodes { id }
      edges { cursor node { id } }
      pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    }
  }
`;

interface Page {
  patients: {
    nodes: Array<{ id: string }>;
    edges: Array<{ cursor: string; node: { id: string } }>;
    pageInfo: { hasNextPage: boolean; hasPreviousPage: boolean; startCursor: string | null; endCursor: string | null };
  };
}

async function walk(harness: SembleHarness, first: number, filter?: Record<string, unknown>): Promise<string[]> {
  const ids: string[] = [];
  let after: string | null = null;
  for (let guard = 0; guard < 1000; guard++) {
    const result: GraphQLResult<Page> = await harness.query<Page>(PAGE, { first, after, filter });
    expect(result.errors).toBeUndefined();
    const connection: Page['patients'] = result.data!.patients;
    expect(connection.edges.map((edge) => edge.node.id)).toEqual(connection.nodes.map((node) => node.id));
    expect(connection.pageInfo.hasPreviousPage).toBe(after !== null);
    ids.push(...connection.nodes.map((node) => node.id));
    if (!connection.pageInfo.hasNextPage) return ids;
    expect(connection.nodes.length).toBe(first);
    after = connection.pageInfo.endCursor;
  }
  throw new Error('pagination did not end');
}

describe('patients pagination (60 patients)', () => {
  let harness: SembleHarness;
  beforeAll(async () => {
    harness = await startSembleHarness({ patients: 60 });
  });
  afterAll(async () => {
    await harness.stop();
  });

  it('walks all patients with first: 7, without duplicates or gaps, in seed order', async () => {
    const ids = await walk(harness, 7);
    expect(ids).toEqual(harness.world.patients.map((patient) => patient.id));
    expect(new Set(ids).size).toBe(60);
  });

  it('defaults first to 50 and counts every patient in totalCount', async () => {
    const result = await harness.query(`{ patients { nodes { id } totalCount pageInfo { hasNextPage } } }`);
    expect(result.errors).toBeUndefined();
    expect(result.data!.patients.nodes).toHaveLength(50);
    expect(result.data!.patients.totalCount).toBe(60);
    expect(result.data!.patients.pageInfo.hasNextPage).toBe(true);
  });

  it('answers first: 0 with no nodes and says whether there is more', async () => {
    const result = await harness.query(`{ patients(first: 0) { nodes { id } pageInfo { hasNextPage endCursor } } }`);
    expect(result.data!.patients).toEqual({ nodes: [], pageInfo: { hasNextPage: true, endCursor: null } });
  });

  it('rejects first: 501 with BAD_USER_INPUT instead of capping', async () => {
    const result = await harness.query(`{ patients(first: 501) { nodes { id } } }`);
    expect(result.errors?.[0]?.message).toBe('first must be between 0 and 500, got 501');
    expect(result.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', argumentName: 'first' });
  });

  it('rejects a negative first', async () => {
    const result = await harness.query(`{ patients(first: -1) { nodes { id } } }`);
    expect(result.errors?.[0]?.message).toBe('first must be between 0 and 500, got -1');
    expect(result.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', argumentName: 'first' });
  });

  it('rejects a malformed after cursor', async () => {
    for (const after of ['not-a-cursor', Buffer.from('offset:-3').toString('base64'), '']) {
      const result = await harness.query(PAGE, { first: 5, after });
      expect(result.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', argumentName: 'after' });
    }
  });

  it('filters with Semble search and updatedSince', async () => {
    const target = harness.world.patients[10]!;
    const searched = await walk(harness, 50, { search: target.lastName });
    const expected = harness.world.patients.filter((patient) => patient.lastName.toLowerCase().includes(target.lastName.toLowerCase()) || patient.firstName.toLowerCase().includes(target.lastName.toLowerCase()) || (patient.email ?? '').toLowerCase().includes(target.lastName.toLowerCase()));
    expect(searched).toEqual(expected.map((patient) => patient.id));

    const since = harness.world.patients[30]!.updatedAt;
    const recent = await walk(harness, 50, { updatedSince: since });
    expect(recent).toEqual(harness.world.patients.filter((patient) => patient.updatedAt >= since).map((patient) => patient.id));
  });

  it('rejects an updatedSince that is not a date-time', async () => {
    const result = await harness.query(PAGE, { first: 5, filter: { updatedSince: 'yesterday' } });
    expect(result.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', argumentName: 'filter.updatedSince' });
  });
});

describe('patients pagination across Semble pages (250 patients)', () => {
  let harness: SembleHarness;
  beforeAll(async () => {
    harness = await startSembleHarness({ patients: 250 });
  });
  afterAll(async () => {
    await harness.stop();
  });

  it('walks windows that straddle Semble pages of 100', async () => {
    const ids = await walk(harness, 37);
    expect(ids).toEqual(harness.world.patients.map((patient) => patient.id));
  });

  it('serves first: 500 in one answer', async () => {
    const result = await harness.query(`{ patients(first: 500) { nodes { id } pageInfo { hasNextPage } totalCount } }`);
    expect(result.data!.patients.nodes).toHaveLength(250);
    expect(result.data!.patients.pageInfo.hasNextPage).toBe(false);
    expect(result.data!.patients.totalCount).toBe(250);
  });

  it('reads only the Semble pages a window needs, and pages to the end only for totalCount', async () => {
    await harness.resetRequests();
    await harness.query(`{ patients(first: 10) { nodes { id } } }`);
    expect(await harness.sembleRequests()).toBe(1);

    await harness.resetRequests();
    await harness.query(`{ patients(first: 10) { nodes { id } totalCount } }`);
    // Page 1 is shared by the window and the count; pages 2 and 3 are the count's.
    expect(await harness.sembleRequests()).toBe(3);
  });
});
