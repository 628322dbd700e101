/**
 * `npm start`'s launcher as a user runs it: separate processes, a printed URL and token that
 * work, and nothing left running after SIGTERM or Ctrl-C (SIGINT).
 * Runs the compiled launcher: `npm test` builds first.
 */
import { execFileSync, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fromRoot } from '../lib/root';

const LAUNCHER = fromRoot('dist/lib/stack/main.js');
const SYNC_CLI = fromRoot('dist/subgraphs/sync/src/cli.js');

function childPids(pid: number): number[] {
  try {
    return execFileSync('ps', ['-o', 'pid=', '--ppid', String(pid)], { encoding: 'utf8' })
      .split('\n')
      .map((line) => Number(line.trim()))
      .filter((n) => n > 0);
  } catch {
    return [];
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** The launcher's environment: the embedded default (no Redis), its service file out of the checkout. */
function launcherEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, PORT: '0', SEED_PATIENTS: '40', LOG_LEVEL: 'warn', SYNC_SERVICE_FILE: serviceFile(), ...extra };
  delete env.REDIS_URL;
  return env;
}

let serviceFileForTest: string | undefined;
function serviceFile(): string {
  serviceFileForTest ??= path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'npm-start-')), 'service.json');
  return serviceFileForTest;
}

async function startLauncher(): Promise<{ child: ChildProcess; url: string; token: string; output: () => string }> {
  if (!fs.existsSync(LAUNCHER)) throw new Error(`${LAUNCHER} is missing: run \`npm run build\` (npm test does it first)`);
  const child = spawn(process.execPath, [LAUNCHER], {
    env: launcherEnv(),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (chunk) => (output += chunk));
  child.stderr!.on('data', (chunk) => (output += chunk));
  const started = await new Promise<{ url: string; token: string }>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`launcher did not print its URL:\n${output}`)), 45_000);
    const check = () => {
      const url = /running at (http:\/\/\S+)/.exec(output)?.[1];
      const token = /Development token[^\n]*\n\s+(\S+)/.exec(output)?.[1];
      if (url && token && output.includes('Ctrl-C stops everything')) {
        clearTimeout(timer);
        resolve({ url, token });
      }
    };
    child.stdout!.on('data', check);
    child.once('exit', (code) => reject(new Error(`launcher exited with ${code}:\n${output}`)));
  });
  return { child, ...started, output: () => output };
}

describe('npm start', () => {
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    it(`serves the patient graph from separate processes and leaves none behind on ${signal}`, async () => {
      const { child, url, token, output } = await startLauncher();
      const children = childPids(child.pid!);
      try {
        // Five emulators (GoCardless next to Stripe), four subgraphs, the sync service and the gateway.
        expect(children).toHaveLength(11);

        const response = await fetch(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
          body: JSON.stringify({ query: '{ patients(first: 2) { totalCount nodes { id crmContact { id } payments { id } appointments { calendarEvent { id } } } } }' }),
        });
        const body = (await response.json()) as any;
        expect(body.errors).toBeUndefined();
        expect(body.data.patients.totalCount).toBe(40);
        // The printed sample query is the one a user pastes: it must work too.
        const sample = /--data '([^']+)'/.exec(output())![1]!;
        const sampleResponse = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: sample });
        expect(((await sampleResponse.json()) as any).errors).toBeUndefined();

        const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
        child.kill(signal);
        expect(await exited).toBe(0);
        expect(output()).not.toContain('did not stop cleanly');
        expect(children.filter(isAlive)).toEqual([]);
      } finally {
        // A failed assertion must not leave the stack running (and Jest waiting on it).
        for (const pid of [child.pid!, ...children]) if (isAlive(pid)) process.kill(pid, 'SIGKILL');
      }
    });
  }

  it('runs `npm run sync -- --backfill` inside its sync service, so the graph shows every patient synced', async () => {
    const { child, url, token } = await startLauncher();
    const children = childPids(child.pid!);
    try {
      // Found through the file it writes while it runs, readable by its owner only.
      const written = JSON.parse(fs.readFileSync(serviceFile(), 'utf8')) as { url: string; token: string };
      expect(written.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect(fs.statSync(serviceFile()).mode & 0o777).toBe(0o600);

      const cli = spawn(process.execPath, [SYNC_CLI, '--backfill'], { env: launcherEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
      let cliOutput = '';
      cli.stdout!.on('data', (chunk) => (cliOutput += chunk));
      cli.stderr!.on('data', (chunk) => (cliOutput += chunk));
      const code = await new Promise<number | null>((resolve) => cli.once('exit', resolve));
      expect({ code, cliOutput }).toEqual({ code: 0, cliOutput: expect.stringContaining('Backfill complete.') });
      expect(cliOutput).toMatch(/patients\s+40\n/);
      // Not the stand-alone fallback, whose shadows and events the service would never see.
      expect(cliOutput).not.toContain('REDIS_URL is not set');

      const response = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify({ query: '{ patients(first: 40) { nodes { syncStatus { state } } } }' }),
      });
      const states = ((await response.json()) as any).data.patients.nodes.map((node: any) => node.syncStatus.state) as string[];
      expect(states).toHaveLength(40);
      expect(states.filter((state) => state === 'NEVER_SYNCED')).toEqual([]);

      const exited = new Promise<number | null>((resolve) => child.once('exit', (exitCode) => resolve(exitCode)));
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
      expect(fs.existsSync(serviceFile())).toBe(false);
    } finally {
      for (const pid of [child.pid!, ...children]) if (isAlive(pid)) process.kill(pid, 'SIGKILL');
    }
  });
});
