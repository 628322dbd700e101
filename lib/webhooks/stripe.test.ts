/** Stripe-Signature: known answers computed here with node:crypto, several v1 entries, tolerance, malformed headers. */
import { createHmac } from 'node:crypto';
import { parseStripeSignatureHeader, signStripe, stripeEventId, verifyStripe } from './stripe';

const SECRET = 'whsec_test_secret';
const NOW_S = 1_750_000_000;
const BODY = JSON.stringify(
  { id: 'evt_123', object: 'event', type: 'payment_intent.succeeded', created: NOW_S, data: { object: { id: 'pi_1', status: 'succeeded' } } },
  null,
  2,
);

function v1(secret: string, t: number, body: string): string {
  return createHmac('sha256', secret).update(`${t}.${body}`).digest('hex');
}

const verify = (overrides: Partial<Parameters<typeof verifyStripe>[0]> = {}) =>
  verifyStripe({
    headers: { 'stripe-signature': `t=${NOW_S - 5},v1=${v1(SECRET, NOW_S - 5, BODY)}` },
    body: BODY,
    secret: SECRET,
    now: () => NOW_S * 1000,
    ...overrides,
  });

describe('Stripe-Signature', () => {
  it('signs `${t}.${body}` with the endpoint secret, hex, in t=…,v1=…', () => {
    expect(signStripe({ secret: SECRET, body: BODY, timestamp: NOW_S })).toEqual({ 'Stripe-Signature': `t=${NOW_S},v1=${v1(SECRET, NOW_S, BODY)}` });
  });

  it('accepts a genuine event and returns it with its id', () => {
    const result = verify();
    expect(result).toMatchObject({ ok: true, eventId: 'evt_123', timestamp: NOW_S - 5 });
    if (result.ok) expect(result.event.type).toBe('payment_intent.succeeded');
  });

  it('accepts the header when any of several v1 entries matches, and ignores v0 and unknown keys', () => {
    const header = `t=${NOW_S},v0=deadbeef,v1=${'0'.repeat(64)},v1=${v1(SECRET, NOW_S, BODY)},foo=bar`;
    expect(verify({ headers: { 'Stripe-Signature': header } }).ok).toBe(true);
  });

  it('refuses a tampered body, a changed t, or the wrong secret with BAD_SIGNATURE', () => {
    expect(verify({ body: BODY.replace('succeeded', 'canceled') })).toEqual({ ok: false, reason: 'BAD_SIGNATURE' });
    expect(verify({ secret: 'whsec_other' })).toEqual({ ok: false, reason: 'BAD_SIGNATURE' });
    expect(verify({ headers: { 'stripe-signature': `t=${NOW_S},v1=${v1(SECRET, NOW_S - 5, BODY)}` } })).toEqual({ ok: false, reason: 'BAD_SIGNATURE' });
    expect(verify({ headers: { 'stripe-signature': `t=${NOW_S},v0=${v1(SECRET, NOW_S, BODY)},v1=00` } })).toEqual({ ok: false, reason: 'BAD_SIGNATURE' });
  });

  it('refuses an authentic event older than 300 s as STALE; the tolerance and clock are injectable', () => {
    const old = NOW_S - 301;
    expect(verify({ headers: { 'stripe-signature': `t=${old},v1=${v1(SECRET, old, BODY)}` } })).toEqual({ ok: false, reason: 'STALE' });
    const edge = NOW_S - 300;
    expect(verify({ headers: { 'stripe-signature': `t=${edge},v1=${v1(SECRET, edge, BODY)}` } }).ok).toBe(true);
    expect(verify({ toleranceMs: 1000 })).toEqual({ ok: false, reason: 'STALE' });
    expect(verify({ now: () => (NOW_S + 3600) * 1000 })).toEqual({ ok: false, reason: 'STALE' });
  });

  it('refuses an event timestamped further in the future than the tolerance', () => {
    const ahead = NOW_S + 301;
    expect(verify({ headers: { 'stripe-signature': `t=${ahead},v1=${v1(SECRET, ahead, BODY)}` } })).toEqual({ ok: false, reason: 'STALE' });
    const edge = NOW_S + 300;
    expect(verify({ headers: { 'stripe-signature': `t=${edge},v1=${v1(SECRET, edge, BODY)}` } }).ok).toBe(true);
  });

  it('refuses a missing header as MISSING_SIGNATURE', () => {
    expect(verify({ headers: {} })).toEqual({ ok: false, reason: 'MISSING_SIGNATURE' });
    expect(verify({ headers: { 'stripe-signature': '   ' } })).toEqual({ ok: false, reason: 'MISSING_SIGNATURE' });
  });

  it('refuses malformed headers as MALFORMED_SIGNATURE without throwing', () => {
    for (const header of ['garbage', `v1=${v1(SECRET, NOW_S, BODY)}`, `t=${NOW_S}`, `t=soon,v1=${v1(SECRET, NOW_S, BODY)}`, 't=,v1=', ',,,=', `t=${NOW_S},v1=`]) {
      expect(verify({ headers: { 'stripe-signature': header } })).toEqual({ ok: false, reason: 'MALFORMED_SIGNATURE' });
    }
    expect(parseStripeSignatureHeader(`t=1, v1=ab`)).toEqual({ timestamp: '1', signatures: ['ab'] });
  });

  it('does not throw when a v1 entry has another length', () => {
    expect(verify({ headers: { 'stripe-signature': `t=${NOW_S},v1=abc` } })).toEqual({ ok: false, reason: 'BAD_SIGNATURE' });
    expect(verify({ headers: { 'stripe-signature': `t=${NOW_S},v1=${'é'.repeat(64)}` } })).toEqual({ ok: false, reason: 'BAD_SIGNATURE' });
  });

  it('refuses an authentic body that is not an event as MALFORMED_BODY', () => {
    const body = '{"object":"event"}';
    expect(verify({ body, headers: { 'stripe-signature': `t=${NOW_S},v1=${v1(SECRET, NOW_S, body)}` } })).toEqual({ ok: false, reason: 'MALFORMED_BODY' });
  });

  it('uses the event id for replay dedup', () => {
    expect(stripeEventId({ id: 'evt_9' })).toBe('evt_9');
  });
});
