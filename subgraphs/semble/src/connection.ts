/**
 * Cursor connections over Semble's page/pageSize lists. A cursor is the opaque base64 of an
 * item's offset in the list; a window is read with the fewest Semble pages (pageSize 100)
 * that cover it, and a total count – Semble has none – by paging to the end, only when a
 * client selects `totalCount`. Pages are memoised per connection (one request), never longer.
 */
import { GraphQLError } from 'graphql';
import { MAX_PAGE_SIZE } from '../../../lib/vendors/semble';
import type { SemblePage } from '../../../lib/vendors/semble';

export const DEFAULT_FIRST = 50;
export const MAX_FIRST = 500;

const CURSOR_PREFIX = 'offset:';

export function encodeCursor(offset: number): string {
  return Buffer.from(`${CURSOR_PREFIX}${offset}`, 'utf8').toString('base64');
}

/** The offset in a cursor, or null when it is not one of ours. */
export function decodeCursor(cursor: string): number | null {
  const text = Buffer.from(cursor, 'base64').toString('utf8');
  const match = /^offset:(0|[1-9]\d{0,8})$/.exec(text);
  // Re-encoding must give the input back, so arbitrary strings that happen to decode are refused.
  if (!match || encodeCursor(Number(match[1])) !== cursor) return null;
  return Number(match[1]);
}

export function badUserInput(argumentName: string, expected: string, message: string): GraphQLError {
  return new GraphQLError(message, { extensions: { code: 'BAD_USER_INPUT', argumentName, expected } });
}

/** `first` as asked for: null means the default; outside 0..500 is an error, never a silent cap. */
export function validateFirst(first: number | null | undefined): number {
  if (first === null || first === undefined) return DEFAULT_FIRST;
  if (!Number.isInteger(first) || first < 0 || first > MAX_FIRST) {
    throw badUserInput('first', `an integer between 0 and ${MAX_FIRST}`, `first must be between 0 and ${MAX_FIRST}, got ${first}`);
  }
  return first;
}

/** The offset of the first item after `after` (0 without a cursor). */
export function offsetAfter(after: string | null | undefined): number {
  if (after === null || after === undefined) return 0;
  const offset = decodeCursor(after);
  if (offset === null) {
    // The value is not echoed: it is client input of unknown content.
    throw badUserInput('after', 'a cursor returned by this connection', 'after must be a cursor returned by this connection, got a malformed cursor');
  }
  return offset + 1;
}

/** A list read through Semble pages, addressed by offset. */
export interface OffsetSource<T> {
  window(offset: number, limit: number): Promise<{ items: T[]; hasNextPage: boolean }>;
  count(): Promise<number>;
}

/** Page n (from 1) of a Semble list with pageSize MAX_PAGE_SIZE. */
export type PageFetcher<T> = (page: number) => Promise<SemblePage<T>>;

/** Offsets map straight onto Semble pages: read only the pages a window touches. */
export function pagedSource<T>(fetchPage: PageFetcher<T>): OffsetSource<T> {
  const pages = new Map<number, Promise<SemblePage<T>>>();
  const page = (n: number) => {
    let answer = pages.get(n);
    if (!answer) {
      answer = fetchPage(n);
      pages.set(n, answer);
    }
    return answer;
  };
  return {
    async window(offset, limit) {
      const firstPage = Math.floor(offset / MAX_PAGE_SIZE) + 1;
      const base = (firstPage - 1) * MAX_PAGE_SIZE;
      const items: T[] = [];
      let more = false;
      for (let n = firstPage; ; n++) {
        const answer = await page(n);
        items.push(...answer.data);
        more = answer.pageInfo.hasMore && answer.data.length > 0;
        // Stop once the window is covered: `hasMore` then says whether anything follows it.
        if (!more || base + items.length >= offset + limit) break;
      }
      const start = offset - base;
      return { items: items.slice(start, start + limit), hasNextPage: base + items.length > offset + limit || more };
    },
    async count() {
      for (let n = 1; ; n++) {
        const answer = await page(n);
        if (!answer.pageInfo.hasMore || answer.data.length === 0) return (n - 1) * MAX_PAGE_SIZE + answer.data.length;
      }
    },
  };
}

/** For a filter Semble cannot apply: read the whole list once, filter, then address by offset. */
export function filteredSource<T>(fetchPage: PageFetcher<T>, keep: (item: T) => boolean): OffsetSource<T> {
  let all: Promise<T[]> | undefined;
  const read = () =>
    (all ??= (async () => {
      const kept: T[] = [];
      for (let n = 1; ; n++) {
        const answer = await fetchPage(n);
        kept.push(...answer.data.filter(keep));
        if (!answer.pageInfo.hasMore || answer.data.length === 0) return kept;
      }
    })());
  return {
    async window(offset, limit) {
      const items = await read();
      return { items: items.slice(offset, offset + limit), hasNextPage: items.length > offset + limit };
    },
    async count() {
      return (await read()).length;
    },
  };
}

export interface Connection<T> {
  nodes: T[];
  edges: Array<{ cursor: string; node: T }>;
  pageInfo: { hasNextPage: boolean; hasPreviousPage: boolean; startCursor: string | null; endCursor: string | null };
  /** A function, so the default resolver calls it only when `totalCount` is selected. */
  totalCount: () => Promise<number>;
}

export async function connectionOf<T>(source: OffsetSource<T>, offset: number, limit: number): Promise<Connection<T>> {
  const { items, hasNextPage } = await source.window(offset, limit);
  const edges = items.map((node, i) => ({ cursor: encodeCursor(offset + i), node }));
  return {
    nodes: items,
    edges,
    pageInfo: {
      hasNextPage,
      hasPreviousPage: offset > 0,
      startCursor: edges[0]?.cursor ?? null,
      endCursor: edges[edges.length - 1]?.cursor ?? null,
    },
    totalCount: () => source.count(),
  };
}
