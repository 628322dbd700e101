/**
 * `npm run sync -- --backfill` as a process, on where it runs: through a sync service named by
 * SYNC_SERVICE_URL (an error when that service does not answer: no silent run elsewhere), or on
 * its own when the file an `npm start` left behind points at a service that is gone.
 * Runs the compiled CLI: `npm test` builds first.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fromRoot } from '../../../lib/root';
import { freePort } from '../../../lib/stack/patient-graph';
import { startSyncHarness } from './sync-harness';
import type { SyncHarness } from './sync-harness';

const CLI = fromRoot('dist/subgraphs/sync/src/cli.js');
let h: SyncHarness;
let dir: string;

beforeAll(async () => {
  h = await startSyncHarness({ patients: 30 });
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'backfill-cli-'));
});
afterAll(() => h.stop());

function runCli(env: NodeJS.ProcessEnv): Promise<{ code: number | null; output: string }> {
  if (!fs.existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm run build\` (npm test does it first)`);
  const base: NodeJS.ProcessEnv = { ...process.env, LOG_LEVEL: 'warn' };
  for (const key of ['REDIS_URL', 'SYNC_SERVICE_URL', 'SYNC_ADMIN_TOKEN', 'SYNC_SERVICE_FILE']) delete base[key];
  const child = spawn(process.execPath, [CLI, '--backfill', '--state-file', path.join(dir, 'checkpoints.json')], { env: { ...base, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (chunk) => (output += chunk));
  child.stderr!.on('data', (chunk) => (output += chunk));
  return new Promise((resolve) => child.once('exit', (code) => resolve({ code, output })));
}

const vendors = () => ({
  SEMBLE_BASE_URL: h.semble.url,
  SEMBLE_TOKEN: h.config.sembleToken,
  HUBSPOT_BASE_URL: h.hubspot.url,
  HUBSPOT_TOKEN: h.config.hubspotToken,
});

it('fails with a clear message when the service SYNC_SERVICE_URL names does not answer, and backfills nothing', async () => {
  const contactsBefore = h.hubspot.objects.contacts.size;
  const { code, output } = await runCli({ ...vendors(), SYNC_SERVICE_URL: `http://127.0.0.1:${await freePort()}`, SYNC_ADMIN_TOKEN: 'admin-token-for-tests-0123456789' });
  expect(code).toBe(1);
  expect(output).toMatch(/the sync service at http:\/\/127\.0\.0\.1:\d+ did not answer/);
  expect(output).not.toContain('Backfill complete.');
  expect(h.hubspot.objects.contacts.size).toBe(contactsBefore);
});

it('refuses SYNC_SERVICE_URL without SYNC_ADMIN_TOKEN, naming the missing variable', async () => {
  const { code, output } = await runCli({ ...vendors(), SYNC_SERVICE_URL: 'http://127.0.0.1:9' });
  expect(code).toBe(78);
  expect(output).toContain('SYNC_ADMIN_TOKEN: expected it with SYNC_SERVICE_URL');
});

it('runs on its own when the service file points at a service that is gone', async () => {
  const stale = path.join(dir, 'service.json');
  fs.writeFileSync(stale, JSON.stringify({ url: `http://127.0.0.1:${await freePort()}`, token: 'admin-token-for-tests-0123456789' }));
  const { code, output } = await runCli({ ...vendors(), SYNC_SERVICE_FILE: stale });
  expect(output).toContain('looks stale, so the backfill runs in this process');
  expect({ code, complete: output.includes('Backfill complete.') }).toEqual({ code: 0, complete: true });
  expect(output).toMatch(/patients\s+30\n/);
});
