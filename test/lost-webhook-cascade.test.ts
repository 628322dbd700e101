/**
 * The cascade's reconciliation sweep through the real stack (test/stack.ts): a patient whose
 * PATIENT_CREATED webhook the Semble emulator drops still gets the welcome email, once, because
 * the cascade's sweep lists the patients Semble changed and sets off the same `patient.created`
 * event; a patient whose webhook did arrive gets each step once however many sweeps see it.
 * (With CASCADE_SWEEP_INTERVAL_MS=0 the first test times out: nothing else repairs a lost webhook.)
 */
import { startPatientGraph } from './stack';
import type { PatientGraphStack } from './stack';

/** Short, so the dropped webhook is repaired within the test; '0' turns the sweep off. */
const SWEEP_INTERVAL_MS = '300';

async function until<T>(check: () => Promise<T | undefined | false> | T | undefined | false, what: string, timeoutMs = 90_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

interface Received {
  vendor: string;
  idempotencyKey?: string;
  duplicate: boolean;
  status: number;
}

interface Delivery {
  event: string;
  status: string;
  lastError: string | null;
}

describe('a new patient whose Semble webhook was lost', () => {
  let stack: PatientGraphStack;

  beforeAll(async () => {
    stack = await startPatientGraph({
      patients: 50,
      cascadeEnv: {
        CASCADE_SWEEP_INTERVAL_MS: SWEEP_INTERVAL_MS,
        // Every sweep in this file sees every patient the tests create (a busy machine can take
        // minutes over the file): repeats are what the second test is about.
        CASCADE_SWEEP_OVERLAP_MS: '600000',
      },
    });
  }, 120_000);
  afterAll(async () => {
    await stack?.stop();
  });

  const json = async <T>(response: Response, what: string): Promise<T> => {
    if (!response.ok) throw new Error(`${what}: ${response.status} ${await response.text()}`);
    return (await response.json()) as T;
  };
  const post = (url: string, body: unknown) => fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const createPatient = async (firstName: string, lastName: string) =>
    (await json<{ id: string }>(await post(`${stack.emulators.semble}/__admin/patients`, { firstName, lastName, email: `${firstName.toLowerCase()}@example.org` }), 'create patient')).id;
  const receivedFor = async (eventId: string) =>
    (await json<Received[]>(await fetch(`${stack.connectors}/__admin/received`), 'received')).filter((entry) => entry.idempotencyKey?.startsWith(`${eventId}:`));
  const stateOf = async (patientId: string, step: string) => (await stack.cascade.store.ofPatient(patientId)).find((record) => record.step === step)?.state;

  it('gets its welcome email once, from the sweep', async () => {
    expect(await json(await post(`${stack.emulators.semble}/__admin/webhooks/drop`, { count: 1 }), 'drop')).toEqual({ dropping: 1 });
    const patientId = await createPatient('Araminta', 'Lostwhistle');
    const eventId = `semble:patient:${patientId}:created`;

    // The webhook really was lost: Semble never sent it.
    const { deliveries } = await json<{ deliveries: Delivery[] }>(await fetch(`${stack.emulators.semble}/__admin/webhooks`), 'deliveries');
    expect(deliveries.filter((delivery) => delivery.event === 'PATIENT_CREATED').map((delivery) => [delivery.status, delivery.lastError])).toEqual([['failed', 'DROPPED']]);

    await until(async () => (await stateOf(patientId, 'welcome-email')) === 'SENT', 'the sweep to set off the welcome email');
    // More sweeps see the patient again; none sends anything again.
    for (let run = 0; run < 3; run++) expect(await stack.cascade.sweep?.runOnce()).toMatchObject({ outcome: 'completed' });
    const welcome = (await receivedFor(eventId)).filter((entry) => entry.idempotencyKey === `${eventId}:welcome-email`);
    expect(welcome.map((entry) => [entry.vendor, entry.duplicate, entry.status])).toEqual([['webhook', false, 200]]);

    // The sweep's runs and finds show on the cascade's /metrics (open: no CASCADE_ADMIN_TOKEN in the stack).
    const metrics = await (await fetch(`${stack.cascade.url}/metrics`)).text();
    const sample = (series: string) => Number(metrics.split('\n').find((line) => line.startsWith(`${series} `))?.split(' ')[1]);
    expect(sample('cascade_sweep_runs_total{outcome="completed"}')).toBeGreaterThanOrEqual(3);
    expect(sample('cascade_sweep_patients_found_total')).toBeGreaterThanOrEqual(1);
    expect(metrics).not.toContain(patientId);
  }, 120_000);

  it('gets each step once when its webhook arrived, however many sweeps see it', async () => {
    const patientId = await createPatient('Barnaby', 'Everpresent');
    const eventId = `semble:patient:${patientId}:created`;
    await until(async () => (await stateOf(patientId, 'welcome-email')) === 'SENT' && (await stateOf(patientId, 'staff-notification')) === 'SENT', 'the immediate steps to be sent');

    for (let run = 0; run < 3; run++) {
      const sweep = await stack.cascade.sweep?.runOnce();
      // Each run saw the patient (so each could have repeated its steps).
      expect(sweep).toMatchObject({ outcome: 'completed', report: { found: expect.any(Number) } });
      if (sweep?.outcome === 'completed') expect(sweep.report.found).toBeGreaterThanOrEqual(1);
    }
    const steps = await stack.cascade.store.ofPatient(patientId);
    expect(steps.map((step) => step.id).sort()).toEqual(
      ['analytics-event', 'follow-up-call-task', 'marketing-sequence', 'staff-notification', 'welcome-email'].map((step) => `${eventId}:${step}`).sort(),
    );
    const sent = await receivedFor(eventId);
    const keys = sent.map((entry) => entry.idempotencyKey);
    expect(keys).toEqual(expect.arrayContaining([`${eventId}:welcome-email`, `${eventId}:staff-notification`]));
    expect(new Set(keys).size).toBe(keys.length);
    expect(sent.filter((entry) => entry.duplicate)).toEqual([]);
  }, 120_000);

  it('sets off nothing for the patients that were there before the cascade started', async () => {
    const seeded = stack.world.patients[0]!;
    const changed = await fetch(`${stack.emulators.semble}/__admin/patients/${seeded.id}`, {
      method: 'PATCH',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ city: 'Whitby' }),
    });
    expect(changed.ok).toBe(true);
    const sweep = await stack.cascade.sweep?.runOnce();
    expect(sweep?.outcome).toBe('completed');
    if (sweep?.outcome === 'completed') expect(sweep.report.listed).toBeGreaterThanOrEqual(1);
    expect(await stack.cascade.store.ofPatient(seeded.id)).toEqual([]);
  });
});
