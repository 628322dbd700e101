/**
 * The emulator speaks HubSpot's wire format: auth and its 401 body, batch limits and 207 for
 * misses, property selection, search filters and paging, rate-limit headers and 429s.
 */
import { createSeedWorld } from '../../../lib/seed';
import { startHubSpotEmulator } from '../emulator/server';
import type { HubSpotEmulator } from '../emulator/server';

const TOKEN = 'emulator-test-token';
const world = createSeedWorld({ patients: 60, seed: 42 });
let emulator: HubSpotEmulator;

async function call(method: string, path: string, body?: unknown, token = TOKEN) {
  const response = await fetch(`${emulator.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: response.status, headers: response.headers, body: (await response.json()) as Record<string, any> };
}

beforeAll(async () => {
  emulator = await startHubSpotEmulator({ world, token: TOKEN, rateLimit: { max: 10_000, windowMs: 10_000 } });
});
afterAll(async () => {
  await emulator?.stop();
});

test('a wrong or missing token gets 401 with HubSpot INVALID_AUTHENTICATION body', async () => {
  const answer = await call('GET', `/crm/v3/objects/contacts/${world.contacts[0]?.id}`, undefined, 'wrong');
  expect(answer.status).toBe(401);
  expect(answer.body).toMatchObject({ status: 'error', category: 'INVALID_AUTHENTICATION', correlationId: expect.any(String) });
  expect(answer.body.message).toMatch(/^Authentication credentials not found/);
});

test('batch read of more than 100 inputs is a 400 VALIDATION_ERROR', async () => {
  const inputs = Array.from({ length: 101 }, (_, i) => ({ id: String(i) }));
  const answer = await call('POST', '/crm/v3/objects/contacts/batch/read', { inputs, properties: ['email'] });
  expect(answer.status).toBe(400);
  expect(answer.body).toMatchObject({ status: 'error', category: 'VALIDATION_ERROR', correlationId: expect.any(String), message: expect.any(String) });
});

test('batch read returns only requested (plus default) properties; misses are absent with a 207 and OBJECT_NOT_FOUND', async () => {
  const contact = world.contacts[0]!;
  const answer = await call('POST', '/crm/v3/objects/contacts/batch/read', {
    inputs: [{ id: contact.patientId }, { id: 'no-such-patient' }],
    properties: ['email', 'marketing_consent'],
    idProperty: 'semble_patient_id',
  });
  expect(answer.status).toBe(207);
  expect(answer.body.status).toBe('COMPLETE');
  expect(answer.body.results).toEqual([
    {
      id: contact.id,
      properties: {
        email: contact.email,
        marketing_consent: String(contact.marketingConsent),
        semble_patient_id: contact.patientId,
        hs_object_id: contact.id,
        createdate: contact.createdAt,
        lastmodifieddate: contact.updatedAt,
      },
      createdAt: contact.createdAt,
      updatedAt: contact.updatedAt,
      archived: false,
    },
  ]);
  expect(answer.body.numErrors).toBe(1);
  expect(answer.body.errors[0]).toMatchObject({ category: 'OBJECT_NOT_FOUND', context: { ids: ['no-such-patient'] } });
});

test('deals batch read, GET by id and by idProperty, 404 for a miss', async () => {
  const deal = world.deals[0]!;
  const batch = await call('POST', '/crm/v3/objects/deals/batch/read', { inputs: [{ id: deal.id }], properties: ['amount', 'closedate'] });
  expect(batch.status).toBe(200);
  expect(batch.body.results[0].properties).toMatchObject({ amount: String(deal.amount), closedate: `${deal.closeDate}T00:00:00.000Z` });
  const contact = world.contacts[1]!;
  const byId = await call('GET', `/crm/v3/objects/contacts/${contact.id}?properties=firstname,phone`);
  expect(byId.body.properties).toMatchObject({ firstname: contact.firstName, phone: contact.phone });
  expect(byId.body.properties.email).toBeUndefined();
  const byPatient = await call('GET', `/crm/v3/objects/contacts/${contact.patientId}?properties=email&idProperty=semble_patient_id`);
  expect(byPatient.body.id).toBe(contact.id);
  const miss = await call('GET', '/crm/v3/objects/contacts/1');
  expect(miss.status).toBe(404);
  expect(miss.body).toMatchObject({ status: 'error', category: 'OBJECT_NOT_FOUND' });
});

test('search: IN filter, paging with after, limit ≤ 200', async () => {
  const patientIds = world.patients.map((p) => p.id);
  const expected = world.deals.map((d) => d.id);
  const seen: string[] = [];
  let after: string | undefined;
  do {
    const page = await call('POST', '/crm/v3/objects/deals/search', {
      filterGroups: [{ filters: [{ propertyName: 'semble_patient_id', operator: 'IN', values: patientIds }] }],
      properties: ['dealname'],
      limit: 7,
      after,
    });
    expect(page.status).toBe(200);
    expect(page.body.total).toBe(expected.length);
    seen.push(...page.body.results.map((r: { id: string }) => r.id));
    after = page.body.paging?.next?.after;
  } while (after);
  expect(seen).toEqual(expected);
  const tooBig = await call('POST', '/crm/v3/objects/deals/search', { filterGroups: [], properties: [], limit: 201 });
  expect(tooBig.status).toBe(400);
  expect(tooBig.body.category).toBe('VALIDATION_ERROR');
});

test('search EQ compares exactly (the client normalises emails, not the emulator)', async () => {
  const contact = world.contacts.find((c) => c.email)!;
  const search = (value: string) =>
    call('POST', '/crm/v3/objects/contacts/search', { filterGroups: [{ filters: [{ propertyName: 'email', operator: 'EQ', value }] }], properties: ['email'], limit: 10 });
  expect((await search(contact.email!)).body.results.map((r: { id: string }) => r.id)).toContain(contact.id);
  expect((await search(contact.email!.toUpperCase())).body.total).toBe(0);
});

test('search by lastmodifieddate GTE/LT/BETWEEN (epoch ms or ISO 8601), sorted by it: what an incremental sweep asks', async () => {
  const times = world.contacts.map((c) => Date.parse(c.updatedAt)).sort((a, b) => a - b);
  const since = times[Math.floor(times.length / 2)]!;
  const expected = world.contacts.filter((c) => Date.parse(c.updatedAt) >= since);
  const search = (filters: unknown[]) =>
    call('POST', '/crm/v3/objects/contacts/search', {
      filterGroups: [{ filters }],
      properties: ['lastmodifieddate'],
      sorts: [{ propertyName: 'lastmodifieddate', direction: 'ASCENDING' }],
      limit: 200,
    });
  const byMs = await search([{ propertyName: 'lastmodifieddate', operator: 'GTE', value: String(since) }]);
  expect(byMs.status).toBe(200);
  expect(byMs.body.total).toBe(expected.length);
  const modified = byMs.body.results.map((r: { properties: { lastmodifieddate: string } }) => Date.parse(r.properties.lastmodifieddate));
  expect(modified).toEqual([...modified].sort((a, b) => a - b));
  expect(modified.every((ms: number) => ms >= since)).toBe(true);
  const byIso = await search([{ propertyName: 'lastmodifieddate', operator: 'GTE', value: new Date(since).toISOString() }]);
  expect(byIso.body.total).toBe(expected.length);
  const before = await search([{ propertyName: 'lastmodifieddate', operator: 'LT', value: String(since) }]);
  expect(before.body.total).toBe(world.contacts.length - expected.length);
  const between = await search([{ propertyName: 'lastmodifieddate', operator: 'BETWEEN', value: String(since), highValue: String(since) }]);
  expect(between.body.total).toBe(world.contacts.filter((c) => Date.parse(c.updatedAt) === since).length);
  const bad = await search([{ propertyName: 'lastmodifieddate', operator: 'GT', value: 'yesterday' }]);
  expect(bad.status).toBe(400);
  expect(bad.body.category).toBe('VALIDATION_ERROR');
});

test('batch upsert by semble_patient_id updates an existing contact and creates a new one', async () => {
  const contact = world.contacts[2]!;
  const answer = await call('POST', '/crm/v3/objects/contacts/batch/upsert', {
    inputs: [
      { id: contact.patientId, idProperty: 'semble_patient_id', properties: { lifecyclestage: 'customer' } },
      { id: 'new-patient-1', idProperty: 'semble_patient_id', properties: { email: 'new@example.co.uk', marketing_consent: false } },
    ],
  });
  expect(answer.status).toBe(200);
  expect(answer.body.results[0]).toMatchObject({ id: contact.id, new: false, properties: { lifecyclestage: 'customer' } });
  expect(answer.body.results[1]).toMatchObject({ new: true, properties: { email: 'new@example.co.uk', marketing_consent: 'false' } });
  const created = emulator.objects.contacts.get(answer.body.results[1].id);
  expect(created?.properties.semble_patient_id).toBe('new-patient-1');
});

test('every allowed answer carries X-HubSpot-RateLimit-* headers; over the limit → 429 with Retry-After', async () => {
  const limited = await startHubSpotEmulator({ world, token: TOKEN, rateLimit: { max: 2, windowMs: 60_000 } });
  try {
    const get = () => fetch(`${limited.url}/crm/v3/objects/contacts/${world.contacts[0]?.id}`, { headers: { authorization: `Bearer ${TOKEN}` } });
    const first = await get();
    expect(first.status).toBe(200);
    expect(first.headers.get('x-hubspot-ratelimit-max')).toBe('2');
    expect(first.headers.get('x-hubspot-ratelimit-remaining')).toBe('1');
    expect(first.headers.get('x-hubspot-ratelimit-interval-milliseconds')).toBe('60000');
    expect((await get()).headers.get('x-hubspot-ratelimit-remaining')).toBe('0');
    const refused = await get();
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(refused.headers.get('x-emulator-ratelimited-total')).toBe('1');
    expect(await refused.json()).toMatchObject({ status: 'error', category: 'RATE_LIMITS', message: 'You have reached your ten_secondly_rolling limit.' });
    expect(limited.rateLimited()).toBe(1);
  } finally {
    await limited.stop();
  }
});

test('propertiesWithHistory: each named property with its changes, newest first, with who made them (IMPORT, INTEGRATION, CRM_UI)', async () => {
  const contact = world.contacts[1]!;
  const upsert = await call('POST', '/crm/v3/objects/contacts/batch/upsert', {
    inputs: [{ id: contact.patientId, idProperty: 'semble_patient_id', properties: { firstname: 'Integrated' } }],
  });
  expect(upsert.status).toBe(200);
  const edited = await fetch(`${emulator.url}/__admin/contacts/${contact.id}`, {
    method: 'PATCH',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ properties: { firstname: 'Typed' } }),
  });
  expect(edited.status).toBe(200);

  const read = await call('POST', '/crm/v3/objects/contacts/batch/read', { inputs: [{ id: contact.id }], properties: ['firstname'], propertiesWithHistory: ['firstname', 'lastname'] });
  expect(read.status).toBe(200);
  const [result] = read.body.results;
  expect(result.properties.firstname).toBe('Typed');
  expect(result.propertiesWithHistory.firstname.map((entry: { value: string; sourceType: string }) => [entry.value, entry.sourceType])).toEqual([
    ['Typed', 'CRM_UI'],
    ['Integrated', 'INTEGRATION'],
    [contact.firstName, 'IMPORT'],
  ]);
  const times = result.propertiesWithHistory.firstname.map((entry: { timestamp: string }) => Date.parse(entry.timestamp));
  expect(times).toEqual([...times].sort((a, b) => b - a));
  expect(result.propertiesWithHistory.firstname[0].timestamp).toBe(result.properties.lastmodifieddate);
  expect(result.propertiesWithHistory.lastname).toEqual([{ value: contact.lastName, timestamp: contact.updatedAt, sourceType: 'IMPORT' }]);

  // A single read takes it in the query string; without asking, there is none.
  const one = await call('GET', `/crm/v3/objects/contacts/${contact.id}?properties=firstname&propertiesWithHistory=firstname`);
  expect(one.body.propertiesWithHistory.firstname).toHaveLength(3);
  expect((await call('GET', `/crm/v3/objects/contacts/${contact.id}?properties=firstname`)).body).not.toHaveProperty('propertiesWithHistory');
});
