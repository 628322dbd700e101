/**
 * Dead letters in the sync worker: an inbox event whose handling keeps failing is set aside
 * after SYNC_MAX_DELIVERIES tries (a DEAD_LETTERED sync event, no more vendor traffic for it),
 * and the redriveDeadLetters mutation puts it back once the vendor is healthy again.
 */
import { sleep, waitFor } from '../../../lib/event-bus/test/wait-for';
import { createLogger } from '../../../lib/logger';
import { TEST_INTERNAL_TOKEN_SECRET } from '../../../lib/test/as-gateway';
import { loadSyncConfig } from '../src/config';
import { INBOX_DEAD_LETTER_TOPIC } from '../src/dead-letters';
import { INBOX_TOPIC } from '../src/inbox';
import type { InboxPayload } from '../src/inbox';
import { startSyncWorker } from '../src/worker';
import { startSyncHarness } from './sync-harness';
import type { SyncHarness } from './sync-harness';

let h: SyncHarness;

beforeAll(async () => {
  h = await startSyncHarness({ patients: 20, server: true });
});
afterAll(() => h.stop());

const changed = (id: string): InboxPayload => ({ receivedAt: new Date().toISOString(), items: [{ vendor: 'semble', eventType: 'PATIENT_UPDATED', id }] });

async function hubspotRequests(): Promise<number> {
  return ((await (await fetch(`${h.hubspot.url}/__admin/requests`)).json()) as { total: number }).total;
}

async function eventsOf(type: string, patientId?: string) {
  return (await h.syncEvents()).filter((event) => event.type === type && (patientId === undefined || event.patientId === patientId));
}

const REDRIVE = 'mutation { redriveDeadLetters { redriven expired } }';

it('sets aside an event HubSpot keeps failing, then syncs it when redriven after HubSpot recovers', async () => {
  const patientId = h.goodPatientsWithContact()[0]!;
  const worker = await startSyncWorker({
    bus: h.bus,
    store: h.store,
    clients: h.clients,
    logger: createLogger('sync-test'),
    consumer: 'dead-letter-test',
    claimAfterMs: 100,
    maxDeliveries: 2,
  });
  try {
    // HubSpot answers 503 to everything for now.
    await fetch(`${h.hubspot.url}/__admin/faults`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ status: 503, times: 100_000 }) });
    const inboxEvent = await h.bus.publish({ topic: INBOX_TOPIC, type: 'test', payload: changed(patientId) });

    await waitFor('the event to be set aside', async () => (await eventsOf('DEAD_LETTERED')).length === 1);
    expect(await eventsOf('DEAD_LETTERED')).toEqual([expect.objectContaining({ source: 'SEMBLE', outcome: 'FAILED', patientId: null })]);
    const [letter] = await h.bus.read(INBOX_DEAD_LETTER_TOPIC);
    expect(letter!.payload).toMatchObject({ topic: INBOX_TOPIC, cursor: inboxEvent.cursor, deliveries: 2, payload: { items: changed(patientId).items } });

    // Set aside means left alone: no more tries reach HubSpot over several claim periods.
    const requestsWhenSetAside = await hubspotRequests();
    await sleep(600);
    expect(await hubspotRequests()).toBe(requestsWhenSetAside);
    expect(await eventsOf('CONTACT_SYNCED', patientId)).toEqual([]);

    await fetch(`${h.hubspot.url}/__admin/faults`, { method: 'DELETE' });
    expect(await h.graphql(REDRIVE)).toEqual({ data: { redriveDeadLetters: { redriven: 1, expired: false } } });
    await waitFor('the redriven event to sync the patient', async () => (await eventsOf('CONTACT_SYNCED', patientId)).length > 0);
    expect(await h.store.getStatus(patientId)).toMatchObject({ state: 'IN_SYNC' });

    // Each dead letter is redriven once.
    expect(await h.graphql(REDRIVE)).toEqual({ data: { redriveDeadLetters: { redriven: 0, expired: false } } });
  } finally {
    await fetch(`${h.hubspot.url}/__admin/faults`, { method: 'DELETE' });
    await worker.stop();
  }
});

it('reads the number of tries from SYNC_MAX_DELIVERIES, 10 by default, and refuses a value that would never try', () => {
  const load = (env: NodeJS.ProcessEnv) => loadSyncConfig({ INTERNAL_TOKEN_SECRET: TEST_INTERNAL_TOKEN_SECRET, ...env });
  expect(load({}).workerMaxDeliveries).toBe(10);
  expect(load({ SYNC_MAX_DELIVERIES: '3' }).workerMaxDeliveries).toBe(3);
  expect(() => load({ SYNC_MAX_DELIVERIES: '0' })).toThrow('SYNC_MAX_DELIVERIES: expected a value > 0, found 0');
});
