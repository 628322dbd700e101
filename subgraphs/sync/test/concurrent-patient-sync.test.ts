/**
 * Two workers in one consumer group, handed several events about the same patient at once, sync
 * that patient one at a time (the store lock `patient:<id>`): the change is written to the CRM
 * once, the conflict is opened once, and the shadow ends where a single worker would leave it.
 * A patient that stays locked past the wait is left for a retry, untouched.
 */
import { createLogger } from '../../../lib/logger';
import { INBOX_TOPIC } from '../src/inbox';
import type { InboxItem, InboxPayload } from '../src/inbox';
import type { SyncStore } from '../src/store';
import { createPatientSync } from '../src/patient-sync';
import { patientLockName } from '../src/store';
import { createInboxHandler, RetryLaterError, startSyncWorker } from '../src/worker';
import type { SyncWorker } from '../src/worker';
import { startSyncHarness } from './sync-harness';
import type { SyncHarness } from './sync-harness';

let h: SyncHarness;
let patientId: string;
const workers: SyncWorker[] = [];

beforeAll(async () => {
  h = await startSyncHarness();
  patientId = h.goodPatientsWithContact()[0]!;
  // A first sync agrees the values (the shadow), and its echoes are handled.
  await h.handler.handle({ receivedAt: new Date().toISOString(), items: [{ vendor: 'semble', eventType: 'PATIENT_UPDATED', id: patientId }] });
  await h.deliverWebhooks();
});
afterAll(async () => {
  for (const worker of workers.splice(0)) await worker.stop();
  await h.stop();
});

async function adminPatch(url: string, body: unknown): Promise<void> {
  const response = await fetch(url, { method: 'PATCH', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  expect(response.status).toBe(200);
}

/**
 * What each worker did to the patient, in the order it happened: a sync reads the shadow first
 * and writes the status last. The shadow read is made slow (a store under load) so that two
 * unserialised syncs would be inside at the same time; only the order is asserted.
 */
type Step = { worker: string; step: 'read' | 'done' };

function recording(store: SyncStore, worker: string, steps: Step[]): SyncStore {
  return new Proxy(store, {
    get(target, property, receiver) {
      const value: unknown = Reflect.get(target, property, receiver);
      if (typeof value !== 'function') return value;
      if (property === 'getShadow') {
        return async (id: string) => {
          if (id !== patientId) return target.getShadow(id);
          steps.push({ worker, step: 'read' });
          await new Promise((resolve) => setTimeout(resolve, 25));
          return target.getShadow(id);
        };
      }
      if (property === 'putStatus') {
        return async (status: Parameters<SyncStore['putStatus']>[0]) => {
          await target.putStatus(status);
          if (status.patientId === patientId) steps.push({ worker, step: 'done' });
        };
      }
      return value.bind(target);
    },
  });
}

async function until(condition: () => Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

it('syncs one patient one worker at a time: one CRM write, one conflict, a consistent shadow', async () => {
  const contactId = h.contactOf(patientId).id;
  const shadowBefore = (await h.store.getShadow(patientId))!;
  // A Semble-owned field changed in Semble (to be written to the CRM) and the phone on both sides (a conflict).
  await adminPatch(`${h.semble.url}/__admin/patients/${patientId}`, { firstName: 'Concurrent', phone: '07911 123456' });
  await adminPatch(`${h.hubspot.url}/__admin/contacts/${contactId}`, { properties: { phone: '+447922654321' } });
  const eventsBefore = (await h.syncEvents()).length;

  const steps: Step[] = [];
  const logger = createLogger('sync-test');
  for (const name of ['worker-a', 'worker-b']) {
    workers.push(await startSyncWorker({ bus: h.bus, store: recording(h.store, name, steps), clients: h.clients, logger, consumer: name, batchSize: 1 }));
  }

  // Several webhooks about the patient, from both sides, all at once.
  const handled = 6;
  for (let i = 0; i < handled; i++) {
    const item: InboxItem =
      i % 2 === 0
        ? { vendor: 'semble', eventType: 'PATIENT_UPDATED', id: patientId }
        : { vendor: 'hubspot', eventId: `race-${i}`, subscriptionType: 'contact.propertyChange', objectId: contactId, propertyName: 'phone', occurredAt: Date.now() };
    await h.bus.publish({ topic: INBOX_TOPIC, type: 'webhook.received', payload: { receivedAt: new Date().toISOString(), items: [item] } satisfies InboxPayload });
  }

  const patientEvents = async () => (await h.syncEvents()).slice(eventsBefore).filter((event) => event.patientId === patientId);
  await until(async () => steps.filter((step) => step.step === 'done').length === handled, 'every event to be synced');
  // The first sync writes the contact and opens the conflict (two events); each later one is a no-op (one each).
  await until(async () => (await patientEvents()).length >= handled + 1, 'the sync events');

  // Both workers took part, and their syncs of the patient never interleaved.
  expect(new Set(steps.map((step) => step.worker))).toEqual(new Set(['worker-a', 'worker-b']));
  for (let i = 0; i < steps.length; i += 2) {
    expect([steps[i]!.step, steps[i + 1]!.step]).toEqual(['read', 'done']);
    expect(steps[i + 1]!.worker).toBe(steps[i]!.worker);
  }

  const events = await patientEvents();
  expect(events.filter((event) => event.type === 'CONTACT_SYNCED')).toHaveLength(1);
  expect(events.filter((event) => event.type === 'CONFLICT_OPENED')).toHaveLength(1);
  expect(events.filter((event) => event.type === 'FAILED')).toEqual([]);

  const conflicts = await h.store.conflictsOfPatient(patientId);
  expect(conflicts).toHaveLength(1);
  expect(conflicts[0]).toMatchObject({ field: 'phone', status: 'OPEN', sembleValue: '+447911123456', crmValue: '+447922654321', lastSyncedValue: shadowBefore.values.phone });

  // The shadow holds the written first name and, the phone being in conflict, the last agreed phone.
  const shadow = (await h.store.getShadow(patientId))!;
  expect(shadow.values).toEqual({ ...shadowBefore.values, firstName: 'Concurrent' });
  expect(h.contactOf(patientId).properties.firstname).toBe('Concurrent');
  expect((await h.store.getStatus(patientId))?.state).toBe('CONFLICT');
});

it('leaves the event for a retry, recording nothing, while the patient stays locked elsewhere', async () => {
  const logger = createLogger('sync-test');
  const patientSync = createPatientSync({ clients: h.clients, store: h.store, bus: h.bus, logger, lock: { ttlMs: 10_000, waitMs: 50 } });
  const handler = createInboxHandler({ bus: h.bus, store: h.store, clients: h.clients, logger, patientSync });
  const statusBefore = await h.store.getStatus(patientId);
  const eventsBefore = (await h.syncEvents()).length;

  const attempt = await h.store.withLock(patientLockName(patientId), { ttlMs: 10_000, waitMs: 0 }, () =>
    handler.handle({ receivedAt: new Date().toISOString(), items: [{ vendor: 'semble', eventType: 'PATIENT_UPDATED', id: patientId }] }).catch((error: unknown) => error),
  );
  expect(attempt).toBeInstanceOf(RetryLaterError);
  expect((attempt as RetryLaterError).failures).toEqual(['LockTimeoutError']);
  expect(await h.store.getStatus(patientId)).toEqual(statusBefore);
  expect((await h.syncEvents()).length).toBe(eventsBefore);
});
