/**
 * The Semble polling fallback puts a POLL hint on the inbox for each patient changed since its
 * checkpoint, moves the checkpoint, and does not repeat patients it already reported.
 */
import { createLogger } from '../../../lib/logger';
import { INBOX_TOPIC } from '../src/inbox';
import type { InboxPayload } from '../src/inbox';
import { createSemblePoller, POLL_CHECKPOINT } from '../src/poller';
import type { SemblePoller } from '../src/poller';
import { startSyncHarness } from './sync-harness';
import type { SyncHarness } from './sync-harness';

let h: SyncHarness;
let poller: SemblePoller;
beforeAll(async () => {
  h = await startSyncHarness({ patients: 20 });
  // A long interval: the test polls by hand.
  poller = createSemblePoller({ semble: h.clients.semble, bus: h.bus, store: h.store, logger: createLogger('sync-test'), intervalMs: 3_600_000, startFrom: '2020-01-01T00:00:00.000Z' });
});
afterAll(async () => {
  await poller.stop();
  await h.stop();
});

async function polledIds(): Promise<string[]> {
  return (await h.bus.read(INBOX_TOPIC, { limit: 1000 })).flatMap((event) => (event.payload as InboxPayload).items.map((item) => (item.vendor === 'semble' ? `${item.eventType}:${item.id}` : '')));
}

it('reports every patient changed since the checkpoint once, then only new changes', async () => {
  expect(await poller.pollOnce()).toBe(20);
  expect(new Set(await polledIds()).size).toBe(20);
  expect(JSON.parse((await h.store.getCheckpoint(POLL_CHECKPOINT))!).since).toBe(
    [...h.semble.store.patients.values()].map((patient) => patient.updatedAt).sort().pop(),
  );

  expect(await poller.pollOnce()).toBe(0);

  const patientId = h.world.patients[3]!.id;
  const response = await fetch(`${h.semble.url}/__admin/patients/${patientId}`, {
    method: 'PATCH',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ lastName: 'Byron' }),
  });
  expect(response.status).toBe(200);
  expect(await poller.pollOnce()).toBe(1);
  const ids = await polledIds();
  expect(ids[ids.length - 1]).toBe(`POLL:${patientId}`);
});
