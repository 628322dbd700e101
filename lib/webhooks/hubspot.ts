/**
 * HubSpot webhooks, signature v3: `X-HubSpot-Signature-v3 = base64(HMAC-SHA256(clientSecret,
 * method + uri + body + timestamp))` with the timestamp (epoch ms) in
 * `X-HubSpot-Request-Timestamp`; deliveries older than five minutes are refused. The body is a
 * JSON array of events, each with its own `eventId` (the replay-dedup key).
 */
import { createHmac } from 'node:crypto';
import { bodyBytes, constantTimeEqual, isFresh, parseJson, readHeader, secretList } from './verification';
import type { FreshnessOptions, HeaderSource, RawBody, WebhookFailure } from './verification';

export const HUBSPOT_SIGNATURE_HEADER = 'X-HubSpot-Signature-v3';
export const HUBSPOT_TIMESTAMP_HEADER = 'X-HubSpot-Request-Timestamp';

/** One event of a HubSpot webhook delivery (the fields of `contact.propertyChange` and kin). */
export interface HubSpotWebhookEvent {
  eventId: number | string;
  subscriptionId?: number;
  portalId?: number;
  appId?: number;
  /** Epoch ms. */
  occurredAt?: number;
  subscriptionType: string;
  attemptNumber?: number;
  objectId: number | string;
  propertyName?: string;
  propertyValue?: string;
  changeSource?: string;
}

/**
 * HubSpot signs the URI with these percent-escapes decoded (its v3 documentation lists them),
 * so a receiver whose framework hands it the encoded form still computes the same text.
 */
const DECODED_ESCAPES: Record<string, string> = {
  '%3A': ':', '%2F': '/', '%3F': '?', '%40': '@', '%21': '!', '%24': '$', '%27': "'", '%28': '(', '%29': ')', '%2A': '*', '%2C': ',', '%3B': ';',
};

export function canonicalHubSpotUri(uri: string): string {
  return uri.replace(/%(3A|2F|3F|40|21|24|27|28|29|2A|2C|3B)/gi, (escape) => DECODED_ESCAPES[escape.toUpperCase()] ?? escape);
}

function signature(clientSecret: string, method: string, uri: string, body: RawBody, timestamp: string): string {
  return createHmac('sha256', clientSecret)
    .update(method.toUpperCase(), 'utf8')
    .update(canonicalHubSpotUri(uri), 'utf8')
    .update(bodyBytes(body))
    .update(timestamp, 'utf8')
    .digest('base64');
}

export interface HubSpotSignInput {
  clientSecret: string;
  /** HTTP method of the delivery, normally POST. */
  method: string;
  /** The full URL HubSpot calls, scheme, host, path and query included. */
  uri: string;
  body: RawBody;
  /** Epoch milliseconds. */
  timestamp: number;
}

/** The two headers HubSpot sends with a v3-signed delivery. */
export function signHubSpotV3(input: HubSpotSignInput): Record<string, string> {
  const timestamp = String(input.timestamp);
  return {
    [HUBSPOT_SIGNATURE_HEADER]: signature(input.clientSecret, input.method, input.uri, input.body, timestamp),
    [HUBSPOT_TIMESTAMP_HEADER]: timestamp,
  };
}

export interface HubSpotVerifyInput extends FreshnessOptions {
  headers: HeaderSource;
  /** Method of the request as received. */
  method: string;
  /**
   * The full URL HubSpot called (as configured in the app's webhook settings). Behind a proxy,
   * rebuild it from the public scheme and host, not the internal listener address.
   */
  uri: string;
  body: RawBody;
  /** The app's client secret; several while rotating. */
  clientSecret: string | readonly string[];
}

export type HubSpotVerification =
  | { ok: true; events: HubSpotWebhookEvent[]; eventIds: string[]; timestamp: number }
  | WebhookFailure<'MISSING_SIGNATURE' | 'MISSING_TIMESTAMP' | 'MALFORMED_SIGNATURE' | 'BAD_SIGNATURE' | 'STALE' | 'MALFORMED_BODY'>;

function isHubSpotEvent(value: unknown): value is HubSpotWebhookEvent {
  if (!value || typeof value !== 'object') return false;
  const event = value as Partial<HubSpotWebhookEvent>;
  const id = event.eventId;
  return (typeof id === 'number' || (typeof id === 'string' && id !== '')) && typeof event.subscriptionType === 'string';
}

export function verifyHubSpotV3(input: HubSpotVerifyInput): HubSpotVerification {
  const received = readHeader(input.headers, HUBSPOT_SIGNATURE_HEADER);
  if (received === undefined) return { ok: false, reason: 'MISSING_SIGNATURE' };
  const timestampText = readHeader(input.headers, HUBSPOT_TIMESTAMP_HEADER);
  if (timestampText === undefined) return { ok: false, reason: 'MISSING_TIMESTAMP' };
  if (!/^\d{1,16}$/.test(timestampText)) return { ok: false, reason: 'MALFORMED_SIGNATURE' };
  const method = typeof input.method === 'string' ? input.method : '';
  const uri = typeof input.uri === 'string' ? input.uri : '';
  const matches = secretList(input.clientSecret).some((secret) =>
    constantTimeEqual(signature(secret, method, uri, input.body, timestampText), received),
  );
  if (!matches) return { ok: false, reason: 'BAD_SIGNATURE' };
  const timestamp = Number(timestampText);
  if (!isFresh(timestamp, input)) return { ok: false, reason: 'STALE' };
  const parsed = parseJson(input.body);
  if (!Array.isArray(parsed) || !parsed.every(isHubSpotEvent)) return { ok: false, reason: 'MALFORMED_BODY' };
  return { ok: true, events: parsed, eventIds: hubSpotEventIds(parsed), timestamp };
}

/** Replay-dedup keys: one per event of the delivery (a retry repeats the same eventIds). */
export function hubSpotEventIds(events: readonly Pick<HubSpotWebhookEvent, 'eventId'>[]): string[] {
  return events.map((event) => String(event.eventId));
}
