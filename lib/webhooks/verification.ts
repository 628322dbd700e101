/**
 * What every webhook verifier shares: the result shape (a discriminated union that never
 * carries secrets or body contents), reading a header from either Node's or fetch's header
 * objects, the raw body as bytes, and the constant-time comparison every scheme relies on.
 */
import { createHash, timingSafeEqual } from 'node:crypto';

/**
 * Why a webhook was refused. Reasons are safe to log and to return to the caller: they name
 * the check that failed, never a value that was compared.
 */
export type WebhookRejection =
  /** The signature (or shared-secret / channel-token) header is absent or empty. */
  | 'MISSING_SIGNATURE'
  /** The signature header is present but not in the vendor's format (e.g. Stripe without `t=` or `v1=`). */
  | 'MALFORMED_SIGNATURE'
  /** HubSpot: the timestamp header that is part of the signed text is absent. */
  | 'MISSING_TIMESTAMP'
  /** No expected signature matched: wrong secret, or the body, URL or timestamp was changed. */
  | 'BAD_SIGNATURE'
  /** Authentic but older than the tolerance: a replay, or a delivery queued too long. */
  | 'STALE'
  /** Authentic but not the vendor's payload shape, so it cannot be acted on. */
  | 'MALFORMED_BODY'
  /** Google: a required X-Goog-* header is absent or has a value outside the documented set. */
  | 'MALFORMED_NOTIFICATION'
  /** Google: the channel id is not one we created. */
  | 'UNKNOWN_CHANNEL';

export type WebhookFailure<Reason extends WebhookRejection = WebhookRejection> = { ok: false; reason: Reason };

/** Node's `IncomingHttpHeaders`, a plain record in any letter case, or fetch's `Headers`. */
export type HeaderSource = Readonly<Record<string, string | readonly string[] | undefined>> | Pick<Headers, 'get'>;

/** The request body exactly as received: verifying a re-serialised body would fail (or worse, pass wrongly). */
export type RawBody = string | Uint8Array;

/** Clock and window shared by the timestamped schemes. */
export interface FreshnessOptions {
  /** How old a delivery may be. @default 300000 (5 minutes, both HubSpot's and Stripe's figure) */
  toleranceMs?: number;
  /** Current time in epoch milliseconds; injectable so tests need no real clock. @default Date.now */
  now?: () => number;
}

export const DEFAULT_TOLERANCE_MS = 5 * 60 * 1000;

function isHeadersObject(headers: HeaderSource): headers is Pick<Headers, 'get'> {
  return typeof (headers as { get?: unknown }).get === 'function';
}

/**
 * One header's value, case-insensitively, or undefined when absent or empty. Repeated values
 * are joined with ", " as Node does for headers it does not know.
 */
export function readHeader(headers: HeaderSource | null | undefined, name: string): string | undefined {
  if (!headers || typeof headers !== 'object') return undefined;
  let value: unknown;
  if (isHeadersObject(headers)) {
    value = headers.get(name);
  } else {
    const wanted = name.toLowerCase();
    for (const key of Object.keys(headers)) {
      if (key.toLowerCase() === wanted) {
        value = headers[key];
        break;
      }
    }
  }
  if (Array.isArray(value)) value = value.filter((v) => typeof v === 'string').join(', ');
  if (typeof value !== 'string') return undefined;
  const trimmed = value.trim();
  return trimmed === '' ? undefined : trimmed;
}

/** The body as bytes; anything that is neither text nor bytes counts as empty rather than throwing. */
export function bodyBytes(body: RawBody | null | undefined): Buffer {
  if (typeof body === 'string') return Buffer.from(body, 'utf8');
  if (body instanceof Uint8Array) return Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  return Buffer.alloc(0);
}

/** JSON.parse that answers undefined instead of throwing. */
export function parseJson(body: RawBody | null | undefined): unknown {
  try {
    return JSON.parse(bodyBytes(body).toString('utf8')) as unknown;
  } catch {
    return undefined;
  }
}

/**
 * Constant-time equality of two strings. timingSafeEqual throws on a length mismatch, so the
 * lengths are checked first; a mismatch still runs one comparison so the early exit does not
 * stand out more than the length itself (which an attacker already chose).
 */
export function constantTimeEqual(expected: string, received: string): boolean {
  const a = Buffer.from(expected, 'utf8');
  const b = Buffer.from(received, 'utf8');
  if (a.length !== b.length) {
    timingSafeEqual(a, a);
    return false;
  }
  return timingSafeEqual(a, b);
}

/**
 * Secrets to try: one, or several while a secret is being rotated. Empty strings are dropped,
 * so a missing configuration value fails closed (nothing verifies) instead of accepting an
 * HMAC keyed with "".
 */
export function secretList(secret: string | readonly string[] | null | undefined): string[] {
  const all = typeof secret === 'string' ? [secret] : Array.isArray(secret) ? secret : [];
  return all.filter((s): s is string => typeof s === 'string' && s.length > 0);
}

export function sha256Hex(body: RawBody): string {
  return createHash('sha256').update(bodyBytes(body)).digest('hex');
}

/**
 * Within the tolerance of now, on either side: a timestamp from the future is refused too,
 * or a signed delivery made with a clock set ahead would stay replayable for that long.
 */
export function isFresh(timestampMs: number, options: FreshnessOptions): boolean {
  const now = (options.now ?? Date.now)();
  const tolerance = options.toleranceMs ?? DEFAULT_TOLERANCE_MS;
  return Math.abs(now - timestampMs) <= tolerance;
}
