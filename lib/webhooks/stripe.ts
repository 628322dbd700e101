/**
 * Stripe webhooks: `Stripe-Signature: t=<unix seconds>,v1=<hex>[,v1=<hex>…]` where each v1 is
 * HMAC-SHA256(endpoint secret, `${t}.${body}`). Several v1 entries appear while a secret is
 * rolled; any match is enough. Deliveries older than the tolerance (300 s) are refused. The
 * event's `id` (evt_…) is the replay-dedup key; a retry carries the same id.
 */
import { createHmac } from 'node:crypto';
import { bodyBytes, constantTimeEqual, isFresh, parseJson, readHeader, secretList } from './verification';
import type { FreshnessOptions, HeaderSource, RawBody, WebhookFailure } from './verification';

export const STRIPE_SIGNATURE_HEADER = 'Stripe-Signature';

/** The envelope of every Stripe event; `data.object` is the resource as of the event. */
export interface StripeWebhookEvent<T = Record<string, unknown>> {
  id: string;
  object: 'event';
  type: string;
  /** Unix seconds. */
  created: number;
  data: { object: T; previous_attributes?: Record<string, unknown> };
  livemode?: boolean;
  api_version?: string | null;
  pending_webhooks?: number;
}

function signature(secret: string, timestamp: string, body: RawBody): string {
  return createHmac('sha256', secret).update(`${timestamp}.`, 'utf8').update(bodyBytes(body)).digest('hex');
}

export interface StripeSignInput {
  secret: string;
  body: RawBody;
  /** Unix seconds. */
  timestamp: number;
}

/** The `Stripe-Signature` header Stripe sends with one delivery attempt. */
export function signStripe(input: StripeSignInput): Record<string, string> {
  const t = String(Math.floor(input.timestamp));
  return { [STRIPE_SIGNATURE_HEADER]: `t=${t},v1=${signature(input.secret, t, input.body)}` };
}

/** `t` and the v1 signatures of a header, or undefined when it is not in Stripe's format. */
export function parseStripeSignatureHeader(header: string): { timestamp: string; signatures: string[] } | undefined {
  let timestamp: string | undefined;
  const signatures: string[] = [];
  for (const part of header.split(',')) {
    const at = part.indexOf('=');
    if (at <= 0) continue;
    const key = part.slice(0, at).trim();
    const value = part.slice(at + 1).trim();
    // Other schemes (v0 is Stripe's test scheme) are ignored, as Stripe's own libraries do.
    if (key === 't' && timestamp === undefined) timestamp = value;
    else if (key === 'v1' && value !== '') signatures.push(value);
  }
  if (timestamp === undefined || !/^\d{1,12}$/.test(timestamp) || signatures.length === 0) return undefined;
  return { timestamp, signatures };
}

export interface StripeVerifyInput extends FreshnessOptions {
  headers: HeaderSource;
  body: RawBody;
  /** The endpoint's signing secret (whsec_…); several while rotating. */
  secret: string | readonly string[];
}

export type StripeVerification =
  | { ok: true; event: StripeWebhookEvent; eventId: string; timestamp: number }
  | WebhookFailure<'MISSING_SIGNATURE' | 'MALFORMED_SIGNATURE' | 'BAD_SIGNATURE' | 'STALE' | 'MALFORMED_BODY'>;

export function verifyStripe(input: StripeVerifyInput): StripeVerification {
  const header = readHeader(input.headers, STRIPE_SIGNATURE_HEADER);
  if (header === undefined) return { ok: false, reason: 'MISSING_SIGNATURE' };
  const parsed = parseStripeSignatureHeader(header);
  if (!parsed) return { ok: false, reason: 'MALFORMED_SIGNATURE' };
  const matches = secretList(input.secret).some((secret) => {
    const expected = signature(secret, parsed.timestamp, input.body);
    return parsed.signatures.some((received) => constantTimeEqual(expected, received));
  });
  if (!matches) return { ok: false, reason: 'BAD_SIGNATURE' };
  const timestamp = Number(parsed.timestamp);
  if (!isFresh(timestamp * 1000, input)) return { ok: false, reason: 'STALE' };
  const event = parseJson(input.body) as Partial<StripeWebhookEvent> | undefined;
  if (!event || typeof event !== 'object' || typeof event.id !== 'string' || event.id === '' || typeof event.type !== 'string') {
    return { ok: false, reason: 'MALFORMED_BODY' };
  }
  return { ok: true, event: event as StripeWebhookEvent, eventId: stripeEventId(event as StripeWebhookEvent), timestamp };
}

/** Replay-dedup key: the event id, the same on every retry of the event. */
export function stripeEventId(event: Pick<StripeWebhookEvent, 'id'>): string {
  return event.id;
}
