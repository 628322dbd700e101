/**
 * The emulator speaks Stripe's wire format: auth failures, limit validation, list and search
 * pagination, the search clause limit, and error bodies.
 */
import { createSeedWorld } from '../../../lib/seed';
import { maskStripeKey, startStripeEmulator } from '../emulator/server';
import type { StripeEmulator } from '../emulator/server';
import { createStripeClient, metadataOrQuery } from '../../../lib/vendors/stripe';

const KEY = 'sk_test_wire_suite_key';
let emulator: StripeEmulator;
const world = createSeedWorld({ patients: 60, seed: 42 });

beforeAll(async () => {
  emulator = await startStripeEmulator({ world, token: KEY });
});
afterAll(async () => {
  await emulator?.stop();
});

async function get(path: string, key: string | null = KEY) {
  const response = await fetch(`${emulator.url}${path}`, { headers: key === null ? {} : { authorization: `Bearer ${key}` } });
  return { status: response.status, body: (await response.json()) as Record<string, any> };
}

describe('Stripe emulator wire format', () => {
  it('answers a wrong key with 401 and the key masked like Stripe', async () => {
    const { status, body } = await get('/v1/customers', 'sk_test_someone_elses_key_1234');
    expect(status).toBe(401);
    expect(body).toEqual({ error: { type: 'invalid_request_error', message: `Invalid API Key provided: sk_test_${'*'.repeat(18)}1234` } });
    expect(maskStripeKey('sk_live_abc')).toBe('sk_live_***');
  });

  it('answers a missing key with 401', async () => {
    const { status, body } = await get('/v1/customers', null);
    expect(status).toBe(401);
    expect(body.error.message).toMatch(/^You did not provide an API key/);
  });

  it('accepts the key as the Basic user name too, as Stripe does', async () => {
    const response = await fetch(`${emulator.url}/v1/customers?limit=1`, {
      headers: { authorization: `Basic ${Buffer.from(`${KEY}:`).toString('base64')}` },
    });
    expect(response.status).toBe(200);
  });

  it.each([
    ['101', 'This value must be less than or equal to 100.'],
    ['0', 'This value must be greater than or equal to 1.'],
    ['ten', 'Invalid integer: ten'],
  ])('rejects limit=%s with 400', async (limit, message) => {
    for (const path of ['/v1/payment_intents', `/v1/payment_intents/search?query=${encodeURIComponent("status:'succeeded'")}&`]) {
      const { status, body } = await get(`${path}${path.includes('?') ? '' : '?'}limit=${limit}`);
      expect(status).toBe(400);
      expect(body).toEqual({ error: { type: 'invalid_request_error', message, param: 'limit' } });
    }
  });

  it('pages a list newest first with starting_after', async () => {
    const all = [...emulator.store.paymentIntents.values()].sort((a, b) => b.created - a.created || (a.id < b.id ? 1 : -1));
    const seen: string[] = [];
    let startingAfter: string | undefined;
    for (;;) {
      const { status, body } = await get(`/v1/payment_intents?limit=7${startingAfter ? `&starting_after=${startingAfter}` : ''}`);
      expect(status).toBe(200);
      expect(body.object).toBe('list');
      expect(body.url).toBe('/v1/payment_intents');
      seen.push(...body.data.map((p: { id: string }) => p.id));
      if (!body.has_more) break;
      startingAfter = body.data[body.data.length - 1].id;
    }
    expect(seen).toEqual(all.map((p) => p.id));
  });

  it('filters payment intents by customer, and subscriptions by status like Stripe', async () => {
    const customer = world.paymentIntents[0]?.customerId as string;
    const { body } = await get(`/v1/payment_intents?customer=${customer}&limit=100`);
    expect(body.data.map((p: { id: string }) => p.id).sort()).toEqual(world.paymentIntents.filter((p) => p.customerId === customer).map((p) => p.id).sort());
    const live = await get('/v1/subscriptions?limit=100');
    const all = await get('/v1/subscriptions?limit=100&status=all');
    expect(all.body.data).toHaveLength(world.subscriptions.length);
    expect(live.body.data).toHaveLength(world.subscriptions.filter((s) => s.status !== 'canceled').length);
    expect((await get('/v1/subscriptions?status=sleeping')).status).toBe(400);
  });

  it('serves search results with next_page until has_more is false', async () => {
    const patients = world.patients.slice(0, 10).map((p) => p.id);
    const query = encodeURIComponent(metadataOrQuery('semble_patient_id', patients));
    const ids: string[] = [];
    let page: string | null = null;
    do {
      const { status, body }: { status: number; body: Record<string, any> } = await get(
        `/v1/payment_intents/search?query=${query}&limit=2${page ? `&page=${page}` : ''}`,
      );
      expect(status).toBe(200);
      expect(body.object).toBe('search_result');
      expect(body.url).toBe('/v1/payment_intents/search');
      ids.push(...body.data.map((p: { id: string }) => p.id));
      page = body.next_page;
      expect(body.has_more).toBe(page !== null);
    } while (page);
    expect(ids.sort()).toEqual(world.paymentIntents.filter((p) => patients.includes(p.patientId)).map((p) => p.id).sort());
  });

  it('searches payment intents by customer and customers by metadata', async () => {
    const [a, b] = world.customers;
    const byCustomer = await get(`/v1/payment_intents/search?limit=100&query=${encodeURIComponent(`customer:'${a?.id}' OR customer:'${b?.id}'`)}`);
    expect(byCustomer.body.data.length).toBe(world.paymentIntents.filter((p) => p.customerId === a?.id || p.customerId === b?.id).length);
    const customers = await get(`/v1/customers/search?query=${encodeURIComponent(metadataOrQuery('semble_patient_id', [a?.patientId as string]))}`);
    expect(customers.body.data).toEqual([
      { id: a?.id, object: 'customer', email: a?.email, name: a?.name, phone: a?.phone, metadata: { semble_patient_id: a?.patientId }, created: a?.created, livemode: false },
    ]);
  });

  it('rejects more than 10 search clauses with 400 invalid_request_error', async () => {
    const query = encodeURIComponent(metadataOrQuery('semble_patient_id', world.patients.slice(0, 11).map((p) => p.id)));
    const { status, body } = await get(`/v1/customers/search?query=${query}`);
    expect(status).toBe(400);
    expect(body.error).toMatchObject({ type: 'invalid_request_error', param: 'query' });
    expect(body.error.message).toContain('at most 10 clauses');
  });

  it('rejects unsupported search fields and bad page tokens', async () => {
    expect((await get(`/v1/subscriptions/search?query=${encodeURIComponent("customer:'cus_1'")}`)).status).toBe(400);
    const bad = await get(`/v1/subscriptions/search?query=${encodeURIComponent("status:'active'")}&page=nonsense`);
    expect(bad.status).toBe(400);
    expect(bad.body.error.param).toBe('page');
  });

  it('answers an unknown id with 404 resource_missing', async () => {
    const { status, body } = await get('/v1/payment_intents/pi_nope');
    expect(status).toBe(404);
    expect(body).toEqual({ error: { type: 'invalid_request_error', code: 'resource_missing', param: 'id', message: "No such payment_intent: 'pi_nope'" } });
  });

  it('shapes subscriptions like Stripe', async () => {
    const seed = world.subscriptions[0];
    const { body } = await get(`/v1/subscriptions/${seed?.id}`);
    expect(body).toMatchObject({
      id: seed?.id,
      object: 'subscription',
      status: seed?.status,
      customer: seed?.customerId,
      current_period_end: seed?.currentPeriodEnd,
      metadata: { semble_patient_id: seed?.patientId, plan: seed?.plan },
      items: { object: 'list', data: [{ price: { unit_amount: seed?.amount, currency: 'gbp', recurring: { interval: seed?.interval }, nickname: seed?.plan } }] },
    });
  });

  it('follows next_page in the client and splits OR-groups by the configured clause limit', async () => {
    const client = createStripeClient({ baseUrl: emulator.url, token: KEY, maxSearchClauses: 3 });
    const patients = world.patients.slice(0, 7).map((p) => p.id);
    const before = emulator.counts().byRoute['GET /v1/payment_intents/search'] ?? 0;
    const byPatient = await client.searchByMetadata('payment_intents', 'semble_patient_id', patients);
    expect((emulator.counts().byRoute['GET /v1/payment_intents/search'] ?? 0) - before).toBe(3);
    for (const id of patients) {
      const found = byPatient.get(id);
      expect(Array.isArray(found) && found.map((p) => p.id).sort()).toEqual(world.paymentIntents.filter((p) => p.patientId === id).map((p) => p.id).sort());
    }
  });
});
