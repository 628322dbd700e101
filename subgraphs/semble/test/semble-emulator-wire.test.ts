/** The emulator speaks Semble's wire format: x-token, page/pageSize with hasMore, pageSize limit, NHS_UK numbers. */
import { createSeedWorld } from '../../../lib/seed';
import { startSembleEmulator } from '../emulator/server';
import type { SembleEmulator } from '../emulator/server';

const TOKEN = 'wire-token';

describe('Semble emulator wire format', () => {
  const world = createSeedWorld({ patients: 30, seed: 7 });
  let emulator: SembleEmulator;
  const post = async (query: string, token: string | null = TOKEN) => {
    const response = await fetch(`${emulator.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(token === null ? {} : { 'x-token': token }) },
      body: JSON.stringify({ query }),
    });
    return { status: response.status, body: (await response.json()) as any };
  };

  beforeAll(async () => {
    emulator = await startSembleEmulator({ world, token: TOKEN });
  });
  afterAll(async () => {
    await emulator.stop();
  });

  it('refuses a missing or wrong x-token with 401 and Semble’s body', async () => {
    for (const token of [null, 'nope']) {
      const { status, body } = await post('{ users { id } }', token);
      expect(status).toBe(401);
      expect(body).toEqual({ errors: [{ message: 'Unauthorized' }] });
    }
  });

  it('pages patients with page/pageSize and pageInfo.hasMore only', async () => {
    const first = await post('{ patients(pagination: {page: 1, pageSize: 20}) { data { id } pageInfo { hasMore } } }');
    expect(first.status).toBe(200);
    expect(first.body.data.patients.data).toHaveLength(20);
    expect(first.body.data.patients.pageInfo).toEqual({ hasMore: true });
    const second = await post('{ patients(pagination: {page: 2, pageSize: 20}) { data { id } pageInfo { hasMore } } }');
    expect(second.body.data.patients.data.map((p: { id: string }) => p.id)).toEqual(world.patients.slice(20).map((p) => p.id));
    expect(second.body.data.patients.pageInfo).toEqual({ hasMore: false });
    const total = await post('{ patients { pageInfo { total } } }');
    expect(total.status).toBe(400);
  });

  it('answers pageSize over 100 with a GraphQL error on the field', async () => {
    const { status, body } = await post('{ patients(pagination: {page: 1, pageSize: 101}) { data { id } } }');
    expect(status).toBe(200);
    expect(body.data).toEqual({ patients: null });
    expect(body.errors[0]).toMatchObject({ message: 'pageSize must be between 1 and 100, got 101', path: ['patients'] });
  });

  it('carries the NHS number as the numbers entry named NHS_UK, and dob', async () => {
    const seed = world.patients.find((p) => p.nhsNumber)!;
    const { body } = await post(`{ patient(id: "${seed.id}") { dob numbers { name value } phones { phoneType phoneNumber } } }`);
    expect(body.data.patient).toEqual({
      dob: seed.dob,
      numbers: [{ name: 'NHS_UK', value: seed.nhsNumber }],
      phones: seed.phones.map((phone) => ({ phoneType: phone.type, phoneNumber: phone.number })),
    });
  });

  it('filters bookings by dateRange and the patientId extension, and invoices by patientId', async () => {
    const patientId = world.bookings[0]!.patientId;
    const { body } = await post(`{
      bookings(patientId: "${patientId}", pagination: {page: 1, pageSize: 100}) { data { id patientId } }
      invoices(patientId: "${patientId}", pagination: {page: 1, pageSize: 100}) { data { id } }
      ranged: bookings(dateRange: {start: "2025-01-01T00:00:00Z", end: "2025-02-01T00:00:00Z"}, pagination: {page: 1, pageSize: 100}) { data { start } }
    }`);
    expect(body.data.bookings.data.map((b: { id: string }) => b.id).sort()).toEqual(world.bookings.filter((b) => b.patientId === patientId).map((b) => b.id).sort());
    expect(body.data.invoices.data.map((i: { id: string }) => i.id)).toEqual(world.invoices.filter((i) => i.patientId === patientId).map((i) => i.id));
    for (const booking of body.data.ranged.data) expect(booking.start >= '2025-01-01' && booking.start < '2025-02-01').toBe(true);
  });

  it('counts the requests it serves', async () => {
    await fetch(`${emulator.url}/__admin/requests`, { method: 'DELETE' });
    await post('{ users { id } }');
    const counts = (await (await fetch(`${emulator.url}/__admin/requests`)).json()) as { byRoute: Record<string, number> };
    expect(counts.byRoute).toEqual({ 'POST /graphql': 1 });
  });
});
