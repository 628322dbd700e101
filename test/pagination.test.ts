import { startPatientGraph } from './stack';
import type { PatientGraphStack } from './stack';

describe('paging through patients', () => {
  let stack: PatientGraphStack;

  beforeAll(async () => {
    stack = await startPatientGraph({ patients: 500 });
  });
  afterAll(async () => {
    await stack?.stop();
  });

  const PAGE = 'query ($first: Int!, $after: String, $filter: PatientFilter) { patients(first: $first, after: $after, filter: $filter) { totalCount pageInfo { hasNextPage endCursor } edges { cursor node { id } } nodes { id } } }';

  it('walks all 500 patients without duplicates or gaps', async () => {
    const seen: string[] = [];
    let after: string | null = null;
    let pages = 0;
    for (;;) {
      const result: any = await stack.query(PAGE, { first: 37, after });
      expect(result.errors).toBeUndefined();
      const connection = result.data.patients;
      expect(connection.totalCount).toBe(500);
      expect(connection.nodes).toEqual(connection.edges.map((edge: any) => edge.node));
      expect(connection.pageInfo.endCursor).toBe(connection.edges.at(-1)?.cursor ?? null);
      seen.push(...connection.nodes.map((node: { id: string }) => node.id));
      pages += 1;
      if (!connection.pageInfo.hasNextPage) break;
      after = connection.pageInfo.endCursor;
    }
    expect(pages).toBe(Math.ceil(500 / 37));
    expect(new Set(seen).size).toBe(500);
    expect(seen).toEqual(stack.world.patients.map((p) => p.id));
  });

  it('takes 500 in one page, the maximum', async () => {
    const result = await stack.query(PAGE, { first: 500 });
    expect(result.errors).toBeUndefined();
    expect(result.data.patients.nodes).toHaveLength(500);
    expect(result.data.patients.pageInfo.hasNextPage).toBe(false);
  });

  it('filters by updatedSince and pages the filtered set', async () => {
    const since = '2025-09-01T00:00:00.000Z';
    const expected = stack.world.patients.filter((p) => p.updatedAt >= since).map((p) => p.id);
    const seen: string[] = [];
    let after: string | null = null;
    for (;;) {
      const result: any = await stack.query(PAGE, { first: 100, after, filter: { updatedSince: since } });
      expect(result.errors).toBeUndefined();
      expect(result.data.patients.totalCount).toBe(expected.length);
      seen.push(...result.data.patients.nodes.map((n: { id: string }) => n.id));
      if (!result.data.patients.pageInfo.hasNextPage) break;
      after = result.data.patients.pageInfo.endCursor;
    }
    expect(seen).toEqual(expected);
  });

  it('filters by search text', async () => {
    const target = stack.world.patients[42]!;
    const result = await stack.query(PAGE, { first: 500, filter: { search: target.lastName } });
    expect(result.errors).toBeUndefined();
    const ids = result.data.patients.nodes.map((n: { id: string }) => n.id);
    expect(ids).toContain(target.id);
    expect(ids.length).toBeLessThan(500);
  });
});
