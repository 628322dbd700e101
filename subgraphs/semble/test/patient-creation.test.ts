/**
 * Creating a patient in the Semble emulator, through Semble's `createPatient` mutation or the
 * admin route standing for its UI: the patient is served by the API from then on and Semble's
 * PATIENT_CREATED hint goes to the webhook receiver; bad input is refused naming the field.
 * Bookings made and attended at the front desk (admin routes) send BOOKING_CREATED / _UPDATED.
 */
import { createSeedWorld } from '../../../lib/seed';
import { startRecordingReceiver } from '../../../lib/webhooks/recording-receiver';
import type { RecordingReceiver } from '../../../lib/webhooks/recording-receiver';
import { startSembleEmulator } from '../emulator/server';
import type { SembleEmulator } from '../emulator/server';

const TOKEN = 'semble-create-test-token';
const SECRET = 'semble-create-test-secret';

describe('patient creation in the Semble emulator', () => {
  const world = createSeedWorld({ patients: 5, seed: 3 });
  let receiver: RecordingReceiver;
  let emulator: SembleEmulator;

  const graphql = async (query: string) => {
    const response = await fetch(`${emulator.url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-token': TOKEN }, body: JSON.stringify({ query }) });
    return (await response.json()) as { data: any; errors?: unknown[] };
  };
  const post = (body: unknown) => fetch(`${emulator.url}/__admin/patients`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

  beforeEach(async () => {
    receiver = await startRecordingReceiver('/webhooks/semble');
    emulator = await startSembleEmulator({ world, token: TOKEN, webhook: { url: receiver.url, secret: SECRET, retryDelaysMs: [20, 40, 80] } });
  });
  afterEach(async () => {
    await emulator.stop();
    await receiver.stop();
  });

  it('createPatient(patientData) adds the patient, answers it in `data`, and POSTs PATIENT_CREATED', async () => {
    const { data } = await graphql(
      `mutation { createPatient(patientData: {first: "Grace", last: "Hopper", email: "grace@example.org", dob: "1906-12-09", phone: "07700 900123", city: "Leeds"}) { data { id fullName email dob createdAt updatedAt phones { phoneNumber } address { city } } error } }`,
    );
    expect(data.createPatient.error).toBeNull();
    const created = data.createPatient.data;
    expect(created).toMatchObject({ fullName: 'Grace Hopper', email: 'grace@example.org', dob: '1906-12-09', phones: [{ phoneNumber: '07700 900123' }], address: { city: 'Leeds' } });
    expect(created.id).toMatch(/^[0-9a-f]{24}$/);
    expect(world.patients.some((patient) => patient.id === created.id)).toBe(false);
    expect(created.createdAt).toBe(created.updatedAt);

    const [hook] = await receiver.waitFor(1);
    expect(JSON.parse(hook!.body.toString())).toEqual({ eventType: 'PATIENT_CREATED', data: { id: created.id } });
    expect(hook!.headers['x-semble-webhook-secret']).toBe(SECRET);

    const read = await graphql(`{ patient(id: "${created.id}") { id firstName lastName } }`);
    expect(read.data.patient).toEqual({ id: created.id, firstName: 'Grace', lastName: 'Hopper' });
    const listed = await graphql(`{ patients(options: {updatedAt: {start: "${created.createdAt}"}}) { data { id } } }`);
    expect(listed.data.patients.data.map((p: { id: string }) => p.id)).toEqual([created.id]);
  });

  it('POST /__admin/patients creates the patient (201) and POSTs PATIENT_CREATED', async () => {
    const response = await post({ firstName: 'Alan', lastName: 'Turing', email: 'alan@example.org' });
    expect(response.status).toBe(201);
    const created = (await response.json()) as { id: string; fullName: string; deleted?: boolean };
    expect(created.fullName).toBe('Alan Turing');
    expect(created.deleted).toBeUndefined();
    const [hook] = await receiver.waitFor(1);
    expect(JSON.parse(hook!.body.toString())).toEqual({ eventType: 'PATIENT_CREATED', data: { id: created.id } });
    expect(emulator.store.patients.get(created.id)?.email).toBe('alan@example.org');
  });

  it('refuses a patient without a name, or with a bad date of birth or unknown field, naming the field and never the value', async () => {
    const noName = await graphql(`mutation { createPatient(patientData: {first: " ", last: "Hopper"}) { data { id } error } }`);
    expect(noName.data.createPatient).toEqual({ data: null, error: 'firstName must be a non-empty string.' });
    const badDob = await post({ firstName: 'A', lastName: 'B', dob: 'yesterday-ish' });
    expect(badDob.status).toBe(400);
    expect(JSON.stringify(await badDob.json())).not.toContain('yesterday-ish');
    const unknown = await post({ firstName: 'A', lastName: 'B', shoeSize: 9 });
    expect(((await unknown.json()) as { errors: Array<{ message: string }> }).errors[0]?.message).toMatch(/^Unknown field\(s\) shoeSize/);
    expect(emulator.store.patients.size).toBe(world.patients.length);
    expect(receiver.received).toHaveLength(0);
  });

  it('POST /__admin/bookings books a patient (BOOKING_CREATED); attendance COMPLETED or DNA records the journey (BOOKING_UPDATED)', async () => {
    const patient = world.patients[1]!;
    const made = await fetch(`${emulator.url}/__admin/bookings`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ patientId: patient.id, start: '2030-01-02T09:00:00Z', end: '2030-01-02T09:30:00Z', location: 'Room 1' }),
    });
    expect(made.status).toBe(201);
    const booking = (await made.json()) as { id: string; doctor: { id: string } | null };
    expect(booking.doctor).not.toBeNull();
    const attended = await fetch(`${emulator.url}/__admin/bookings/${booking.id}`, { method: 'PATCH', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ attendance: 'COMPLETED' }) });
    expect(attended.status).toBe(200);
    const hooks = await receiver.waitFor(2);
    expect(hooks.map((hook) => JSON.parse(hook.body.toString()))).toEqual([
      { eventType: 'BOOKING_CREATED', data: { id: booking.id } },
      { eventType: 'BOOKING_UPDATED', data: { id: booking.id } },
    ]);
    const { data } = await graphql(`{ booking(id: "${booking.id}") { patientId start location bookingJourney { arrived departed dna } } }`);
    expect(data.booking).toMatchObject({ patientId: patient.id, start: '2030-01-02T09:00:00.000Z', location: 'Room 1', bookingJourney: { arrived: expect.any(String), departed: expect.any(String), dna: null } });

    const refused = await fetch(`${emulator.url}/__admin/bookings`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ patientId: 'nobody', start: '2030-01-02T09:00:00Z', end: '2030-01-02T09:30:00Z' }) });
    expect(refused.status).toBe(400);
    expect(((await refused.json()) as { errors: Array<{ message: string }> }).errors[0]?.message).toBe('patientId must be the id of an existing patient.');
  });
});
