/**
 * Semble changes made in its UI (admin routes) or through updatePatient reach a real receiver
 * as Semble's event hint with the shared-secret header, retried when the receiver fails; the
 * change is visible through Semble's API either way.
 */
import { readEmulatorConfig } from '../../../lib/emulator-main';
import { createSeedWorld } from '../../../lib/seed';
import { verifySemble } from '../../../lib/webhooks';
import { readDeliveries, startRecordingReceiver, waitForDeliveries } from '../../../lib/webhooks/recording-receiver';
import type { RecordingReceiver } from '../../../lib/webhooks/recording-receiver';
import { startSembleEmulator } from '../emulator/server';
import { entrypoint as sembleEmulatorEntry } from '../emulator/main';
import type { SembleEmulator } from '../emulator/server';

const TOKEN = 'semble-webhook-test-token';
const SECRET = 'semble-webhook-test-secret';

const deliveries = (emulator: SembleEmulator) => readDeliveries(emulator.url);

describe('Semble webhooks', () => {
  const world = createSeedWorld({ patients: 20, seed: 11 });
  let receiver: RecordingReceiver;
  let emulator: SembleEmulator;

  const graphql = async (query: string) => {
    const response = await fetch(`${emulator.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-token': TOKEN },
      body: JSON.stringify({ query }),
    });
    return (await response.json()) as { data: any; errors?: unknown[] };
  };
  const patch = (path: string, body: unknown) =>
    fetch(`${emulator.url}/__admin${path}`, { method: 'PATCH', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

  beforeEach(async () => {
    receiver = await startRecordingReceiver('/webhooks/semble');
    emulator = await startSembleEmulator({ world, token: TOKEN, webhook: { url: receiver.url, secret: SECRET, retryDelaysMs: [20, 40, 80] } });
  });
  afterEach(async () => {
    await emulator.stop();
    await receiver.stop();
  });

  it('PATCH /__admin/patients/:id updates the patient and POSTs PATIENT_UPDATED with the secret header', async () => {
    const seed = world.patients[0]!;
    const response = await patch(`/patients/${seed.id}`, { email: 'new.address@example.org', phone: '07700 900777', lastName: 'Renamed' });
    expect(response.status).toBe(200);
    expect(response.headers.get('x-emulator-webhook-delivery')).toMatch(/^whd_/);
    const record = (await response.json()) as { email: string; fullName: string; updatedAt: string; deleted?: boolean };
    expect(record).toMatchObject({ email: 'new.address@example.org', fullName: `${seed.firstName} Renamed` });
    expect(record.deleted).toBeUndefined();
    expect(record.updatedAt > seed.updatedAt).toBe(true);

    const [hook] = await receiver.waitFor(1);
    expect(hook!.method).toBe('POST');
    expect(hook!.path).toBe('/webhooks/semble');
    expect(hook!.headers['content-type']).toBe('application/json');
    expect(hook!.headers['x-semble-webhook-secret']).toBe(SECRET);
    expect(JSON.parse(hook!.body.toString())).toEqual({ eventType: 'PATIENT_UPDATED', data: { id: seed.id } });
    expect(verifySemble({ headers: hook!.headers, body: hook!.body, secret: SECRET })).toMatchObject({ ok: true, event: { eventType: 'PATIENT_UPDATED', data: { id: seed.id } } });
    expect(verifySemble({ headers: hook!.headers, body: hook!.body, secret: 'not-the-secret' })).toEqual({ ok: false, reason: 'BAD_SIGNATURE' });

    const { data } = await graphql(`{ patient(id: "${seed.id}") { email lastName updatedAt phones { phoneNumber } } }`);
    expect(data.patient).toMatchObject({ email: 'new.address@example.org', lastName: 'Renamed', updatedAt: record.updatedAt });
    expect(data.patient.phones[0].phoneNumber).toBe('07700 900777');
    const changed = await graphql(`{ patients(options: {updatedAt: {start: "${record.updatedAt}"}}) { data { id } } }`);
    expect(changed.data.patients.data.map((p: { id: string }) => p.id)).toContain(seed.id);
  });

  it('lists who changed which fields of a patient (GET /__admin/patients/:id/changes): UI for admin edits, API for updatePatient', async () => {
    const seed = world.patients[7]!;
    const ui = await patch(`/patients/${seed.id}`, { city: 'Leeds', address: '1 Moved Road', firstName: seed.firstName });
    expect(ui.status).toBe(200);
    expect(((await ui.json()) as { address: { address: string; city: string } }).address).toMatchObject({ address: '1 Moved Road', city: 'Leeds' });
    await graphql(`mutation { updatePatient(id: "${seed.id}", patientData: {email: "changed.by.api@example.org"}) { error } }`);
    const answer = (await (await fetch(`${emulator.url}/__admin/patients/${seed.id}/changes`)).json()) as { changes: unknown[] };
    // Names only: the unchanged first name is not listed, and no value is.
    expect(answer.changes).toEqual([
      { patientId: seed.id, at: expect.any(String), source: 'UI', fields: ['address'] },
      { patientId: seed.id, at: emulator.store.patients.get(seed.id)!.updatedAt, source: 'API', fields: ['email'] },
    ]);
    expect(JSON.stringify(answer)).not.toContain('Leeds');
    expect((await fetch(`${emulator.url}/__admin/patients/no-such-patient/changes`)).status).toBe(404);
    await receiver.waitFor(2);
  });

  it('PATCH /__admin/bookings/:id moves or cancels a booking and POSTs BOOKING_UPDATED', async () => {
    const seed = world.bookings.find((b) => b.state === 'BOOKED')!;
    const start = '2031-03-04T10:00:00.000Z';
    const end = '2031-03-04T10:30:00.000Z';
    const moved = await patch(`/bookings/${seed.id}`, { start, end });
    expect(moved.status).toBe(200);
    const cancelled = await patch(`/bookings/${seed.id}`, { cancel: true });
    expect(cancelled.status).toBe(200);

    const hooks = await receiver.waitFor(2);
    for (const hook of hooks) {
      expect(verifySemble({ headers: hook.headers, body: hook.body, secret: SECRET })).toMatchObject({ ok: true, event: { eventType: 'BOOKING_UPDATED', data: { id: seed.id } } });
    }
    const { data } = await graphql(`{ booking(id: "${seed.id}") { start end cancellationReason updatedAt } }`);
    expect(data.booking).toMatchObject({ start, end, cancellationReason: 'Cancelled by practice' });
    expect(data.booking.updatedAt > seed.updatedAt).toBe(true);
  });

  it('updatePatient changes the patient through the API, bumps updatedAt and sends PATIENT_UPDATED too', async () => {
    const seed = world.patients[1]!;
    const { data } = await graphql(
      `mutation { updatePatient(id: "${seed.id}", patientData: {first: "Ada", dob: "1980-02-03", postcode: "N1 9GU"}) { data { firstName fullName dob updatedAt address { postcode } } error } }`,
    );
    expect(data.updatePatient.error).toBeNull();
    expect(data.updatePatient.data).toMatchObject({ firstName: 'Ada', fullName: `Ada ${seed.lastName}`, dob: '1980-02-03', address: { postcode: 'N1 9GU' } });
    expect(data.updatePatient.data.updatedAt > seed.updatedAt).toBe(true);
    const [hook] = await receiver.waitFor(1);
    expect(JSON.parse(hook!.body.toString())).toEqual({ eventType: 'PATIENT_UPDATED', data: { id: seed.id } });

    const missing = await graphql(`mutation { updatePatient(id: "no-such-patient", patientData: {first: "X"}) { data { id } error } }`);
    expect(missing.data.updatePatient).toEqual({ data: null, error: 'Patient not found' });
    const bad = await graphql(`mutation { updatePatient(id: "${seed.id}", patientData: {dob: "yesterday"}) { data { id } error } }`);
    expect(bad.data.updatePatient).toEqual({ data: null, error: 'dob must be a date (YYYY-MM-DD)' });
  });

  it('retries a receiver answering 500 and lists the delivery under /__admin/webhooks', async () => {
    receiver.respondWith((count) => (count <= 2 ? 500 : 200));
    const seed = world.patients[2]!;
    const response = await patch(`/patients/${seed.id}`, { firstName: 'Retry' });
    expect(response.status).toBe(200);
    const hooks = await receiver.waitFor(3);
    expect(hooks.map((h) => h.answeredWith)).toEqual([500, 500, 200]);
    // Every attempt carries the same hint and the secret.
    for (const hook of hooks) expect(verifySemble({ headers: hook.headers, body: hook.body, secret: SECRET }).ok).toBe(true);
    const all = await waitForDeliveries(emulator.url, (list) => list[0]?.status === 'delivered');
    expect(all).toEqual([expect.objectContaining({ url: receiver.url, event: 'PATIENT_UPDATED', status: 'delivered', attempts: 3 })]);
    // Finished deliveries can be forgotten between test steps.
    expect((await fetch(`${emulator.url}/__admin/webhooks`, { method: 'DELETE' })).status).toBe(204);
    expect(await deliveries(emulator)).toEqual([]);
  });

  it('loses the next webhook when told to (POST /__admin/webhooks/drop): the change applies, nothing is sent', async () => {
    const drop = (body: unknown) => fetch(`${emulator.url}/__admin/webhooks/drop`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    expect((await drop({ count: 0 })).status).toBe(400);
    const answer = await drop({});
    expect(answer.status).toBe(200);
    expect(await answer.json()).toEqual({ dropping: 1 });
    const lost = world.patients[4]!;
    expect((await patch(`/patients/${lost.id}`, { lastName: 'Lost' })).status).toBe(200);
    expect(emulator.store.patients.get(lost.id)!.lastName).toBe('Lost');
    expect(await deliveries(emulator)).toEqual([expect.objectContaining({ event: 'PATIENT_UPDATED', status: 'failed', attempts: 0, lastError: 'DROPPED' })]);
    // Only the next one: the following change is sent as usual.
    expect((await patch(`/patients/${lost.id}`, { firstName: 'Found' })).status).toBe(200);
    const [hook] = await receiver.waitFor(1);
    expect(JSON.parse(hook!.body.toString())).toEqual({ eventType: 'PATIENT_UPDATED', data: { id: lost.id } });
    expect(receiver.received).toHaveLength(1);
  });

  it('duplicates and delays the next webhooks when told to (POST /__admin/webhooks/duplicate, /delay)', async () => {
    const post = (path: string, body: unknown) => fetch(`${emulator.url}/__admin/webhooks/${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    expect((await post('delay', {})).status).toBe(400);
    expect(await (await post('duplicate', { afterMs: -1 })).json()).toEqual({ message: 'afterMs: expected a non-negative integer, got -1' });
    const [slow, fast] = [world.patients[5]!, world.patients[6]!];
    expect(await (await post('delay', { ms: 200 })).json()).toEqual({ delaying: 1 });
    expect((await patch(`/patients/${slow.id}`, { lastName: 'Slow' })).status).toBe(200);
    expect(await (await post('duplicate', { count: 1 })).json()).toEqual({ duplicating: 1 });
    expect((await patch(`/patients/${fast.id}`, { lastName: 'Fast' })).status).toBe(200);
    const hooks = await receiver.waitFor(3);
    // The held one comes last; the next one was sent twice.
    expect(hooks.map((hook) => (JSON.parse(hook.body.toString()) as { data: { id: string } }).data.id)).toEqual([fast.id, fast.id, slow.id]);
    const all = await waitForDeliveries(emulator.url, (list) => list.length === 3 && list.every((d) => d.status === 'delivered'));
    expect(all.filter((d) => d.duplicateOf)).toHaveLength(1);
  });

  it('answers 404 for an unknown record and 400 for a bad change, sending nothing', async () => {
    expect((await patch('/patients/no-such-patient', { firstName: 'X' })).status).toBe(404);
    const notJson = await fetch(`${emulator.url}/__admin/patients/${world.patients[0]!.id}`, { method: 'PATCH', headers: { 'content-type': 'application/json' }, body: '{"firstName":' });
    expect(notJson.status).toBe(400);
    expect(await notJson.json()).toEqual({ message: 'Invalid JSON body.' });
    const bad = await patch(`/patients/${world.patients[0]!.id}`, { dob: 'not a date', ssn: '1' });
    expect(bad.status).toBe(400);
    expect(await bad.text()).not.toContain('not a date');
    expect((await patch(`/bookings/${world.bookings[0]!.id}`, { start: '2031-01-01T10:00:00Z', end: '2031-01-01T09:00:00Z' })).status).toBe(400);
    expect(receiver.received).toHaveLength(0);
    expect(await deliveries(emulator)).toEqual([]);
  });

  it('does not count admin requests', async () => {
    await fetch(`${emulator.url}/__admin/requests`, { method: 'DELETE' });
    await patch(`/patients/${world.patients[3]!.id}`, { firstName: 'Counted' });
    await fetch(`${emulator.url}/__admin/webhooks`);
    const counts = (await (await fetch(`${emulator.url}/__admin/requests`)).json()) as { total: number };
    expect(counts.total).toBe(0);
  });
});

describe('Semble emulator without a webhook URL', () => {
  it('applies changes and sends nothing', async () => {
    const world = createSeedWorld({ patients: 5, seed: 3 });
    const receiver = await startRecordingReceiver();
    const emulator = await startSembleEmulator({ world, token: TOKEN });
    try {
      const seed = world.patients[0]!;
      const response = await fetch(`${emulator.url}/__admin/patients/${seed.id}`, {
        method: 'PATCH',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ firstName: 'Quiet' }),
      });
      expect(response.status).toBe(200);
      expect(response.headers.get('x-emulator-webhook-delivery')).toBeNull();
      expect(emulator.store.patients.get(seed.id)!.firstName).toBe('Quiet');
      expect(await deliveries(emulator)).toEqual([]);
      expect(receiver.received).toHaveLength(0);
    } finally {
      await emulator.stop();
      await receiver.stop();
    }
  });
});

describe('Semble emulator webhook settings', () => {
  it('reads SEMBLE_WEBHOOK_URL and SEMBLE_WEBHOOK_SECRET from the environment (a numeric-looking secret stays text)', async () => {
    const receiver = await startRecordingReceiver();
    const config = readEmulatorConfig(sembleEmulatorEntry, { SEMBLE_WEBHOOK_URL: receiver.url, SEMBLE_WEBHOOK_SECRET: '123456', SEED_PATIENTS: '20' });
    const world = createSeedWorld({ patients: config.patients, seed: config.seed });
    const running = await sembleEmulatorEntry.start({ world, token: config.token, port: 0, host: '127.0.0.1' }, config.extra);
    try {
      const seed = world.patients[0]!;
      expect((await fetch(`${running.url}/__admin/patients/${seed.id}`, { method: 'PATCH', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ firstName: 'Env' }) })).status).toBe(200);
      const [hook] = await receiver.waitFor(1);
      expect(verifySemble({ headers: hook!.headers, body: hook!.body, secret: '123456' }).ok).toBe(true);
    } finally {
      await running.stop();
      await receiver.stop();
    }
  });

  it('sends nothing without SEMBLE_WEBHOOK_URL, and refuses a malformed one naming the variable', () => {
    expect(readEmulatorConfig(sembleEmulatorEntry, {}).extra.webhookUrl).toBeUndefined();
    expect(() => readEmulatorConfig(sembleEmulatorEntry, { SEMBLE_WEBHOOK_URL: 'not a url' })).toThrow(/SEMBLE_WEBHOOK_URL: expected an http\(s\) URL/);
  });
});
