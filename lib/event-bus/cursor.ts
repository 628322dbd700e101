/**
 * Cursors: parsing, ordering and formatting of `<ms>-<seq>` positions, the same shape as a
 * Redis stream id so both bus implementations hand out interchangeable cursors.
 */
import { InvalidCursorError } from './types';

export interface CursorPosition {
  ms: bigint;
  seq: bigint;
}

// Redis stream ids are two unsigned 64-bit integers; anything larger Redis itself rejects,
// so accepting it here would turn a client's typo into a server error later.
const U64_MAX = (1n << 64n) - 1n;
const CURSOR_PATTERN = /^(\d{1,20})-(\d{1,20})$/;

/** The position before every event: `after: '0-0'` means "from the very start". */
export const CURSOR_ZERO: CursorPosition = { ms: 0n, seq: 0n };

/** Parses a client-supplied cursor; throws InvalidCursorError unless it is `<ms>-<seq>`. */
export function parseCursor(cursor: unknown): CursorPosition {
  if (typeof cursor !== 'string') throw new InvalidCursorError(String(cursor));
  const match = CURSOR_PATTERN.exec(cursor);
  if (!match) throw new InvalidCursorError(cursor);
  const ms = BigInt(match[1]!);
  const seq = BigInt(match[2]!);
  if (ms > U64_MAX || seq > U64_MAX) throw new InvalidCursorError(cursor);
  return { ms, seq };
}

export function compareCursors(a: CursorPosition, b: CursorPosition): number {
  if (a.ms !== b.ms) return a.ms < b.ms ? -1 : 1;
  if (a.seq !== b.seq) return a.seq < b.seq ? -1 : 1;
  return 0;
}

export function formatCursor(position: CursorPosition): string {
  return `${position.ms}-${position.seq}`;
}

/** True for the largest representable cursor, after which nothing can ever come. */
export function isLastPossibleCursor(position: CursorPosition): boolean {
  return position.ms === U64_MAX && position.seq === U64_MAX;
}
