/**
 * The export's reading of a query, on a small schema of its own: which root field is paged, the
 * page documents it sends (its own `first`/`after`, `pageInfo`, the client's variables that fed
 * them dropped), `edges { node }` as well as `nodes`, the CSV columns of a selection with aliases
 * and fragments, and RFC 4180 quoting. Expected documents and columns are written by hand.
 */
import { buildSchema, parse, print } from 'graphql';
import { csvColumns, csvField, csvHeader, csvRow } from '../src/export/csv';
import { ExportPlanError, planExport } from '../src/export/paged-field';

const schema = buildSchema(`
  type Query {
    items(first: Int = 10, after: String, kind: String): ItemConnection
    things(first: Int, after: String): ThingConnection!
    item(id: ID!): Item
    list(first: Int, after: String): [Item]
  }
  type PageInfo { hasNextPage: Boolean! endCursor: String }
  type ItemConnection { nodes: [Item!]! pageInfo: PageInfo! totalCount: Int! }
  type ThingConnection { edges: [ThingEdge!]! pageInfo: PageInfo! }
  type ThingEdge { cursor: String! node: Item! }
  type Item { id: ID! name: String tags: [String!]! owner: Owner parts: [Part!]! }
  type Owner { id: ID! email: String address: Address }
  type Address { city: String }
  type Part { id: ID! }
`);

const same = (a: string, b: string) => expect(print(parse(a))).toBe(print(parse(b)));

describe('the plan of an export', () => {
  it('pages a nodes connection with its own first/after, drops the variables that fed them, and counts on the first page', () => {
    const plan = planExport(schema, 'query Q($n: Int, $k: String) { list: items(first: $n, kind: $k) { nodes { id } } }', undefined);
    same(plan.query, 'query Q($k: String, $_exportFirst: Int, $_exportAfter: String) { list: items(kind: $k, first: $_exportFirst, after: $_exportAfter) { nodes { id } _exportPageInfo: pageInfo { hasNextPage endCursor } } }');
    same(plan.firstQuery, 'query Q($k: String, $_exportFirst: Int, $_exportAfter: String) { list: items(kind: $k, first: $_exportFirst, after: $_exportAfter) { nodes { id } _exportPageInfo: pageInfo { hasNextPage endCursor } _exportTotalCount: totalCount } }');
    expect(plan).toMatchObject({ connectionKey: 'list', items: { kind: 'nodes', key: 'nodes' }, operationName: 'Q', counts: true });
  });

  it('pages an edges connection, reading each edge node, with no count where the type has none', () => {
    const plan = planExport(schema, '{ things { edges { cursor n: node { id } } } }', undefined);
    expect(plan).toMatchObject({ connectionKey: 'things', items: { kind: 'edges', key: 'edges', nodeKey: 'n' }, counts: false });
    expect(plan.firstQuery).toBe(plan.query);
  });

  it('keeps only the chosen operation of a document with several', () => {
    const plan = planExport(schema, 'query A { items { nodes { id } } } query B { things { edges { node { id } } } }', 'B');
    expect(plan.query).not.toContain('query A');
    expect(plan.connectionKey).toBe('things');
  });

  it.each([
    ['{ item(id: "1") { id } }', 'not a paged connection'],
    ['{ list { id } }', 'not a paged connection'],
    ['{ items { totalCount } }', 'selects no items'],
    ['{ items { nodes { id } } things { edges { node { id } } } }', 'one root field'],
    ['mutation { x }', 'cannot be exported'],
    ['query A { items { nodes { id } } } query B { items { nodes { id } } }', 'no operationName'],
    ['query($_exportAfter: String) { items(after: $_exportAfter) { nodes { id } } }', 'keeps for itself'],
    ['{ items { nodes { id }', 'does not parse'],
  ])('refuses %s, saying what was expected', (query, message) => {
    let caught: unknown;
    try {
      planExport(schema, query, undefined);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(ExportPlanError);
    expect((caught as Error).message).toContain(message);
    expect((caught as ExportPlanError).expected).toEqual(expect.any(String));
  });
});

describe('CSV of exported items', () => {
  it('has a column per leaf path (aliases, fragments merged), a list as one column', () => {
    const plan = planExport(schema, '{ items { nodes { id label: name ...O tags parts { id } owner { email } } } } fragment O on Item { owner { id address { city } } }', undefined);
    expect(csvColumns(plan.nodeType, plan.nodeSelection, plan.fragments).map((c) => c.header)).toEqual(['id', 'label', 'owner.id', 'owner.address.city', 'tags', 'parts', 'owner.email']);
  });

  it('quotes a field holding a comma, a quote, CR or LF, doubling quotes, and ends records with CRLF', () => {
    expect(['plain', 'a,b', 'say "hi"', 'two\nlines', 'cr\rhere', ''].map(csvField)).toEqual(['plain', '"a,b"', '"say ""hi"""', '"two\nlines"', '"cr\rhere"', '']);
    const columns = [{ header: 'id', path: ['id'] }, { header: 'owner.email', path: ['owner', 'email'] }, { header: 'tags', path: ['tags'] }, { header: 'n', path: ['n'] }];
    expect(csvHeader(columns)).toBe('id,owner.email,tags,n\r\n');
    expect(csvRow(columns, { id: '1', owner: null, tags: ['a', 'b'], n: 0 })).toBe('1,,"[""a"",""b""]",0\r\n');
  });
});
