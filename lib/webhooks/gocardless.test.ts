/** GoCardless Webhook-Signature: known answers computed here with node:crypto, tampering, missing header. */
import { createHmac } from 'node:crypto';
import { goCardlessEventIds, signGoCardless, verifyGoCardless } from './gocardless';

const SECRET = 'gocardless-endpoint-secret';
const BODY = JSON.stringify({
  events: [
    { id: 'EV123', created_at: '2025-06-01T10:00:00.000Z', resource_type: 'payments', action: 'confirmed', links: { payment: 'PM123' } },
    { id: 'EV124', created_at: '2025-06-01T10:00:01.000Z', resource_type: 'mandates', action: 'active', links: { mandate: 'MD1' } },
  ],
});
const hex = (secret: string, body: string) => createHmac('sha256', secret).update(body).digest('hex');

describe('GoCardless Webhook-Signature', () => {
  it('signs the body with the endpoint secret, hex', () => {
    expect(signGoCardless({ secret: SECRET, body: BODY })).toEqual({ 'Webhook-Signature': hex(SECRET, BODY) });
  });

  it('accepts a genuine delivery and returns every event id', () => {
    const result = verifyGoCardless({ headers: { 'webhook-signature': hex(SECRET, BODY) }, body: BODY, secret: SECRET });
    expect(result).toMatchObject({ ok: true, eventIds: ['EV123', 'EV124'] });
  });

  it('refuses a tampered body or the wrong secret with BAD_SIGNATURE', () => {
    const headers = { 'Webhook-Signature': hex(SECRET, BODY) };
    expect(verifyGoCardless({ headers, body: BODY.replace('confirmed', 'failed'), secret: SECRET })).toEqual({ ok: false, reason: 'BAD_SIGNATURE' });
    expect(verifyGoCardless({ headers, body: BODY, secret: 'other' })).toEqual({ ok: false, reason: 'BAD_SIGNATURE' });
  });

  it('refuses a missing header, and a signature of another length without throwing', () => {
    expect(verifyGoCardless({ headers: {}, body: BODY, secret: SECRET })).toEqual({ ok: false, reason: 'MISSING_SIGNATURE' });
    expect(verifyGoCardless({ headers: { 'webhook-signature': 'abc' }, body: BODY, secret: SECRET })).toEqual({ ok: false, reason: 'BAD_SIGNATURE' });
  });

  it('refuses an authentic body without events as MALFORMED_BODY', () => {
    const body = '{"events":[{"id":"EV1"}]}';
    expect(verifyGoCardless({ headers: { 'webhook-signature': hex(SECRET, body) }, body, secret: SECRET })).toEqual({ ok: false, reason: 'MALFORMED_BODY' });
  });

  it('extracts the event ids for replay dedup', () => {
    expect(goCardlessEventIds({ events: [{ id: 'EV9', resource_type: 'payments', action: 'paid_out', links: {} }] })).toEqual(['EV9']);
  });
});
