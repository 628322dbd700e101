import { matchesSearchQuery, parseSearchQuery, SearchQueryError } from '../emulator/search-query';
import type { SearchClause } from '../emulator/search-query';
import { metadataOrQuery } from '../../../lib/vendors/stripe';

describe('parseSearchQuery', () => {
  it('parses a metadata clause', () => {
    expect(parseSearchQuery("metadata['semble_patient_id']:'abc123'")).toEqual({
      combinator: 'AND',
      clauses: [{ field: 'metadata', metadataKey: 'semble_patient_id', operator: ':', value: 'abc123', negated: false }],
    });
  });

  it('parses OR-joined clauses over fields and metadata, with double quotes', () => {
    const query = parseSearchQuery(`customer:'cus_1' OR customer:"cus_2" OR metadata["semble_invoice_id"]:'inv'`);
    expect(query.combinator).toBe('OR');
    expect(query.clauses.map((c) => [c.field, c.metadataKey, c.value])).toEqual([
      ['customer', undefined, 'cus_1'],
      ['customer', undefined, 'cus_2'],
      ['metadata', 'semble_invoice_id', 'inv'],
    ]);
  });

  it('parses AND, negation, numbers, comparisons and substring', () => {
    const query = parseSearchQuery("status:'succeeded' AND amount>=1000 AND -currency:'usd' AND email~'exa'");
    expect(query.combinator).toBe('AND');
    expect(query.clauses).toEqual([
      { field: 'status', operator: ':', value: 'succeeded', negated: false },
      { field: 'amount', operator: '>=', value: 1000, negated: false },
      { field: 'currency', operator: ':', value: 'usd', negated: true },
      { field: 'email', operator: '~', value: 'exa', negated: false },
    ]);
  });

  it('unescapes backslash-escaped quotes, matching how the client quotes values', () => {
    const query = parseSearchQuery(metadataOrQuery('k', ["O'Brien", 'back\\slash']));
    expect(query.clauses.map((c) => c.value)).toEqual(["O'Brien", 'back\\slash']);
  });

  it('allows 10 clauses and rejects 11 with a message naming the limit', () => {
    const ids = Array.from({ length: 11 }, (_, i) => `p${i}`);
    expect(parseSearchQuery(metadataOrQuery('semble_patient_id', ids.slice(0, 10))).clauses).toHaveLength(10);
    expect(() => parseSearchQuery(metadataOrQuery('semble_patient_id', ids))).toThrow(
      'at most 10 clauses are allowed, got 11',
    );
    expect(() => parseSearchQuery(metadataOrQuery('semble_patient_id', ids.slice(0, 3)), { maxClauses: 2 })).toThrow(SearchQueryError);
  });

  it.each([
    ['', 'at least one clause'],
    ["customer:'cus_1' OR status:'x' AND amount>1", 'AND and OR cannot be combined'],
    ["customer:'cus_1' status:'x'", "'AND' or 'OR'"],
    ["customer:'cus_1", 'a closing'],
    ["customer='cus_1'", 'an operator'],
    ['customer:cus_1', 'a quoted value or a number'],
    ["metadata[semble_patient_id]:'1'", 'a quoted string'],
    ["metadata['']:'1'", 'a non-empty metadata key'],
    ["status['x']:'1'", "':' after the field name"],
    ["amount>'12'", "'>' needs a number"],
    ["email~'ab'", "'~' needs at least 3 characters"],
    ["customer:'a' or customer:'b'", "'AND' or 'OR'"],
  ])('rejects %j', (text, message) => {
    expect(() => parseSearchQuery(text)).toThrow(SearchQueryError);
    expect(() => parseSearchQuery(text)).toThrow(message);
  });
});

describe('matchesSearchQuery', () => {
  interface Row {
    customer: string;
    amount: number;
    metadata: Record<string, string>;
  }
  const read = (row: Row, clause: SearchClause) =>
    clause.field === 'metadata' ? (row.metadata[clause.metadataKey ?? ''] ?? null) : clause.field === 'customer' ? row.customer : clause.field === 'amount' ? row.amount : undefined;
  const row: Row = { customer: 'cus_1', amount: 1500, metadata: { semble_patient_id: 'p1' } };

  it('ORs and ANDs clauses', () => {
    expect(matchesSearchQuery(row, parseSearchQuery("customer:'cus_2' OR metadata['semble_patient_id']:'p1'"), read)).toBe(true);
    expect(matchesSearchQuery(row, parseSearchQuery("customer:'cus_2' OR metadata['semble_patient_id']:'p2'"), read)).toBe(false);
    expect(matchesSearchQuery(row, parseSearchQuery("customer:'cus_1' AND amount>1000 AND amount<=1500"), read)).toBe(true);
    expect(matchesSearchQuery(row, parseSearchQuery("customer:'cus_1' AND -amount:1500"), read)).toBe(false);
  });

  it('treats a missing metadata key as no match', () => {
    expect(matchesSearchQuery(row, parseSearchQuery("metadata['plan']:'x'"), read)).toBe(false);
  });
});
