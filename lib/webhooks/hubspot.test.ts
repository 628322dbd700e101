/** HubSpot v3 signatures: known answers computed here with node:crypto, tampering, staleness, malformed input. */
import { createHmac } from 'node:crypto';
import { canonicalHubSpotUri, hubSpotEventIds, signHubSpotV3, verifyHubSpotV3 } from './hubspot';

const SECRET = 'hubspot-client-secret';
const URI = 'https://sync.example.org/webhooks/hubspot?tenant=clinic-1';
const NOW = 1_750_000_000_000;
const BODY = JSON.stringify([
  { eventId: 101, subscriptionId: 7, portalId: 62515, occurredAt: NOW - 1000, subscriptionType: 'contact.propertyChange', attemptNumber: 0, objectId: 5, propertyName: 'email', propertyValue: 'a@example.org', changeSource: 'CRM_UI' },
  { eventId: 102, subscriptionId: 7, portalId: 62515, occurredAt: NOW - 1000, subscriptionType: 'contact.propertyChange', attemptNumber: 0, objectId: 5, propertyName: 'phone', propertyValue: '+447700900123', changeSource: 'CRM_UI' },
]);

function expected(secret: string, method: string, uri: string, body: string, timestamp: number): string {
  return createHmac('sha256', secret).update(`${method}${uri}${body}${timestamp}`).digest('base64');
}

function headersFor(signature: string, timestamp: number | string) {
  return { 'x-hubspot-signature-v3': signature, 'x-hubspot-request-timestamp': String(timestamp) };
}

const verify = (overrides: Partial<Parameters<typeof verifyHubSpotV3>[0]> = {}) =>
  verifyHubSpotV3({
    headers: headersFor(expected(SECRET, 'POST', URI, BODY, NOW - 10), NOW - 10),
    method: 'POST',
    uri: URI,
    body: BODY,
    clientSecret: SECRET,
    now: () => NOW,
    ...overrides,
  });

describe('HubSpot signature v3', () => {
  it('signs method + uri + body + timestamp with the client secret, base64', () => {
    const headers = signHubSpotV3({ clientSecret: SECRET, method: 'POST', uri: URI, body: BODY, timestamp: NOW });
    expect(headers).toEqual({
      'X-HubSpot-Signature-v3': expected(SECRET, 'POST', URI, BODY, NOW),
      'X-HubSpot-Request-Timestamp': String(NOW),
    });
  });

  it('accepts a genuine delivery and returns its events and event ids', () => {
    const result = verify();
    expect(result).toMatchObject({ ok: true, eventIds: ['101', '102'], timestamp: NOW - 10 });
    if (result.ok) expect(result.events.map((e) => e.propertyName)).toEqual(['email', 'phone']);
  });

  it('accepts the raw body as bytes and headers in any case or as fetch Headers', () => {
    expect(verify({ body: Buffer.from(BODY) }).ok).toBe(true);
    const signature = expected(SECRET, 'POST', URI, BODY, NOW - 10);
    expect(verify({ headers: { 'X-HubSpot-Signature-V3': signature, 'X-HUBSPOT-REQUEST-TIMESTAMP': String(NOW - 10) } }).ok).toBe(true);
    expect(verify({ headers: new Headers(headersFor(signature, NOW - 10)) }).ok).toBe(true);
  });

  it('refuses a tampered body, uri, method, timestamp or the wrong secret with BAD_SIGNATURE', () => {
    expect(verify({ body: BODY.replace('a@example.org', 'b@example.org') })).toEqual({ ok: false, reason: 'BAD_SIGNATURE' });
    expect(verify({ uri: URI.replace('clinic-1', 'clinic-2') })).toEqual({ ok: false, reason: 'BAD_SIGNATURE' });
    expect(verify({ method: 'PUT' })).toEqual({ ok: false, reason: 'BAD_SIGNATURE' });
    expect(verify({ clientSecret: 'another-secret' })).toEqual({ ok: false, reason: 'BAD_SIGNATURE' });
    const signature = expected(SECRET, 'POST', URI, BODY, NOW - 10);
    expect(verify({ headers: headersFor(signature, NOW - 9) })).toEqual({ ok: false, reason: 'BAD_SIGNATURE' });
  });

  it('refuses a delivery older than five minutes as STALE, and honours a configured tolerance', () => {
    const old = NOW - 5 * 60 * 1000 - 1;
    expect(verify({ headers: headersFor(expected(SECRET, 'POST', URI, BODY, old), old) })).toEqual({ ok: false, reason: 'STALE' });
    const edge = NOW - 5 * 60 * 1000;
    expect(verify({ headers: headersFor(expected(SECRET, 'POST', URI, BODY, edge), edge) }).ok).toBe(true);
    expect(verify({ toleranceMs: 5 })).toEqual({ ok: false, reason: 'STALE' });
    const ahead = NOW + 5 * 60 * 1000 + 1;
    expect(verify({ headers: headersFor(expected(SECRET, 'POST', URI, BODY, ahead), ahead) })).toEqual({ ok: false, reason: 'STALE' });
  });

  it('says which header is missing', () => {
    expect(verify({ headers: { 'x-hubspot-request-timestamp': String(NOW) } })).toEqual({ ok: false, reason: 'MISSING_SIGNATURE' });
    expect(verify({ headers: { 'x-hubspot-signature-v3': '' } })).toEqual({ ok: false, reason: 'MISSING_SIGNATURE' });
    expect(verify({ headers: { 'x-hubspot-signature-v3': 'abc' } })).toEqual({ ok: false, reason: 'MISSING_TIMESTAMP' });
    expect(verify({ headers: headersFor('abc', 'yesterday') })).toEqual({ ok: false, reason: 'MALFORMED_SIGNATURE' });
  });

  it('does not throw on a signature of another length or on junk input', () => {
    expect(verify({ headers: headersFor('short', NOW) })).toEqual({ ok: false, reason: 'BAD_SIGNATURE' });
    expect(verify({ headers: headersFor('x'.repeat(500), NOW) })).toEqual({ ok: false, reason: 'BAD_SIGNATURE' });
    expect(verify({ headers: headersFor('ü'.repeat(44), NOW) })).toEqual({ ok: false, reason: 'BAD_SIGNATURE' });
    const junk = verifyHubSpotV3({ headers: null as never, method: undefined as never, uri: 42 as never, body: {} as never, clientSecret: SECRET });
    expect(junk).toEqual({ ok: false, reason: 'MISSING_SIGNATURE' });
  });

  it('never verifies with an empty secret, and accepts either of two secrets while rotating', () => {
    const signedWithEmpty = createHmac('sha256', '').update(`POST${URI}${BODY}${NOW}`).digest('base64');
    expect(verify({ clientSecret: '', headers: headersFor(signedWithEmpty, NOW) })).toEqual({ ok: false, reason: 'BAD_SIGNATURE' });
    expect(verify({ clientSecret: ['old-secret', SECRET] }).ok).toBe(true);
  });

  it('refuses an authentic body that is not an array of events as MALFORMED_BODY', () => {
    const body = '{"eventId": 1}';
    expect(verify({ body, headers: headersFor(expected(SECRET, 'POST', URI, body, NOW), NOW) })).toEqual({ ok: false, reason: 'MALFORMED_BODY' });
  });

  it('signs the uri with the escapes HubSpot decodes, so either spelling verifies', () => {
    const encoded = 'https://sync.example.org/webhooks/hubspot%3Fa%3Db%40c';
    expect(canonicalHubSpotUri(encoded)).toBe('https://sync.example.org/webhooks/hubspot?a%3Db@c');
    const signature = expected(SECRET, 'POST', 'https://sync.example.org/webhooks/hubspot?a%3Db@c', BODY, NOW);
    expect(verify({ uri: encoded, headers: headersFor(signature, NOW) }).ok).toBe(true);
  });

  it('keeps reasons free of secrets and body contents', () => {
    const result = verify({ body: BODY.replace('a@example.org', 'x@example.org') });
    expect(JSON.stringify(result)).not.toMatch(/example\.org|hubspot-client-secret/);
  });

  it('extracts one event id per event', () => {
    expect(hubSpotEventIds([{ eventId: 1 }, { eventId: '2' }])).toEqual(['1', '2']);
  });
});
