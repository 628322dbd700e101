/**
 * Semble webhooks. Semble's signature scheme is unverified (shared/domain.md), but its
 * createWebhook takes custom `headers`, so we register a shared secret in a header of our
 * choosing (default `x-semble-webhook-secret`) and compare it in constant time. The body
 * `{ eventType, data: { id } }` is only a hint: the receiver re-reads the record by id. There is
 * no event id on the wire, and two changes to the same record produce the same body, so the
 * body hash (`eventId`) identifies a body, not a change: never drop a delivery because its hash
 * was seen before (the sync service de-duplicates no Semble delivery).
 */
import { constantTimeEqual, parseJson, readHeader, secretList, sha256Hex } from './verification';
import type { HeaderSource, RawBody, WebhookFailure } from './verification';

export const SEMBLE_SECRET_HEADER = 'x-semble-webhook-secret';

export const SEMBLE_EVENT_TYPES = [
  'PATIENT_CREATED',
  'PATIENT_UPDATED',
  'PATIENT_DELETED',
  'BOOKING_CREATED',
  'BOOKING_UPDATED',
  'BOOKING_DELETED',
  'INVOICE_CREATED',
  'INVOICE_UPDATED',
  'INVOICE_PAID',
] as const;
export type SembleEventType = (typeof SEMBLE_EVENT_TYPES)[number];

export interface SembleWebhookBody {
  /** One of SEMBLE_EVENT_TYPES in practice; kept open so a new Semble event type is not a rejection. */
  eventType: string;
  data: { id: string };
}

export interface SembleSignInput {
  secret: string;
  /** @default x-semble-webhook-secret */
  headerName?: string;
}

/** The header a Semble webhook registered with our shared secret carries. */
export function signSemble(input: SembleSignInput): Record<string, string> {
  return { [input.headerName ?? SEMBLE_SECRET_HEADER]: input.secret };
}

export interface SembleVerifyInput {
  headers: HeaderSource;
  body: RawBody;
  /** The shared secret registered as a webhook header; several while rotating. */
  secret: string | readonly string[];
  /** @default x-semble-webhook-secret */
  headerName?: string;
}

export type SembleVerification =
  | { ok: true; event: SembleWebhookBody; eventId: string }
  | WebhookFailure<'MISSING_SIGNATURE' | 'BAD_SIGNATURE' | 'MALFORMED_BODY'>;

export function verifySemble(input: SembleVerifyInput): SembleVerification {
  const received = readHeader(input.headers, input.headerName ?? SEMBLE_SECRET_HEADER);
  if (received === undefined) return { ok: false, reason: 'MISSING_SIGNATURE' };
  if (!secretList(input.secret).some((secret) => constantTimeEqual(secret, received))) return { ok: false, reason: 'BAD_SIGNATURE' };
  const body = parseJson(input.body) as { eventType?: unknown; data?: { id?: unknown } } | undefined;
  const id = body && typeof body === 'object' && body.data && typeof body.data === 'object' ? body.data.id : undefined;
  if (!body || typeof body.eventType !== 'string' || body.eventType === '') return { ok: false, reason: 'MALFORMED_BODY' };
  // Ids may arrive as numbers; the receiver re-reads by id either way.
  if (!((typeof id === 'string' && id !== '') || (typeof id === 'number' && Number.isFinite(id)))) return { ok: false, reason: 'MALFORMED_BODY' };
  return { ok: true, event: { eventType: body.eventType, data: { id: String(id) } }, eventId: sembleEventId(input.body) };
}

/** The SHA-256 of the raw body: names the body (for logs and tests), not a change. */
export function sembleEventId(body: RawBody): string {
  return sha256Hex(body);
}
