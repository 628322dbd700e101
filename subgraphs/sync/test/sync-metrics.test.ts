/**
 * The sync counters on /metrics as an operator sees them after real syncs: a sync service with
 * its worker, against the emulators, fed vendor notifications on its inbox (what the webhook
 * ingress puts there). An applied write moves sync_writes_applied_total and
 * sync_apply_lag_seconds; a conflict opened and resolved moves the conflict counters and the
 * open-conflicts gauge; a held patient moves the held gauge until it is fixed (in both systems, as
 * its poor email and phone are critical); a dead letter moves sync_dead_lettered_total. Expected
 * values are written by hand from what each step does; every wait is for a counter to move, never
 * a fixed time.
 */
import { createMemoryEventBus } from '../../../lib/event-bus';
import { waitFor } from '../../../lib/event-bus/test/wait-for';
import { asGateway } from '../../../lib/test/as-gateway';
import { assessDataQuality } from '../../../lib/data-quality';
import { INBOX_TOPIC } from '../src/inbox';
import { sembleToRecord } from '../src/records';
import { createServer } from '../src/server';
import type { SyncServer } from '../src/server';
import { createMemorySyncStore } from '../src/store';
import { startSyncHarness } from './sync-harness';
import type { SyncHarness } from './sync-harness';

const WAIT_MS = 30_000;

let h: SyncHarness;
let server: SyncServer;
let origin: string;
let clean: string[];

beforeAll(async () => {
  h = await startSyncHarness({ patients: 40 });
  server = await createServer(
    { ...h.config, worker: true, workerName: 'metrics-test', workerClaimAfterMs: 100, workerMaxDeliveries: 2 },
    { bus: createMemoryEventBus(), store: createMemorySyncStore(), clients: h.clients },
  );
  origin = new URL(server.graphqlUrl).origin;
  clean = h.goodPatientsWithContact().filter((id) => {
    const record = sembleToRecord(h.semble.store.patients.get(id)!);
    return assessDataQuality({ email: record.email, phones: [record.phone, ...(record.otherPhones ?? [])], nhsNumber: record.nhsNumber ?? null }).score === 100;
  });
});
afterAll(async () => {
  await server?.stop();
  await h?.stop();
});

/** /metrics as samples: `name{labels}` → value. */
async function scrape(): Promise<Map<string, number>> {
  const text = await (await fetch(`${origin}/metrics`)).text();
  const samples = new Map<string, number>();
  for (const line of text.split('\n')) {
    const match = /^(\w+(?:\{[^}]*\})?) (\S+)$/.exec(line);
    if (match) samples.set(match[1]!, Number(match[2]));
  }
  return samples;
}

const sample = (samples: Map<string, number>, name: string) => samples.get(name) ?? 0;

async function adminPatch(url: string, body: unknown): Promise<void> {
  const response = await fetch(url, { method: 'PATCH', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  expect(response.status).toBe(200);
}

/** A Semble notification about the patient on the inbox, and the wait for the worker to have handled it. */
async function notifyFromSemble(patientId: string): Promise<void> {
  const handled = sample(await scrape(), 'sync_events_processed_total{vendor="semble"}');
  await server.bus.publish({ topic: INBOX_TOPIC, type: 'test', payload: { receivedAt: new Date().toISOString(), items: [{ vendor: 'semble', eventType: 'PATIENT_UPDATED', id: patientId }] } });
  await waitFor('the worker to handle the notification', async () => sample(await scrape(), 'sync_events_processed_total{vendor="semble"}') === handled + 1, WAIT_MS);
}

function setNhsNumber(patientId: string, value: string): void {
  h.semble.store.patients.get(patientId)!.numbers = [{ id: `${patientId}-nhs`, name: 'NHS_UK', value }];
}

it('counts an applied write by target and observes its lag from the change in Semble', async () => {
  const patientId = clean[0]!;
  await notifyFromSemble(patientId); // first sync: agrees the values
  const before = await scrape();

  const changedFrom = Date.now();
  await adminPatch(`${h.semble.url}/__admin/patients/${patientId}`, { firstName: 'Augusta' });
  await notifyFromSemble(patientId);
  const elapsedSeconds = (Date.now() - changedFrom) / 1000;
  const after = await scrape();

  const delta = (name: string) => sample(after, name) - sample(before, name);
  expect({
    crm: delta('sync_writes_applied_total{target="CRM"}'),
    semble: delta('sync_writes_applied_total{target="SEMBLE"}'),
    contactSynced: delta('sync_events_total{type="CONTACT_SYNCED",outcome="APPLIED"}'),
    lagObserved: delta('sync_apply_lag_seconds_count{target="CRM"}'),
  }).toEqual({ crm: 1, semble: 0, contactSynced: 1, lagObserved: 1 });
  // The lag is that of this write: from the change (made after changedFrom) to its event (before now).
  const lag = delta('sync_apply_lag_seconds_sum{target="CRM"}');
  expect(lag).toBeGreaterThanOrEqual(0);
  expect(lag).toBeLessThanOrEqual(elapsedSeconds + 0.001);
  expect(h.contactOf(patientId).properties.firstname).toBe('Augusta');
});

it('counts a conflict opened and resolved, and shows it open in between', async () => {
  const patientId = clean[1]!;
  await notifyFromSemble(patientId);
  const before = await scrape();
  expect(sample(before, 'sync_conflicts_open')).toBe(0);

  await adminPatch(`${h.semble.url}/__admin/patients/${patientId}`, { phone: '07911 123457' });
  await adminPatch(`${h.hubspot.url}/__admin/contacts/${h.contactOf(patientId).id}`, { properties: { phone: '+447922111222' } });
  await notifyFromSemble(patientId);
  const opened = await scrape();
  expect({
    opened: sample(opened, 'sync_conflicts_opened_total') - sample(before, 'sync_conflicts_opened_total'),
    open: sample(opened, 'sync_conflicts_open'),
  }).toEqual({ opened: 1, open: 1 });

  const conflictId = (await server.store.conflictsOfPatient(patientId, 'OPEN'))[0]!.id;
  const response = await fetch(server.graphqlUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(await asGateway('sync', { subject: 'staff-1' })) },
    body: JSON.stringify({ query: 'mutation ($id: ID!) { resolveConflict(id: $id, resolution: KEEP_SEMBLE) { status } }', variables: { id: conflictId } }),
  });
  expect(await response.json()).toEqual({ data: { resolveConflict: { status: 'RESOLVED' } } });
  const resolved = await scrape();
  expect({
    closed: sample(resolved, 'sync_conflicts_closed_total') - sample(before, 'sync_conflicts_closed_total'),
    open: sample(resolved, 'sync_conflicts_open'),
    // Semble kept: only the CRM needed the value.
    crmWrites: sample(resolved, 'sync_writes_applied_total{target="CRM"}') - sample(opened, 'sync_writes_applied_total{target="CRM"}'),
  }).toEqual({ closed: 1, open: 0, crmWrites: 1 });
});

it('shows a patient held for low data quality until it is fixed', async () => {
  const patientId = clean[2]!;
  await notifyFromSemble(patientId);
  const before = await scrape();
  expect(sample(before, 'sync_patients_held')).toBe(0);

  // Email and phone are critical: had only Semble changed them they would be conflicts, not a
  // hold. So a CRM user types the same poor values on the contact; the NHS number (Semble's only)
  // is invalid too (score 40), and the first-name change is the write the hold stops.
  const contact = `${h.hubspot.url}/__admin/contacts/${h.contactOf(patientId).id}`;
  await adminPatch(contact, { properties: { email: 'not-an-email', phone: '12345' } });
  setNhsNumber(patientId, '943 476 5910');
  await adminPatch(`${h.semble.url}/__admin/patients/${patientId}`, { email: 'not-an-email', phone: '12345', firstName: 'Augusta' });
  await notifyFromSemble(patientId);
  const held = await scrape();
  expect({
    gauge: sample(held, 'sync_patients_held'),
    heldEvents: sample(held, 'sync_held_total') - sample(before, 'sync_held_total'),
    conflictsOpened: sample(held, 'sync_conflicts_opened_total') - sample(before, 'sync_conflicts_opened_total'),
  }).toEqual({ gauge: 1, heldEvents: 1, conflictsOpened: 0 });

  // Fixed the same way in both systems.
  await adminPatch(contact, { properties: { email: 'fixed@example.com', phone: '07911 123456' } });
  setNhsNumber(patientId, '943 476 5919');
  await adminPatch(`${h.semble.url}/__admin/patients/${patientId}`, { email: 'fixed@example.com', phone: '07911 123456' });
  await notifyFromSemble(patientId);
  const fixed = await scrape();
  expect({
    gauge: sample(fixed, 'sync_patients_held'),
    conflictsOpened: sample(fixed, 'sync_conflicts_opened_total') - sample(before, 'sync_conflicts_opened_total'),
  }).toEqual({ gauge: 0, conflictsOpened: 0 });
  // What the hold kept back is synced now.
  expect(h.contactOf(patientId).properties.firstname).toBe('Augusta');
});

it('counts an inbox event set aside after its last try', async () => {
  const before = await scrape();
  await fetch(`${h.hubspot.url}/__admin/faults`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ status: 503, times: 100_000 }) });
  try {
    await server.bus.publish({ topic: INBOX_TOPIC, type: 'test', payload: { receivedAt: new Date().toISOString(), items: [{ vendor: 'semble', eventType: 'PATIENT_UPDATED', id: clean[3]! }] } });
    await waitFor('the event to be set aside', async () => sample(await scrape(), 'sync_dead_lettered_total') === sample(before, 'sync_dead_lettered_total') + 1, WAIT_MS);
  } finally {
    await fetch(`${h.hubspot.url}/__admin/faults`, { method: 'DELETE' });
  }
  const after = await scrape();
  expect({
    deadLettered: sample(after, 'sync_events_total{type="DEAD_LETTERED",outcome="FAILED"}') - sample(before, 'sync_events_total{type="DEAD_LETTERED",outcome="FAILED"}'),
    handled: sample(after, 'sync_events_processed_total{vendor="semble"}') - sample(before, 'sync_events_processed_total{vendor="semble"}'),
  }).toEqual({ deadLettered: 1, handled: 0 });
});
