/** HubSpot's string-typed property values → the schema's types, and email normalisation. */
import { TEST_INTERNAL_TOKEN_SECRET } from '../../../lib/test/as-gateway';
import { loadCrmConfig } from '../src/config';
import { parseHubSpotBoolean, parseHubSpotDate, parseHubSpotNumber, toCrmContact, toDeal } from '../src/mapping';
import { normaliseEmail } from '../src/server';

test('booleans: only "true" is consent', () => {
  expect(parseHubSpotBoolean('true')).toBe(true);
  expect(parseHubSpotBoolean('TRUE')).toBe(true);
  expect(parseHubSpotBoolean('false')).toBe(false);
  expect(parseHubSpotBoolean('')).toBe(false);
  expect(parseHubSpotBoolean(null)).toBe(false);
  expect(parseHubSpotBoolean(undefined)).toBe(false);
});

test('numbers: decimal strings parse; empty and junk are null', () => {
  expect(parseHubSpotNumber('1500')).toBe(1500);
  expect(parseHubSpotNumber('99.5')).toBe(99.5);
  expect(parseHubSpotNumber('')).toBeNull();
  expect(parseHubSpotNumber('n/a')).toBeNull();
  expect(parseHubSpotNumber(null)).toBeNull();
});

test('dates: datetime, bare date and epoch ms all become YYYY-MM-DD', () => {
  expect(parseHubSpotDate('2025-06-30T00:00:00.000Z')).toBe('2025-06-30');
  expect(parseHubSpotDate('2025-06-30')).toBe('2025-06-30');
  expect(parseHubSpotDate(String(Date.UTC(2025, 5, 30)))).toBe('2025-06-30');
  expect(parseHubSpotDate('')).toBeNull();
  expect(parseHubSpotDate('soon')).toBeNull();
});

test('a contact with empty properties maps to nulls and no consent', () => {
  expect(toCrmContact({ id: '7', properties: { email: '', phone: null }, createdAt: 'c', updatedAt: '2025-01-01T00:00:00.000Z', archived: false })).toEqual({
    id: '7',
    provider: 'HUBSPOT',
    email: null,
    firstName: null,
    lastName: null,
    phone: null,
    lifecycleStage: null,
    ownerId: null,
    marketingConsent: false,
    sembleId: null,
    updatedAt: '2025-01-01T00:00:00.000Z',
  });
});

test('a deal maps amount to a number and closedate to a date', () => {
  const deal = toDeal({
    id: '9',
    properties: { dealname: 'Plan', amount: '960', dealstage: 'closedwon', pipeline: 'default', closedate: '2026-02-01T00:00:00.000Z', hs_lastmodifieddate: '2025-03-01T10:00:00.000Z' },
    createdAt: 'c',
    updatedAt: 'u',
    archived: false,
  });
  expect(deal).toEqual({ id: '9', name: 'Plan', amount: 960, stage: 'closedwon', pipeline: 'default', closeDate: '2026-02-01', updatedAt: '2025-03-01T10:00:00.000Z' });
});

test('emails are trimmed and lower-cased, nothing more', () => {
  expect(normaliseEmail('  Jane.Doe+Clinic@Example.CO.UK \n')).toBe('jane.doe+clinic@example.co.uk');
  expect(() => normaliseEmail(' ')).toThrow('email: expected an email address, got an empty string');
  expect(() => normaliseEmail('jane')).toThrow("email: expected an email address, got a string without '@'");
});

test('config: defaults, env names in errors, the token never shown', () => {
  // The secret every subgraph needs has no default (test/trusted-subgraphs.test.ts).
  expect(loadCrmConfig({ INTERNAL_TOKEN_SECRET: TEST_INTERNAL_TOKEN_SECRET })).toEqual({
    port: 4002,
    host: '127.0.0.1',
    hubspotBaseUrl: 'http://127.0.0.1:4102',
    hubspotToken: 'hubspot-dev-token',
    timeoutMs: 10000,
    internalTokenSecret: TEST_INTERNAL_TOKEN_SECRET,
  });
  expect(() => loadCrmConfig({ PORT: 'eighty' })).toThrow('PORT: expected number, found "eighty"');
  expect(() => loadCrmConfig({ HUBSPOT_BASE_URL: 'ftp://x' })).toThrow('HUBSPOT_BASE_URL: expected an http(s) URL');
  expect(() => loadCrmConfig({ HUBSPOT_TIMEOUT_MS: '0' })).toThrow('HUBSPOT_TIMEOUT_MS: expected a value >= 1');
});
