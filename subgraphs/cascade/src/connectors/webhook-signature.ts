/**
 * The signature of the generic webhook, in one place for the sender and for anyone writing a
 * receiver (n8n, Zapier, a clinic's own endpoint):
 *
 *   X-PatientGraph-Timestamp: <unix seconds>
 *   X-PatientGraph-Signature: v1=<hex HMAC-SHA256(secret, `${timestamp}.${rawBody}`)>
 *   X-PatientGraph-Event-Id:  <the event's id>
 *   Idempotency-Key:          <stable per (event, step): drop a repeat>
 *
 * A receiver recomputes the HMAC over the raw body bytes (not a re-serialised object), compares
 * in constant time, and refuses timestamps outside its window (5 minutes is usual) to stop replays.
 */
import { createHmac } from 'node:crypto';

export const SIGNATURE_HEADER = 'X-PatientGraph-Signature';
export const TIMESTAMP_HEADER = 'X-PatientGraph-Timestamp';
export const EVENT_ID_HEADER = 'X-PatientGraph-Event-Id';
export const IDEMPOTENCY_HEADER = 'Idempotency-Key';
/** The scheme prefix: a later scheme (v2) can be sent alongside during a rotation. */
export const SIGNATURE_SCHEME = 'v1';

/** `v1=<hex>` for a body sent at `timestampSeconds`. */
export function signWebhookBody(secret: string, timestampSeconds: number, rawBody: string): string {
  const hex = createHmac('sha256', secret).update(`${timestampSeconds}.${rawBody}`).digest('hex');
  return `${SIGNATURE_SCHEME}=${hex}`;
}
