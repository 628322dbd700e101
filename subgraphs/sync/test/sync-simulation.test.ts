/**
 * Sync correctness, by simulation (issue "Sync correctness"). The real service runs against the
 * Semble and HubSpot emulators (live-sync-harness.ts: signed webhooks to its ingress, the worker
 * and the reconciliation sweep on their timers) while a seeded script plays people editing
 * patients on both sides: random fields, random pauses, bursts of concurrent edits of the same
 * patients, and faults: webhooks dropped, duplicated, delayed (so later ones overtake them), and
 * vendor APIs answering 5xx or 429 with Retry-After. Then everything settles (webhooks delivered,
 * inbox drained, a sweep run that found nothing to repair) and the final state of both systems
 * is checked against an oracle written here from the README's rules, not taken from the planner:
 *
 * - critical fields (email, phone, date of birth): where the systems differ, exactly one OPEN
 *   conflict for that patient and field, following their values; where they agree, none; and no
 *   write of the sync changed a critical field on either side (HubSpot's property history:
 *   sourceType INTEGRATION; Semble's change log: source API). Nobody resolves conflicts here, so
 *   any such write would be one made while the systems disagreed;
 * - last write wins (first and last name): both systems end at the value of the field's latest
 *   edit by vendor time, except where the README's rules let Semble's (the owner's) pending value
 *   win: its change within SYNC_CLOCK_SKEW_MS of the latest (a tie), or the Semble record touched
 *   at or after that time minus the skew (Semble keeps no field history: the record's updatedAt
 *   dates its fields). Each exception is counted and printed, never silently absorbed;
 * - REJECT (the address, Semble's): both systems end at Semble's last value; every CRM edit of it
 *   is followed by a REJECTED_NOT_OWNER event (target CRM) for the patient. "Each" means: the
 *   engine re-reads and compares with the shadow copy, so the CRM edits one sync finds together
 *   are reverted by one write and one event; hence every edit is covered by an event at or after
 *   it, and there are never more events than edits;
 * - CRM-owned (lifecycle stage): ends at the CRM's last edit, never written by the sync;
 * - nothing else stays diverged once the sweep has run.
 *
 * The script (patients, fields, values, pauses, faults) is a function of SIM_SEED; the
 * interleaving with the service's own timing is not, so a failure prints the seed to rerun with.
 *
 *   npx jest subgraphs/sync/test/sync-simulation                     default: 80 edits
 *   SIM_SEED=7 SIM_EDITS=500 npx jest subgraphs/sync/test/sync-simulation
 *
 * Settings: SIM_SEED (20250301), SIM_EDITS (80), SIM_PATIENTS (edits / 5, 6 to 20), SIM_SKEW_MS
 * (150: the service's SYNC_CLOCK_SKEW_MS, small so that ties are the exception), SIM_MAX_GAP_MS
 * (300: the longest pause between two steps of the script).
 */
import { toE164 } from '../../../lib/data-quality';
import { sleep, waitFor } from '../../../lib/event-bus/test/wait-for';
import { createRandom } from '../../../lib/seed';
import type { SeededRandom } from '../../../lib/seed';
import type { WebhookDelivery } from '../../../lib/webhooks';
import { INBOX_TOPIC, SYNC_EVENTS_TOPIC } from '../src/inbox';
import type { SyncEventPayload } from '../src/inbox';
import { startLiveSync } from './live-sync-harness';
import type { LiveSync } from './live-sync-harness';

function setting(name: string, fallback: number, min: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isSafeInteger(value) || value < min) throw new Error(`${name}: expected an integer ≥ ${min}, got ${JSON.stringify(raw)}`);
  return value;
}

const SEED = setting('SIM_SEED', 20250301, 0);
const EDITS = setting('SIM_EDITS', 80, 1);
const PATIENTS = setting('SIM_PATIENTS', Math.max(6, Math.min(20, Math.round(EDITS / 5))), 1);
const SKEW_MS = setting('SIM_SKEW_MS', 150, 0);
const MAX_GAP_MS = setting('SIM_MAX_GAP_MS', 300, 0);
/**
 * Lost updates (README, Sync: "Lost updates"): an edit overwritten by a sync write planned before
 * it. The sync re-reads just before writing and never retries a write after a throttling wait, so
 * only the time of one request remains (no vendor offers conditional writes); a lost update fails
 * the run (reproduction: sync-write-race.test.ts).
 */
/** Settling waits this long at most for each thing it waits for. */
const SETTLE_TIMEOUT_MS = 120_000;

type Side = 'SEMBLE' | 'CRM';
type NameField = 'firstName' | 'lastName';
type CriticalField = 'email' | 'phone' | 'dateOfBirth';
type Field = NameField | CriticalField | 'address' | 'lifecycleStage';
interface Address {
  line: string;
  city: string;
  postcode: string;
  country: string;
}

const NAME_FIELDS: readonly NameField[] = ['firstName', 'lastName'];
const CRITICAL_FIELDS: readonly CriticalField[] = ['email', 'phone', 'dateOfBirth'];
/** HubSpot's properties for each field. */
const CRM_PROPERTY: Record<Exclude<Field, 'address'>, string> = {
  firstName: 'firstname',
  lastName: 'lastname',
  email: 'email',
  phone: 'phone',
  dateOfBirth: 'date_of_birth',
  lifecycleStage: 'lifecyclestage',
};
const CRM_ADDRESS_PROPERTIES = ['address', 'city', 'zip', 'country'] as const;
const CRITICAL_CRM_PROPERTIES = ['email', 'phone', 'date_of_birth'];
/** Semble's change log names (GET /__admin/patients/:id/changes). */
const CRITICAL_SEMBLE_FIELDS = ['email', 'phone', 'dob'];

/** One edit of the script, before it is made. `agree`: copy the other system's current value (critical fields only). */
interface PlannedEdit {
  patientId: string;
  side: Side;
  field: Field;
  value: string | Address | Partial<Address> | 'agree';
}

type PlannedFault =
  | { kind: 'webhook-drop'; vendor: 'semble' | 'hubspot' }
  | { kind: 'webhook-duplicate'; vendor: 'semble' | 'hubspot'; afterMs: number }
  | { kind: 'webhook-delay'; vendor: 'semble' | 'hubspot'; ms: number }
  | { kind: 'vendor-5xx'; vendor: 'semble' | 'hubspot'; status: number; times: number }
  | { kind: 'vendor-429'; vendor: 'semble' | 'hubspot'; retryAfterSeconds: number; times: number };

interface Step {
  pauseMs: number;
  faults: PlannedFault[];
  /** Made at the same time. */
  edits: PlannedEdit[];
}

/** An edit as made: the time is the vendor's own record of it (Semble's updatedAt, HubSpot's lastmodifieddate). */
interface MadeEdit {
  patientId: string;
  side: Side;
  field: Field;
  /** The value written, normalised (null for a partial address edit in the CRM: only its time matters). */
  value: string | null;
  at: number;
}

const FIRST = ['Ada', 'Grace', 'Alan', 'Edsger', 'Barbara', 'Donald', 'Frances', 'Tony', 'Radia', 'Ken'];
const LAST = ['Lovelace', 'Hopper', 'Turing', 'Dijkstra', 'Liskov', 'Knuth', 'Allen', 'Hoare', 'Perlman', 'Thompson'];
const CITIES = [['Bristol', 'BS1 4DJ'], ['York', 'YO1 7HH'], ['Bath', 'BA1 1LT'], ['Derby', 'DE1 2AA'], ['Hull', 'HU1 1AA']] as const;
const STAGES = ['subscriber', 'lead', 'marketingqualifiedlead', 'salesqualifiedlead', 'opportunity', 'customer', 'evangelist'];

/** The script: a function of the seed and the patients only. Every value is new (no edit restores an earlier value). */
function planScript(random: SeededRandom, patients: readonly string[], edits: number): Step[] {
  let counter = 0;
  const unique = () => (counter += 1);
  const phoneBase = random.int(100_000, 800_000);
  const value = (side: Side, field: Field): PlannedEdit['value'] => {
    const n = unique();
    switch (field) {
      case 'firstName':
        return `${random.pick(FIRST)} ${n}`;
      case 'lastName':
        return `${random.pick(LAST)}-${n}`;
      case 'email':
        return `${side === 'CRM' && random.chance(0.3) ? 'Sim' : 'sim'}.${SEED}.${n}@example.org`;
      case 'phone': {
        const digits = String(phoneBase + n);
        return side === 'CRM' ? `+447911${digits}` : `07911 ${digits}`;
      }
      case 'dateOfBirth': {
        const date = new Date(Date.UTC(1950, 0, 1) + n * 86_400_000 * 37).toISOString().slice(0, 10);
        return side === 'CRM' && random.chance(0.5) ? `${date}T00:00:00.000Z` : date;
      }
      case 'address': {
        const [city, postcode] = random.pick(CITIES);
        const full: Address = { line: `${n} Simulation Street`, city, postcode, country: 'GB' };
        // People in the CRM sometimes change one part only.
        return side === 'CRM' && random.chance(0.3) ? { line: full.line } : full;
      }
      case 'lifecycleStage':
        return `${random.pick(STAGES)}`;
    }
  };
  const steps: Step[] = [];
  let planned = 0;
  while (planned < edits) {
    const faults: PlannedFault[] = [];
    if (random.chance(0.35)) {
      const vendor = random.chance(0.5) ? 'semble' : 'hubspot';
      const roll = random.next();
      if (roll < 0.25) faults.push({ kind: 'webhook-drop', vendor });
      else if (roll < 0.45) faults.push({ kind: 'webhook-duplicate', vendor, afterMs: random.int(0, 600) });
      else if (roll < 0.7) faults.push({ kind: 'webhook-delay', vendor, ms: random.int(200, 1500) });
      else if (roll < 0.88) faults.push({ kind: 'vendor-5xx', vendor, status: random.pick([500, 502, 503]), times: random.int(1, 3) });
      else faults.push({ kind: 'vendor-429', vendor, retryAfterSeconds: 1, times: random.int(1, 2) });
    }
    // A burst: usually one edit, sometimes several at once, often of one patient on both sides.
    const size = Math.min(edits - planned, random.chance(0.7) ? 1 : random.int(2, 4));
    const focus = random.pick(patients);
    const stepEdits: PlannedEdit[] = [];
    for (let i = 0; i < size; i++) {
      const patientId = random.chance(0.6) ? focus : random.pick(patients);
      const roll = random.next();
      const field: Field =
        roll < 0.4 ? random.pick(NAME_FIELDS) : roll < 0.65 ? random.pick(CRITICAL_FIELDS) : roll < 0.9 ? 'address' : 'lifecycleStage';
      const side: Side = field === 'lifecycleStage' ? 'CRM' : random.chance(0.5) ? 'SEMBLE' : 'CRM';
      const agree = (CRITICAL_FIELDS as readonly Field[]).includes(field) && random.chance(0.3);
      stepEdits.push({ patientId, side, field, value: agree ? 'agree' : value(side, field) });
    }
    planned += size;
    steps.push({ pauseMs: random.int(0, MAX_GAP_MS), faults, edits: stepEdits });
  }
  return steps;
}

// ---- Normalisation, as the README states it: trimmed, email lower-cased, phone E.164, date of birth as a date.

function text(value: unknown): string | null {
  if (typeof value !== 'string') return null;
  const trimmed = value.trim();
  return trimmed === '' ? null : trimmed;
}

function normalise(field: Field, value: unknown): string | null {
  if (field === 'address') {
    const address = (value ?? {}) as Partial<Record<keyof Address, unknown>>;
    const parts = [text(address.line), text(address.city), text(address.postcode)?.toUpperCase().replace(/\s+/g, ' ') ?? null, text(address.country)];
    return parts.every((part) => part === null) ? null : JSON.stringify(parts);
  }
  const raw = text(value);
  if (raw === null) return null;
  switch (field) {
    case 'email':
      return raw.toLowerCase();
    case 'phone':
      return toE164(raw) ?? raw;
    case 'dateOfBirth':
      return /^\d{4}-\d{2}-\d{2}(?:T|$)/.test(raw) ? raw.slice(0, 10) : raw;
    default:
      return raw;
  }
}

let live: LiveSync;
beforeAll(async () => {
  live = await startLiveSync({ sweepIntervalMs: 750, sweepOverlapMs: 1000, clockSkewMs: SKEW_MS, patients: 80 });
});
afterAll(() => live?.stop());

function sembleValue(patientId: string, field: Field): string | null {
  const patient = live.semble.store.patients.get(patientId)!;
  switch (field) {
    case 'firstName':
    case 'lastName':
    case 'email':
      return normalise(field, patient[field]);
    case 'phone':
      return normalise(field, patient.phones?.[0]?.phoneNumber);
    case 'dateOfBirth':
      return normalise(field, patient.dob);
    case 'address': {
      const address = patient.address;
      return normalise(field, address ? { line: address.address, city: address.city, postcode: address.postcode, country: address.country } : null);
    }
    case 'lifecycleStage':
      return null;
  }
}

function crmValue(patientId: string, field: Field): string | null {
  const { properties } = live.contactOf(patientId);
  if (field === 'address') {
    const [line, city, postcode, country] = CRM_ADDRESS_PROPERTIES.map((name) => properties[name]);
    return normalise(field, { line, city, postcode, country });
  }
  return normalise(field, properties[CRM_PROPERTY[field]]);
}

async function admin(url: string, method: string, path: string, body?: unknown): Promise<unknown> {
  const response = await fetch(`${url}/__admin${path}`, { method, headers: { 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
  if (!response.ok) throw new Error(`${method} /__admin${path}: ${response.status} ${await response.text()}`);
  return response.status === 204 ? null : response.json();
}
const emulatorUrl = (vendor: 'semble' | 'hubspot') => (vendor === 'semble' ? live.semble.url : live.hubspot.url);

async function injectFault(fault: PlannedFault): Promise<void> {
  const url = emulatorUrl(fault.vendor);
  switch (fault.kind) {
    case 'webhook-drop':
      await admin(url, 'POST', '/webhooks/drop', { count: 1 });
      return;
    case 'webhook-duplicate':
      await admin(url, 'POST', '/webhooks/duplicate', { count: 1, afterMs: fault.afterMs });
      return;
    case 'webhook-delay':
      await admin(url, 'POST', '/webhooks/delay', { count: 1, ms: fault.ms });
      return;
    case 'vendor-5xx':
      await admin(url, 'POST', '/faults', { status: fault.status, times: fault.times });
      return;
    case 'vendor-429':
      await admin(url, 'POST', '/faults', { status: 429, retryAfterSeconds: fault.retryAfterSeconds, times: fault.times });
  }
}

async function makeEdit(edit: PlannedEdit): Promise<MadeEdit> {
  const { patientId, side, field } = edit;
  let value = edit.value;
  if (value === 'agree') {
    // Copy the other system's value as it is now (in this system's own spelling).
    const other = side === 'SEMBLE' ? live.contactOf(patientId).properties[CRM_PROPERTY[field as CriticalField]] : sembleRaw(patientId, field as CriticalField);
    value = other ?? '';
    if (field === 'dateOfBirth') value = value.slice(0, 10);
  }
  if (side === 'SEMBLE') {
    const body: Record<string, unknown> =
      field === 'address'
        ? { address: (value as Address).line, city: (value as Address).city, postcode: (value as Address).postcode, country: (value as Address).country }
        : { [field === 'dateOfBirth' ? 'dob' : field]: value === '' ? null : value };
    const answer = (await admin(live.semble.url, 'PATCH', `/patients/${patientId}`, body)) as { updatedAt: string };
    return { patientId, side, field, value: normalise(field, value), at: Date.parse(answer.updatedAt) };
  }
  const contactId = live.contactOf(patientId).id;
  let properties: Record<string, string | null>;
  if (field === 'address') {
    const parts = value as Partial<Address>;
    properties = Object.fromEntries(
      (['line', 'city', 'postcode', 'country'] as const).flatMap((part, index) => (parts[part] === undefined ? [] : [[CRM_ADDRESS_PROPERTIES[index], parts[part] as string]])),
    );
  } else {
    properties = { [CRM_PROPERTY[field]]: value === '' ? null : (value as string) };
  }
  const answer = (await admin(live.hubspot.url, 'PATCH', `/contacts/${contactId}`, { properties })) as { properties: { lastmodifieddate: string } };
  const partial = field === 'address' && Object.keys(properties).length < 4;
  return { patientId, side, field, value: partial ? null : normalise(field, value), at: Date.parse(answer.properties.lastmodifieddate) };
}

function sembleRaw(patientId: string, field: CriticalField): string | null {
  const patient = live.semble.store.patients.get(patientId)!;
  return field === 'email' ? patient.email : field === 'phone' ? (patient.phones?.[0]?.phoneNumber ?? null) : patient.dob;
}

async function metric(series: string): Promise<number> {
  const text = await (await fetch(`${live.server.url}/metrics`)).text();
  const line = text.split('\n').find((candidate) => candidate.startsWith(`${series} `));
  return line ? Number(line.slice(series.length + 1)) : 0;
}

async function syncEvents(): Promise<SyncEventPayload[]> {
  return (await live.bus.read(SYNC_EVENTS_TOPIC, { limit: 1_000_000 })).map((event) => event.payload as SyncEventPayload);
}

async function deliveriesSettled(vendor: 'semble' | 'hubspot'): Promise<WebhookDelivery[]> {
  let list: WebhookDelivery[] = [];
  await waitFor(`${vendor} webhook deliveries to finish`, async () => {
    list = await live.deliveries(vendor);
    return list.every((delivery) => delivery.status === 'delivered' || delivery.status === 'failed');
  }, SETTLE_TIMEOUT_MS);
  return list;
}

/** Every inbox event handled (or set aside as a dead letter): nothing pending, nothing waiting for a retry. */
async function inboxDrained(): Promise<void> {
  await waitFor('the inbox to be drained', async () => {
    const published = (await live.bus.read(INBOX_TOPIC, { limit: 1_000_000 })).length;
    const done = (await metric('sync_inbox_events_total{outcome="handled"}')) + (await metric('sync_inbox_events_total{outcome="dead_lettered"}'));
    return done >= published;
  }, SETTLE_TIMEOUT_MS);
}

/** Waits for the webhooks and the inbox, then sweeps until a run finds nothing to do. Returns the runs it took. */
async function settle(): Promise<number> {
  for (let run = 1; run <= 20; run++) {
    await Promise.all([deliveriesSettled('semble'), deliveriesSettled('hubspot')]);
    await inboxDrained();
    const outcome = await live.server.sweep!.runOnce();
    if (outcome.outcome !== 'completed') continue;
    const { repaired, retried, failed, held, conflictsOpened } = outcome.report;
    if (repaired + retried + failed + held + conflictsOpened > 0) continue;
    await Promise.all([deliveriesSettled('semble'), deliveriesSettled('hubspot')]);
    await inboxDrained();
    return run;
  }
  throw new Error('the systems did not settle after 20 sweep runs');
}

interface OpenConflict {
  id: string;
  field: string;
  sembleValue: string | null;
  crmValue: string | null;
  patient: { id: string };
}

async function openConflicts(): Promise<OpenConflict[]> {
  const conflicts: OpenConflict[] = [];
  let after: string | null = null;
  for (;;) {
    const answer: { data?: { conflicts: { nodes: OpenConflict[]; pageInfo: { hasNextPage: boolean; endCursor: string | null } } }; errors?: unknown[] } = await live.graphql(
      `{ conflicts(status: OPEN, first: 500${after ? `, after: ${JSON.stringify(after)}` : ''}) { nodes { id field sembleValue crmValue patient { id } } pageInfo { hasNextPage endCursor } } }`,
    );
    if (answer.errors) throw new Error(`conflicts query failed: ${JSON.stringify(answer.errors)}`);
    conflicts.push(...answer.data!.conflicts.nodes);
    if (!answer.data!.conflicts.pageInfo.hasNextPage) return conflicts;
    after = answer.data!.conflicts.pageInfo.endCursor;
  }
}

const iso = (ms: number) => new Date(ms).toISOString();

/** Semble's change-log name of a field. */
const SEMBLE_FIELD: Partial<Record<Field, string>> = { firstName: 'firstName', lastName: 'lastName', address: 'address' };

/**
 * True when the next change of the edited field, on the side edited, was a write of the sync: the
 * edit was replaced by the engine, not by a person. For a non-owner edit that should have been
 * rejected, or a latest edit that should have won, this means the engine never saw it (a lost
 * update: its write was planned on what it read before the edit).
 */
function overwrittenBySync(edit: MadeEdit): boolean {
  if (edit.side === 'SEMBLE') {
    const name = SEMBLE_FIELD[edit.field];
    const changes = live.semble.store.patientChanges.filter((change) => change.patientId === edit.patientId && name !== undefined && change.fields.includes(name));
    const index = changes.findIndex((change) => change.source === 'UI' && Date.parse(change.at) === edit.at);
    return index >= 0 && changes[index + 1]?.source === 'API';
  }
  const history = live.hubspot.objects.contacts.get(live.contactOf(edit.patientId).id)!.propertiesWithHistory ?? {};
  const properties = edit.field === 'address' ? CRM_ADDRESS_PROPERTIES : [CRM_PROPERTY[edit.field]];
  return properties.some((property) => {
    const entries = history[property] ?? [];
    // Newest first: the entry before the edit's is the change that replaced it.
    const index = entries.findIndex((entry) => entry.sourceType === 'CRM_UI' && Date.parse(entry.timestamp) === edit.at);
    return index > 0 && entries[index - 1]!.sourceType === 'INTEGRATION';
  });
}

/** What happened to one patient after the baseline, in time order: to read when an invariant breaks. */
function timeline(patientId: string, made: readonly MadeEdit[], events: readonly SyncEventPayload[], since: number): string {
  const contact = live.hubspot.objects.contacts.get(live.contactOf(patientId).id)!;
  const lines: Array<[number, string]> = [
    ...made.filter((edit) => edit.patientId === patientId).map((edit): [number, string] => [edit.at, `edit   ${edit.side} ${edit.field} = ${edit.value}`]),
    ...events.filter((event) => event.patientId === patientId).map((event): [number, string] => [Date.parse(event.time), `event  ${event.type} ${event.source}→${event.target} [${event.fields.join(',')}] ${event.outcome}`]),
    ...live.semble.store.patientChanges
      .filter((change) => change.patientId === patientId && Date.parse(change.at) >= since)
      .map((change): [number, string] => [Date.parse(change.at), `semble ${change.source} [${change.fields.join(',')}]`]),
    ...Object.entries(contact.propertiesWithHistory ?? {}).flatMap(([property, entries]) =>
      entries.filter((entry) => Date.parse(entry.timestamp) >= since).map((entry): [number, string] => [Date.parse(entry.timestamp), `crm    ${entry.sourceType} ${property} = ${entry.value}`]),
    ),
  ];
  lines.sort((a, b) => a[0] - b[0]);
  return [`timeline of ${patientId}:`, ...lines.map(([at, line]) => `  ${iso(at)} ${line}`)].join('\n');
}

it(`keeps Semble and HubSpot correct under random edits and faults (SIM_SEED=${SEED}, SIM_EDITS=${EDITS})`, async () => {
  const random = createRandom(SEED);
  const startedAt = Date.now();

  // ---- Baseline: patients with clean data, an email of their own and an address, synced once, no conflict.
  const emailUsers = new Map<string, number>();
  for (const patient of live.semble.store.patients.values()) {
    const email = normalise('email', patient.email);
    if (email) emailUsers.set(email, (emailUsers.get(email) ?? 0) + 1);
  }
  const candidates: string[] = [];
  for (;;) {
    let id: string;
    try {
      id = live.takeGoodPatient();
    } catch {
      break;
    }
    const patient = live.semble.store.patients.get(id)!;
    if (emailUsers.get(normalise('email', patient.email) ?? '') === 1 && patient.address?.address) candidates.push(id);
  }
  for (const patientId of candidates) {
    const response = await fetch(`${live.server.url}/webhooks/semble`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-semble-webhook-secret': 'semble-live-secret' },
      body: JSON.stringify({ eventType: 'PATIENT_UPDATED', data: { id: patientId } }),
    });
    expect(response.status).toBe(200);
  }
  await settle();
  const conflicted = new Set((await openConflicts()).map((conflict) => conflict.patient.id));
  const inStep = candidates.filter(
    (id) => !conflicted.has(id) && (['firstName', 'lastName', 'email', 'phone', 'dateOfBirth', 'address'] as const).every((field) => sembleValue(id, field) === crmValue(id, field)),
  );
  // Which patients take part is part of the seeded script.
  const patients: string[] = [];
  while (patients.length < PATIENTS && inStep.length > 0) patients.push(...inStep.splice(random.int(0, inStep.length - 1), 1));
  if (patients.length < Math.min(PATIENTS, 6)) throw new Error(`only ${patients.length} seed patients are in step after the first sync; the simulation needs ${PATIENTS}`);
  const baseline = new Map(patients.map((id) => [id, Object.fromEntries((['firstName', 'lastName', 'address'] as const).map((field) => [field, sembleValue(id, field)]))]));
  const baselineLifecycle = new Map(patients.map((id) => [id, crmValue(id, 'lifecycleStage')]));
  const baselineAt = Date.now();
  const eventsBefore = (await syncEvents()).length;
  const repairsBefore = await metric('sync_sweep_records_repaired_total');

  // ---- The script.
  const steps = planScript(random, patients, EDITS);
  const made: MadeEdit[] = [];
  const faults = new Map<string, number>();
  for (const step of steps) {
    await sleep(step.pauseMs);
    for (const fault of step.faults) {
      await injectFault(fault);
      const key = `${fault.kind} (${fault.vendor})`;
      faults.set(key, (faults.get(key) ?? 0) + 1);
    }
    made.push(...(await Promise.all(step.edits.map(makeEdit))));
  }
  const editsDoneAt = Date.now();
  // Faults not yet triggered by a request go, so the end state is reachable.
  await Promise.all([admin(live.semble.url, 'DELETE', '/faults'), admin(live.hubspot.url, 'DELETE', '/faults')]);
  const settleRuns = await settle();

  // ---- The oracle.
  const violations: string[] = [];
  const lostUpdates: string[] = [];
  const events = (await syncEvents()).slice(eventsBefore);
  const conflicts = await openConflicts();
  const lww = { latest: 0, tieOwnerWins: 0, sembleRecordTime: 0, untouched: 0 };

  for (const patientId of patients) {
    const mine = made.filter((edit) => edit.patientId === patientId);
    const contact = live.hubspot.objects.contacts.get(live.contactOf(patientId).id)!;
    const sembleTouches = [
      ...mine.filter((edit) => edit.side === 'SEMBLE').map((edit) => edit.at),
      ...live.semble.store.patientChanges.filter((change) => change.patientId === patientId && change.source === 'API').map((change) => Date.parse(change.at)),
    ];

    // Critical fields.
    for (const field of CRITICAL_FIELDS) {
      const s = sembleValue(patientId, field);
      const c = crmValue(patientId, field);
      const open = conflicts.filter((conflict) => conflict.patient.id === patientId && conflict.field === field);
      if (s !== c && open.length !== 1) violations.push(`${patientId} ${field}: the systems differ (${s} / ${c}) and ${open.length} conflicts are open, expected 1`);
      if (s === c && open.length > 0) violations.push(`${patientId} ${field}: the systems agree and ${open.length} conflicts are still open`);
      for (const conflict of open) {
        if (normalise(field, conflict.sembleValue) !== s || normalise(field, conflict.crmValue) !== c) {
          violations.push(`${patientId} ${field}: the open conflict holds ${conflict.sembleValue} / ${conflict.crmValue}, the systems ${s} / ${c}`);
        }
      }
    }
    for (const change of live.semble.store.patientChanges) {
      if (change.patientId !== patientId || change.source !== 'API' || Date.parse(change.at) < baselineAt) continue;
      const critical = change.fields.filter((name) => CRITICAL_SEMBLE_FIELDS.includes(name));
      if (critical.length > 0) violations.push(`${patientId}: the sync wrote critical field(s) ${critical.join(', ')} in Semble at ${change.at}`);
    }
    for (const property of CRITICAL_CRM_PROPERTIES) {
      for (const entry of contact.propertiesWithHistory?.[property] ?? []) {
        if (entry.sourceType === 'INTEGRATION' && Date.parse(entry.timestamp) >= baselineAt) {
          violations.push(`${patientId}: the sync wrote critical property ${property} in HubSpot at ${entry.timestamp}`);
        }
      }
    }

    // Last write wins.
    for (const field of NAME_FIELDS) {
      const s = sembleValue(patientId, field);
      const c = crmValue(patientId, field);
      if (s !== c) {
        violations.push(`${patientId} ${field}: diverged (${s} / ${c})`);
        continue;
      }
      const edits = mine.filter((edit) => edit.field === field).sort((a, b) => a.at - b.at);
      const latest = edits.at(-1);
      if (!latest) {
        if (s !== baseline.get(patientId)![field]) violations.push(`${patientId} ${field}: never edited, yet ${s} instead of ${baseline.get(patientId)![field]}`);
        else lww.untouched += 1;
        continue;
      }
      if (s === latest.value) {
        lww.latest += 1;
        continue;
      }
      const sembleLast = edits.filter((edit) => edit.side === 'SEMBLE').at(-1);
      const describe = edits.map((edit) => `${edit.side} ${edit.value} at ${iso(edit.at)}`).join('; ');
      if (latest.side === 'CRM' && sembleLast && s === sembleLast.value) {
        if (latest.at - sembleLast.at <= SKEW_MS) {
          lww.tieOwnerWins += 1;
          continue;
        }
        if (sembleTouches.some((at) => at >= sembleLast.at && at >= latest.at - SKEW_MS)) {
          lww.sembleRecordTime += 1;
          continue;
        }
      }
      const problem = `${patientId} ${field}: ended at ${s}, the latest edit was ${latest.side} ${latest.value} at ${iso(latest.at)} (edits: ${describe})`;
      if (overwrittenBySync(latest)) lostUpdates.push(`${problem}: overwritten by a sync write planned before it`);
      else violations.push(problem);
    }

    // The address: Semble's, and each CRM edit of it rejected.
    const s = sembleValue(patientId, 'address');
    const c = crmValue(patientId, 'address');
    const sembleAddressEdits = mine.filter((edit) => edit.field === 'address' && edit.side === 'SEMBLE');
    const ownerValue = sembleAddressEdits.at(-1)?.value ?? baseline.get(patientId)!.address;
    if (s !== ownerValue) violations.push(`${patientId} address: Semble holds ${s}, its last edit was ${ownerValue}`);
    if (c !== s) violations.push(`${patientId} address: the CRM holds ${c}, not the owner's ${s}`);
    const crmAddressEdits = mine.filter((edit) => edit.field === 'address' && edit.side === 'CRM');
    const rejections = events.filter((event) => event.type === 'REJECTED_NOT_OWNER' && event.patientId === patientId && event.target === 'CRM' && event.fields.includes('address'));
    for (const edit of crmAddressEdits) {
      if (rejections.some((event) => Date.parse(event.time) >= edit.at)) continue;
      const problem = `${patientId} address: the CRM edit at ${iso(edit.at)} was never rejected (REJECTED_NOT_OWNER)`;
      if (overwrittenBySync(edit)) lostUpdates.push(`${problem}: overwritten by a sync write planned before it`);
      else violations.push(problem);
    }
    if (rejections.length > crmAddressEdits.length) violations.push(`${patientId} address: ${rejections.length} REJECTED_NOT_OWNER events for ${crmAddressEdits.length} CRM edits`);
    const strayRejections = events.filter((event) => event.type === 'REJECTED_NOT_OWNER' && event.patientId === patientId && !(event.target === 'CRM' && event.fields.every((name) => name === 'address')));
    if (strayRejections.length > 0) violations.push(`${patientId}: unexpected rejections ${JSON.stringify(strayRejections.map((event) => [event.target, event.fields]))}`);

    // The CRM's own field: never touched by the sync.
    const stages = mine.filter((edit) => edit.field === 'lifecycleStage');
    const stage = crmValue(patientId, 'lifecycleStage');
    const expectedStage = stages.length > 0 ? stages.sort((a, b) => a.at - b.at).at(-1)!.value : baselineLifecycle.get(patientId);
    if (stage !== expectedStage) violations.push(`${patientId} lifecycleStage: ${stage}, the CRM's last edit was ${expectedStage}`);
    if ((contact.propertiesWithHistory?.lifecyclestage ?? []).some((entry) => entry.sourceType === 'INTEGRATION' && Date.parse(entry.timestamp) >= baselineAt)) {
      violations.push(`${patientId} lifecycleStage: written by the sync`);
    }
  }

  // ---- The figures.
  const count = (predicate: (event: SyncEventPayload) => boolean) => events.filter((event) => patients.includes(event.patientId ?? '') && predicate(event)).length;
  const bySide = (side: Side) => made.filter((edit) => edit.side === side).length;
  const deliveries = [...(await live.deliveries('semble')), ...(await live.deliveries('hubspot'))];
  const figures = [
    `sync simulation SIM_SEED=${SEED} SIM_EDITS=${EDITS} SIM_PATIENTS=${patients.length} SIM_SKEW_MS=${SKEW_MS}`,
    `  edits          ${made.length} (Semble ${bySide('SEMBLE')}, HubSpot ${bySide('CRM')}) in ${steps.length} steps over ${((editsDoneAt - baselineAt) / 1000).toFixed(1)} s; ` +
      `names ${made.filter((edit) => edit.field === 'firstName' || edit.field === 'lastName').length}, critical ${made.filter((edit) => (CRITICAL_FIELDS as readonly string[]).includes(edit.field)).length}, ` +
      `address ${made.filter((edit) => edit.field === 'address').length}, lifecycle stage ${made.filter((edit) => edit.field === 'lifecycleStage').length}`,
    `  faults         ${[...faults].map(([kind, n]) => `${kind} ${n}`).join(', ') || 'none'}`,
    `  webhooks       ${deliveries.length} deliveries (${deliveries.filter((d) => d.status === 'failed').length} failed or dropped, ${deliveries.filter((d) => d.duplicateOf).length} duplicates)`,
    `  conflicts      ${count((event) => event.type === 'CONFLICT_OPENED')} opened or changed, ${count((event) => event.type === 'CONFLICT_RESOLVED')} settled by the systems, ${conflicts.filter((conflict) => patients.includes(conflict.patient.id)).length} open at the end`,
    `  rejections     ${count((event) => event.type === 'REJECTED_NOT_OWNER')} REJECTED_NOT_OWNER for ${made.filter((edit) => edit.field === 'address' && edit.side === 'CRM').length} CRM address edits`,
    `  writes         ${count((event) => event.type === 'CONTACT_SYNCED')} to HubSpot, ${count((event) => event.type === 'PATIENT_SYNCED' && event.outcome !== 'SKIPPED')} to Semble`,
    `  last write     ${lww.latest} latest edit won, ${lww.tieOwnerWins} tie → owner, ${lww.sembleRecordTime} Semble record time, ${lww.untouched} never edited`,
    `  sweep repairs  ${(await metric('sync_sweep_records_repaired_total')) - repairsBefore} (settled after ${settleRuns} final run(s)); inbox retries ${await metric('sync_inbox_events_total{outcome="failed"}')}, dead letters ${await metric('sync_inbox_events_total{outcome="dead_lettered"}')}`,
    `  lost updates   ${lostUpdates.length} (edits overwritten by a sync write planned before them)`,
    `  invariants     ${violations.length === 0 ? 'all hold' : `${violations.length} broken`}; ${((Date.now() - startedAt) / 1000).toFixed(1)} s in all`,
  ];
  if (lostUpdates.length > 0) process.stdout.write(`${lostUpdates.map((line) => `  lost update: ${line}`).join('\n')}\n`);
  violations.push(...lostUpdates);
  process.stdout.write(`${figures.join('\n')}\n`);
  if (violations.length > 0) {
    const broken = patients.filter((id) => violations.some((violation) => violation.startsWith(id)));
    const timelines = broken.map((id) => timeline(id, made, events, baselineAt)).join('\n');
    throw new Error(`sync simulation: ${violations.length} invariant(s) broken; rerun with SIM_SEED=${SEED} SIM_EDITS=${EDITS}\n${violations.join('\n')}\n${timelines}`);
  }
}, 180_000 + EDITS * 2_000);
