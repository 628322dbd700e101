/**
 * The receiving end of the generic signed webhook (an n8n or Zapier "catch hook", a clinic's own
 * endpoint), checking what such a receiver should, independently of the sender's code:
 *
 *   POST /hooks/:name   X-PatientGraph-Timestamp, X-PatientGraph-Signature: v1=<hex>, X-PatientGraph-Event-Id, Idempotency-Key
 *
 * 401 { error } when the signature is missing, malformed or wrong, or the timestamp is outside
 * the window; 400 when the body is not JSON; otherwise 200 { received: true }.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { Express } from 'express';
import type { ReceivedLog } from './received';
import { header, jsonBody, rawBody } from './request-body';

export interface GenericWebhookReceiverOptions {
  secret: string;
  /** How far the timestamp may be from now, either way. @default 300000 */
  toleranceMs?: number;
  now?: () => number;
}

function signatureCheck(secret: string, timestamp: string | undefined, signature: string | undefined, body: string, nowMs: number, toleranceMs: number): string | undefined {
  if (!timestamp || !signature) return 'missing_signature';
  if (!/^\d+$/.test(timestamp)) return 'malformed_timestamp';
  if (Math.abs(nowMs - Number(timestamp) * 1000) > toleranceMs) return 'stale_timestamp';
  // Several schemes may be sent side by side ("v1=…, v1=…" during a secret rotation).
  const expected = createHmac('sha256', secret).update(`${timestamp}.${body}`).digest();
  const matches = signature
    .split(',')
    .map((part) => part.trim())
    .filter((part) => part.startsWith('v1='))
    .some((part) => {
      const given = Buffer.from(part.slice(3), 'hex');
      return given.length === expected.length && timingSafeEqual(given, expected);
    });
  return matches ? undefined : 'invalid_signature';
}

export function mountGenericWebhookReceiver(app: Express, log: ReceivedLog, options: GenericWebhookReceiverOptions): void {
  const now = options.now ?? Date.now;
  const toleranceMs = options.toleranceMs ?? 5 * 60 * 1000;
  app.post('/hooks/:name', (req, res) => {
    const body = rawBody(req);
    const problem = signatureCheck(options.secret, header(req, 'x-patientgraph-timestamp'), header(req, 'x-patientgraph-signature'), body, now(), toleranceMs);
    const parsed = jsonBody(req);
    const status = problem ? 401 : parsed === undefined ? 400 : 200;
    log.record({
      vendor: 'webhook',
      method: req.method,
      path: req.path,
      idempotencyKey: header(req, 'idempotency-key'),
      eventId: header(req, 'x-patientgraph-event-id'),
      signatureValid: !problem,
      status,
      body: parsed ?? body,
    });
    if (problem) res.status(401).json({ error: problem });
    else if (status === 400) res.status(400).json({ error: 'body_not_json' });
    else res.status(200).json({ received: true });
  });
}
