/**
 * Reading the audit trail: the gateway writes one `audit.operation` event per operation that
 * touched protected data on the `audit` topic of the bus; an admin reads them back here,
 * filtered by patient, subject and time, oldest first, paged by the bus cursor. A cursor names
 * the instant of its event, so `since` starts the scan at the right place instead of at the
 * oldest record kept.
 */
import { CursorExpiredError, InvalidCursorError } from '../../../lib/event-bus';
import type { BusEvent, EventBus } from '../../../lib/event-bus';
import { SyncErrorCode, syncError } from './errors';

export const AUDIT_TOPIC = 'audit';
export const MAX_AUDIT_PAGE = 500;
const SCAN_PAGE = 500;
/** The last cursor of a millisecond: "after" it is everything from the next one on. */
const LAST_SEQ = ((1n << 64n) - 1n).toString();

/** The gateway's record, as it is on the bus (gateway/src/audit/audit-trail.ts). */
interface AuditPayload {
  at: string;
  subject: string;
  roles: string[];
  clinic: string | null;
  transport: string;
  operationType: string;
  operationName: string | null;
  operationHash: string | null;
  entities: Array<{ type: string; id: string }>;
  categories: string[];
  fromCache: boolean;
  outcome: string;
}

export interface AuditFilter {
  patientId?: string | null;
  subject?: string | null;
  since?: string | null;
  until?: string | null;
  first?: number | null;
  after?: string | null;
}

function instant(value: string | null | undefined, argumentName: string): number | undefined {
  if (value === null || value === undefined) return undefined;
  const ms = Date.parse(value);
  if (Number.isNaN(ms)) throw syncError(SyncErrorCode.BadUserInput, `${argumentName}: expected an ISO 8601 instant, got ${JSON.stringify(value)}`, { argumentName });
  return ms;
}

function toRecord(event: BusEvent) {
  const payload = event.payload as AuditPayload;
  return {
    id: event.cursor,
    at: payload.at,
    subject: payload.subject,
    roles: payload.roles ?? [],
    clinic: payload.clinic ?? null,
    transport: payload.transport,
    operationType: payload.operationType,
    operationName: payload.operationName ?? null,
    operationHash: payload.operationHash ?? null,
    patientIds: (payload.entities ?? []).filter((entity) => entity.type === 'Patient').map((entity) => entity.id),
    categories: payload.categories ?? [],
    fromCache: Boolean(payload.fromCache),
    outcome: payload.outcome,
  };
}

export async function listAuditRecords(bus: EventBus, filter: AuditFilter, topic = AUDIT_TOPIC) {
  const first = filter.first ?? 50;
  if (!Number.isInteger(first) || first < 0 || first > MAX_AUDIT_PAGE) {
    throw syncError(SyncErrorCode.BadUserInput, `first: expected 0 to ${MAX_AUDIT_PAGE}, got ${first}`, { argumentName: 'first' });
  }
  const since = instant(filter.since, 'since');
  const until = instant(filter.until, 'until');
  let after: string | undefined = filter.after ?? (since !== undefined ? `${Math.max(0, since - 1)}-${LAST_SEQ}` : undefined);
  const matches: ReturnType<typeof toRecord>[] = [];
  let more = false;
  scan: for (;;) {
    let events: BusEvent[];
    try {
      events = await bus.read(topic, { ...(after ? { after } : {}), limit: SCAN_PAGE });
    } catch (error) {
      if (error instanceof InvalidCursorError && filter.after) throw syncError(SyncErrorCode.BadUserInput, error.message, { argumentName: 'after' });
      // `since` older than what the bus keeps: start at the oldest record kept.
      if (error instanceof CursorExpiredError && !filter.after) {
        after = undefined;
        events = await bus.read(topic, { limit: SCAN_PAGE });
      } else {
        throw error;
      }
    }
    for (const event of events) {
      const record = toRecord(event);
      if (until !== undefined && Date.parse(record.at) > until) break scan;
      if (filter.subject && record.subject !== filter.subject) continue;
      if (filter.patientId && !record.patientIds.includes(filter.patientId)) continue;
      if (matches.length === first) {
        more = true;
        break scan;
      }
      matches.push(record);
    }
    if (events.length < SCAN_PAGE) break;
    after = events[events.length - 1]!.cursor;
  }
  const edges = matches.map((record) => ({ cursor: record.id, node: record }));
  return {
    nodes: matches,
    edges,
    pageInfo: { hasNextPage: more, hasPreviousPage: Boolean(filter.after), startCursor: edges[0]?.cursor ?? null, endCursor: edges.at(-1)?.cursor ?? null },
  };
}
