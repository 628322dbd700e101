/**
 * The subset of Stripe's Search Query Language the emulator understands, parsed once into
 * clauses and matched against wire records. Supported: `field:'value'` (exact), `field~'value'`
 * (substring, at least 3 characters), `field>n`, `<`, `>=`, `<=` (numbers), `metadata['key']:'value'`,
 * `-` before a clause to negate it, and clauses joined by ` AND ` or ` OR ` (not both, as in
 * Stripe), at most `maxClauses` of them. Anything else is a SearchQueryError, which the
 * emulator turns into Stripe's 400 invalid_request_error.
 */

export type SearchOperator = ':' | '~' | '>' | '<' | '>=' | '<=';

export interface SearchClause {
  /** The field name, e.g. `customer`; `metadata` for metadata clauses. */
  field: string;
  /** For `metadata['key']` clauses, the key. */
  metadataKey?: string;
  operator: SearchOperator;
  value: string | number;
  negated: boolean;
}

export interface SearchQuery {
  /** How clauses combine; a single clause is an AND of one. */
  combinator: 'AND' | 'OR';
  clauses: SearchClause[];
}

export class SearchQueryError extends Error {
  override name = 'SearchQueryError';
}

/** Stripe's documented limit on clauses per search query. */
export const STRIPE_MAX_SEARCH_CLAUSES = 10;

/** Parse `query`; throws SearchQueryError saying what was expected and where. */
export function parseSearchQuery(query: string, options: { maxClauses?: number } = {}): SearchQuery {
  const maxClauses = options.maxClauses ?? STRIPE_MAX_SEARCH_CLAUSES;
  let pos = 0;

  const fail = (expected: string): never => {
    const found = pos >= query.length ? 'the end of the query' : JSON.stringify(query.slice(pos, pos + 12));
    throw new SearchQueryError(`Invalid search query: expected ${expected} at position ${pos}, got ${found}.`);
  };
  const skipSpaces = () => {
    while (pos < query.length && query[pos] === ' ') pos++;
  };

  const readQuoted = (): string => {
    const quote = query[pos];
    if (quote !== "'" && quote !== '"') return fail('a quoted string');
    pos++;
    let out = '';
    while (pos < query.length && query[pos] !== quote) {
      // A backslash escapes the next character, so values may contain quotes.
      if (query[pos] === '\\' && pos + 1 < query.length) pos++;
      out += query[pos];
      pos++;
    }
    if (pos >= query.length) fail(`a closing ${quote}`);
    pos++;
    return out;
  };

  const readClause = (): SearchClause => {
    let negated = false;
    if (query[pos] === '-') {
      negated = true;
      pos++;
    }
    const nameMatch = /^[a-z_][a-z0-9_.]*/i.exec(query.slice(pos));
    if (!nameMatch) return fail('a field name');
    const field = nameMatch[0];
    pos += field.length;
    let metadataKey: string | undefined;
    if (query[pos] === '[') {
      if (field !== 'metadata') fail("':' after the field name");
      pos++;
      metadataKey = readQuoted();
      if (metadataKey === '') fail('a non-empty metadata key');
      if (query[pos] !== ']') fail("']'");
      pos++;
    }
    const opMatch = /^(>=|<=|:|~|>|<)/.exec(query.slice(pos));
    if (!opMatch) return fail("an operator (':', '~', '>', '<', '>=', '<=')");
    const operator = opMatch[0] as SearchOperator;
    pos += operator.length;
    let value: string | number;
    if (query[pos] === "'" || query[pos] === '"') {
      value = readQuoted();
    } else {
      const numberMatch = /^-?\d+(\.\d+)?/.exec(query.slice(pos));
      if (!numberMatch) return fail('a quoted value or a number');
      value = Number(numberMatch[0]);
      pos += numberMatch[0].length;
    }
    if ((operator === '>' || operator === '<' || operator === '>=' || operator === '<=') && typeof value !== 'number') {
      throw new SearchQueryError(`Invalid search query: '${operator}' needs a number, got a string for ${field}.`);
    }
    if (operator === '~' && String(value).length < 3) {
      throw new SearchQueryError(`Invalid search query: '~' needs at least 3 characters, got ${String(value).length}.`);
    }
    return { field, ...(metadataKey !== undefined ? { metadataKey } : {}), operator, value, negated };
  };

  skipSpaces();
  if (pos >= query.length) fail('at least one clause');
  const clauses: SearchClause[] = [readClause()];
  let combinator: 'AND' | 'OR' | undefined;
  for (;;) {
    const before = pos;
    skipSpaces();
    if (pos >= query.length) break;
    if (pos === before) fail("a space and then 'AND' or 'OR'");
    const word = /^(AND|OR) +/.exec(query.slice(pos));
    if (!word) return fail("'AND' or 'OR'");
    const next = word[1] as 'AND' | 'OR';
    if (combinator && combinator !== next) {
      throw new SearchQueryError('Invalid search query: AND and OR cannot be combined in one query.');
    }
    combinator = next;
    pos += word[0].length;
    clauses.push(readClause());
  }
  if (clauses.length > maxClauses) {
    throw new SearchQueryError(`Invalid search query: at most ${maxClauses} clauses are allowed, got ${clauses.length}.`);
  }
  return { combinator: combinator ?? 'AND', clauses };
}

/**
 * How a resource exposes its searchable fields: the value of `field` (or of metadata
 * `metadataKey`) on a record, or undefined when the resource does not support the field.
 */
export type SearchFieldReader<T> = (record: T, clause: SearchClause) => string | number | null | undefined;

/** Names of fields a resource cannot be searched by; the emulator answers 400 for these. */
export function unsupportedFields(query: SearchQuery, supported: ReadonlySet<string>): string[] {
  return query.clauses.filter((c) => !supported.has(c.field)).map((c) => c.field);
}

export function matchesSearchQuery<T>(record: T, query: SearchQuery, read: SearchFieldReader<T>): boolean {
  const test = (clause: SearchClause): boolean => {
    const actual = read(record, clause);
    let hit: boolean;
    if (actual === undefined || actual === null) hit = false;
    else if (clause.operator === ':') hit = String(actual) === String(clause.value);
    else if (clause.operator === '~') hit = String(actual).toLowerCase().includes(String(clause.value).toLowerCase());
    else {
      const n = Number(actual);
      const v = clause.value as number;
      hit = clause.operator === '>' ? n > v : clause.operator === '<' ? n < v : clause.operator === '>=' ? n >= v : n <= v;
    }
    return clause.negated ? !hit : hit;
  };
  return query.combinator === 'OR' ? query.clauses.some(test) : query.clauses.every(test);
}
