/** Semble webhooks: a shared-secret header compared in constant time, the body read as a hint, a body hash for dedup. */
import { createHash } from 'node:crypto';
import { sembleEventId, signSemble, verifySemble } from './semble';

const SECRET = 'semble-shared-secret';
const BODY = JSON.stringify({ eventType: 'PATIENT_UPDATED', data: { id: 'p-12' } });

describe('Semble webhooks', () => {
  it('sends the shared secret in the configured header', () => {
    expect(signSemble({ secret: SECRET })).toEqual({ 'x-semble-webhook-secret': SECRET });
    expect(signSemble({ secret: SECRET, headerName: 'x-clinic-secret' })).toEqual({ 'x-clinic-secret': SECRET });
  });

  it('accepts the secret and returns the hint and a body hash as the event id', () => {
    const result = verifySemble({ headers: { 'X-Semble-Webhook-Secret': SECRET }, body: BODY, secret: SECRET });
    expect(result).toEqual({
      ok: true,
      event: { eventType: 'PATIENT_UPDATED', data: { id: 'p-12' } },
      eventId: createHash('sha256').update(BODY).digest('hex'),
    });
  });

  it('reads a configured header name', () => {
    expect(verifySemble({ headers: { 'x-clinic-secret': SECRET }, body: BODY, secret: SECRET, headerName: 'X-Clinic-Secret' }).ok).toBe(true);
    expect(verifySemble({ headers: { 'x-semble-webhook-secret': SECRET }, body: BODY, secret: SECRET, headerName: 'x-clinic-secret' })).toEqual({ ok: false, reason: 'MISSING_SIGNATURE' });
  });

  it('refuses a wrong secret of any length as BAD_SIGNATURE, and an empty configured secret always', () => {
    expect(verifySemble({ headers: { 'x-semble-webhook-secret': 'nope' }, body: BODY, secret: SECRET })).toEqual({ ok: false, reason: 'BAD_SIGNATURE' });
    expect(verifySemble({ headers: { 'x-semble-webhook-secret': `${SECRET}x` }, body: BODY, secret: SECRET })).toEqual({ ok: false, reason: 'BAD_SIGNATURE' });
    expect(verifySemble({ headers: { 'x-semble-webhook-secret': 'anything' }, body: BODY, secret: '' })).toEqual({ ok: false, reason: 'BAD_SIGNATURE' });
  });

  it('refuses a body that is not an event hint as MALFORMED_BODY', () => {
    for (const body of ['not json', '{}', '{"eventType":"PATIENT_UPDATED"}', '{"eventType":"PATIENT_UPDATED","data":{"id":""}}', '{"eventType":"","data":{"id":"1"}}']) {
      expect(verifySemble({ headers: { 'x-semble-webhook-secret': SECRET }, body, secret: SECRET })).toEqual({ ok: false, reason: 'MALFORMED_BODY' });
    }
  });

  it('hashes the raw body for dedup: same bytes, same id', () => {
    expect(sembleEventId(BODY)).toBe(sembleEventId(Buffer.from(BODY)));
    expect(sembleEventId(BODY)).not.toBe(sembleEventId(BODY.replace('p-12', 'p-13')));
  });
});
