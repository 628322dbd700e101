/**
 * The whole service with REDIS_URL: the subgraph, the worker in its consumer group, the store
 * and the bus all in Redis. An inbox event published by another process (here: another bus
 * client) is synced, and the subgraph answers from the shared store.
 */
import { createEventBus } from '../../../lib/event-bus';
import type { EventBus } from '../../../lib/event-bus';
import { REDIS_URL, deleteKeys, uniqueKeyPrefix } from '../../../lib/event-bus/test/redis-keys';
import { waitFor } from '../../../lib/event-bus/test/wait-for';
import { asGateway } from '../../../lib/test/as-gateway';
import { INBOX_TOPIC, SYNC_EVENTS_TOPIC } from '../src/inbox';
import type { SyncEventPayload } from '../src/inbox';
import { createServer } from '../src/server';
import type { SyncServer } from '../src/server';
import { startSyncHarness } from './sync-harness';
import type { SyncHarness } from './sync-harness';

const busKeyPrefix = uniqueKeyPrefix();
const syncKeyPrefix = uniqueKeyPrefix();
let h: SyncHarness;
let server: SyncServer;
let producer: EventBus;

beforeAll(async () => {
  h = await startSyncHarness({ patients: 10 });
  server = await createServer({ ...h.config, redisUrl: REDIS_URL, busKeyPrefix, syncKeyPrefix, worker: true, workerName: 'redis-test' });
  producer = await createEventBus({ redisUrl: REDIS_URL, keyPrefix: busKeyPrefix });
});
afterAll(async () => {
  await server?.stop();
  await producer?.close();
  await h.stop();
  await deleteKeys(busKeyPrefix);
  await deleteKeys(syncKeyPrefix);
});

it('syncs an inbox event from the shared bus and serves the status from the shared store', async () => {
  const patientId = h.goodPatientsWithContact()[0]!;
  await producer.publish({ topic: INBOX_TOPIC, type: 'test', payload: { receivedAt: new Date().toISOString(), items: [{ vendor: 'semble', eventType: 'PATIENT_UPDATED', id: patientId }] } });

  let events: SyncEventPayload[] = [];
  const poll = setInterval(() => {
    void producer.read(SYNC_EVENTS_TOPIC).then((read) => (events = read.map((event) => event.payload as SyncEventPayload)), () => undefined);
  }, 20);
  try {
    await waitFor('the worker to sync the patient', () => events.some((event) => event.patientId === patientId && event.type === 'CONTACT_SYNCED'));
  } finally {
    clearInterval(poll);
  }

  const response = await fetch(server.graphqlUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(await asGateway('sync')) },
    body: JSON.stringify({
      query: 'query ($r: [_Any!]!) { _entities(representations: $r) { ... on Patient { syncStatus { state openConflicts } } } }',
      variables: { r: [{ __typename: 'Patient', id: patientId }] },
    }),
  });
  expect(await response.json()).toEqual({ data: { _entities: [{ syncStatus: { state: 'IN_SYNC', openConflicts: 0 } }] } });
  expect((await server.store.getShadow(patientId))?.values.dateOfBirth).toBe(h.semble.store.patients.get(patientId)!.dob);
});
