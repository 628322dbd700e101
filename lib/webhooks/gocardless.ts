/**
 * GoCardless webhooks: `Webhook-Signature = hex(HMAC-SHA256(endpoint secret, body))`, no
 * timestamp (replays are caught by event id only). The body is `{ events: [{ id,
 * resource_type, action, links }] }`; each event id is a replay-dedup key.
 */
import { createHmac } from 'node:crypto';
import { bodyBytes, constantTimeEqual, parseJson, readHeader, secretList } from './verification';
import type { HeaderSource, RawBody, WebhookFailure } from './verification';

export const GOCARDLESS_SIGNATURE_HEADER = 'Webhook-Signature';

export interface GoCardlessEvent {
  id: string;
  created_at?: string;
  resource_type: string;
  action: string;
  links: Record<string, string>;
  details?: Record<string, unknown>;
  metadata?: Record<string, string>;
}

export interface GoCardlessWebhookPayload {
  events: GoCardlessEvent[];
}

function signature(secret: string, body: RawBody): string {
  return createHmac('sha256', secret).update(bodyBytes(body)).digest('hex');
}

/** The header GoCardless sends with a delivery. */
export function signGoCardless(input: { secret: string; body: RawBody }): Record<string, string> {
  return { [GOCARDLESS_SIGNATURE_HEADER]: signature(input.secret, input.body) };
}

export interface GoCardlessVerifyInput {
  headers: HeaderSource;
  body: RawBody;
  /** The webhook endpoint secret; several while rotating. */
  secret: string | readonly string[];
}

export type GoCardlessVerification =
  | { ok: true; payload: GoCardlessWebhookPayload; eventIds: string[] }
  | WebhookFailure<'MISSING_SIGNATURE' | 'BAD_SIGNATURE' | 'MALFORMED_BODY'>;

function isEvent(value: unknown): value is GoCardlessEvent {
  if (!value || typeof value !== 'object') return false;
  const event = value as Partial<GoCardlessEvent>;
  return typeof event.id === 'string' && event.id !== '' && typeof event.resource_type === 'string' && typeof event.action === 'string';
}

export function verifyGoCardless(input: GoCardlessVerifyInput): GoCardlessVerification {
  const received = readHeader(input.headers, GOCARDLESS_SIGNATURE_HEADER);
  if (received === undefined) return { ok: false, reason: 'MISSING_SIGNATURE' };
  // Hex is case-insensitive; compare in the case we produce.
  const normalised = received.toLowerCase();
  const matches = secretList(input.secret).some((secret) => constantTimeEqual(signature(secret, input.body), normalised));
  if (!matches) return { ok: false, reason: 'BAD_SIGNATURE' };
  const payload = parseJson(input.body) as Partial<GoCardlessWebhookPayload> | undefined;
  if (!payload || typeof payload !== 'object' || !Array.isArray(payload.events) || !payload.events.every(isEvent)) {
    return { ok: false, reason: 'MALFORMED_BODY' };
  }
  const checked = { events: payload.events };
  return { ok: true, payload: checked, eventIds: goCardlessEventIds(checked) };
}

/** Replay-dedup keys: the id of every event in the delivery. */
export function goCardlessEventIds(payload: GoCardlessWebhookPayload): string[] {
  return payload.events.map((event) => event.id);
}
