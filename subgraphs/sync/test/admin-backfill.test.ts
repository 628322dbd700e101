/**
 * The sync service's admin route that the backfill CLI drives when the service keeps its state
 * in memory: bearer-token only, clear errors for bad requests, one backfill at a time, and the
 * pages run on the service's own store and bus.
 */
import { BACKFILL_LOCK } from '../src/admin';
import { SYNC_EVENTS_TOPIC } from '../src/inbox';
import { runRemoteBackfill } from '../src/backfill-remote';
import { startSyncHarness } from './sync-harness';
import type { SyncHarness } from './sync-harness';

const TOKEN = 'admin-token-for-tests-0123456789';
let h: SyncHarness;
let origin: string;

beforeAll(async () => {
  h = await startSyncHarness({ patients: 150, server: true, adminToken: TOKEN });
  origin = new URL(h.server!.graphqlUrl).origin;
});
afterAll(() => h.stop());

function post(body: unknown, token: string | null = TOKEN): Promise<Response> {
  return fetch(`${origin}/admin/backfill`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

it('refuses a request without the admin token, and runs nothing', async () => {
  for (const token of [null, 'wrong-token-wrong-token-wrong']) {
    const response = await post({}, token);
    expect(response.status).toBe(401);
    expect(await response.json()).toEqual({ error: { code: 'UNAUTHORIZED', message: 'missing or wrong bearer token' } });
  }
  expect(await h.store.getCheckpoint('backfill')).toBeNull();
});

it('says which field of a bad request is wrong and what it expected', async () => {
  const cases: Array<[unknown, string]> = [
    [{ maxPages: 0 }, 'maxPages'],
    [{ maxPages: 'all' }, 'maxPages'],
    [{ restart: 'yes' }, 'restart'],
    [{ pages: 2 }, 'pages'],
    ['{not json', 'body'],
  ];
  for (const [body, field] of cases) {
    const response = await post(body);
    const answer = (await response.json()) as { error: { code: string; field?: string; message: string } };
    expect({ status: response.status, code: answer.error.code }).toEqual({ status: 400, code: 'BAD_REQUEST' });
    expect(answer.error.message.startsWith(`${field}: expected`)).toBe(true);
  }
  const tooMany = (await (await post({ maxPages: 500 })).json()) as { error: { message: string; field: string } };
  expect(tooMany.error).toMatchObject({ field: 'maxPages', message: 'maxPages: expected a whole number from 1 to 100' });
});

it('answers 409 while another backfill holds the service', async () => {
  const response = await h.store.withLock(BACKFILL_LOCK, { ttlMs: 10_000, waitMs: 0 }, () => post({}));
  expect(response.status).toBe(409);
  expect(((await response.json()) as { error: { code: string } }).error.code).toBe('BACKFILL_RUNNING');
});

it('runs the whole backfill page by page on the service, with running totals and the service’s sync state', async () => {
  const seen: number[] = [];
  const summary = await runRemoteBackfill({ url: origin, token: TOKEN, onProgress: (progress) => seen.push(progress.patients) });
  expect(seen).toEqual([100, 150]);
  expect(summary).toMatchObject({ complete: true, startedAtPage: 1, pages: 2, patients: 150 });
  // The service's store and bus, not a copy: every patient has a status, and the steps are on the bus.
  const somePatient = [...h.semble.store.patients.keys()][0]!;
  expect(await h.store.getStatus(somePatient)).not.toBeNull();
  expect((await h.bus.read(SYNC_EVENTS_TOPIC, { limit: 10_000 })).length).toBeGreaterThanOrEqual(150);
});

it('stops after maxPages and resumes where it stopped on the next run', async () => {
  const first = await runRemoteBackfill({ url: origin, token: TOKEN, restart: true, maxPages: 1 });
  expect(first).toMatchObject({ complete: false, pages: 1, patients: 100 });
  const second = await runRemoteBackfill({ url: origin, token: TOKEN });
  expect(second).toMatchObject({ complete: true, startedAtPage: 2, pages: 2, patients: 150 });
});

it('is not served at all without SYNC_ADMIN_TOKEN', async () => {
  const plain = await startSyncHarness({ patients: 5, server: true });
  try {
    const response = await fetch(`${new URL(plain.server!.graphqlUrl).origin}/admin/backfill`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}` } });
    expect(response.status).toBe(404);
  } finally {
    await plain.stop();
  }
});
