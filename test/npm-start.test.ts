/**
 * `npm start`'s launcher as a user runs it: separate processes, progress as they start, a printed
 * URL and token that work, a service killed from outside restarted while the gateway keeps
 * serving, a taken port said in one line (the gateway's) or worked around (the others'), and
 * nothing left running after SIGTERM or Ctrl-C (SIGINT).
 * Runs the compiled launcher: `npm test` builds first.
 */
import { execFileSync, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { listen } from '../lib/listen';
import { fromRoot } from '../lib/root';
import { SYNC_SERVICE } from '../lib/services';

const LAUNCHER = fromRoot('dist/lib/stack/main.js');
const SYNC_CLI = fromRoot('dist/subgraphs/sync/src/cli.js');
const TOKEN_CLI = fromRoot('dist/lib/stack/token.js');

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

/** The launcher's environment: the embedded default (no Redis), its service and auth files out of the checkout. */
function launcherEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, PORT: '0', SEED_PATIENTS: '40', LOG_LEVEL: 'warn', SYNC_SERVICE_FILE: serviceFile(), DEV_AUTH_FILE: authFile(), ...extra };
  delete env.REDIS_URL;
  delete env.AUTH_JWT_SECRET;
  return env;
}

const authFile = () => path.join(path.dirname(serviceFile()), 'dev-auth.json');

let serviceFileForTest: string | undefined;
function serviceFile(): string {
  serviceFileForTest ??= path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'npm-start-')), 'service.json');
  return serviceFileForTest;
}

interface Launched {
  child: ChildProcess;
  exited: Promise<number | null>;
  url: string;
  token: string;
  output: () => string;
  /** Resolves with the first match of `pattern` in the output, as soon as it appears. */
  waitFor: (pattern: RegExp) => Promise<RegExpExecArray>;
}

function spawnLauncher(args: string[] = [], env: NodeJS.ProcessEnv = launcherEnv()) {
  if (!fs.existsSync(LAUNCHER)) throw new Error(`${LAUNCHER} is missing: run \`npm run build\` (npm test does it first)`);
  const child = spawn(process.execPath, [LAUNCHER, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (chunk) => (output += chunk));
  child.stderr!.on('data', (chunk) => (output += chunk));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const waitFor = (pattern: RegExp) =>
    new Promise<RegExpExecArray>((resolve, reject) => {
      const check = () => {
        const match = pattern.exec(output);
        if (!match) return;
        child.stdout!.off('data', check).off('end', gone);
        child.stderr!.off('data', check);
        resolve(match);
      };
      const gone = () => reject(new Error(`launcher output ended before ${pattern}:\n${output}`));
      child.stdout!.on('data', check).once('end', gone);
      child.stderr!.on('data', check);
      check();
    });
  return { child, output: () => output, waitFor, exited };
}

async function startLauncher(args: string[] = [], env?: NodeJS.ProcessEnv): Promise<Launched> {
  const launched = spawnLauncher(args, env);
  const [, url] = await launched.waitFor(/running at (http:\/\/\S+)/);
  const [, token] = await launched.waitFor(/Development token[^\n]*\n\s+(\S+)/);
  await launched.waitFor(/Ctrl-C stops everything/);
  return { ...launched, url: url!, token: token! };
}

/** A service's URL and pid as the launcher reported them when it became ready. */
function readyLine(output: string, name: string): { url: string; pid: number; line: string } {
  const match = new RegExp(`^${name.replace(/[#-]/g, '\\$&')}: ready at (\\S+) \\(pid (\\d+)[^\\n]*$`, 'm').exec(output);
  if (!match) throw new Error(`no ready line for ${name} in:\n${output}`);
  return { url: match[1]!, pid: Number(match[2]), line: match[0] };
}

async function query(url: string, token: string, body: string): Promise<any> {
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body });
  return response.json();
}

/** Waits for `condition`, checking it every 50 ms (the test's timeout bounds the wait). */
async function until(condition: () => boolean | Promise<boolean>): Promise<void> {
  while (!(await condition())) await new Promise((resolve) => setTimeout(resolve, 50));
}

/** Holds `port` on 127.0.0.1 for the test, unless something already does (then it is taken all the same). */
async function hold(port: number): Promise<net.Server | undefined> {
  const server = net.createServer();
  return new Promise((resolve) => {
    server.once('error', () => resolve(undefined));
    server.listen(port, '127.0.0.1', () => resolve(server));
  });
}

describe('npm start', () => {
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    it(`serves the patient graph from separate processes and leaves none behind on ${signal}`, async () => {
      const { child, url, token, output } = await startLauncher();
      const children = childPids(child.pid!);
      try {
        // Five vendor emulators (GoCardless next to Stripe) and the connectors emulator, four subgraphs,
        // the sync service, the cascade service and the gateway.
        expect(children).toHaveLength(13);
        // Progress from the first moment: a line per process as it starts and one as it is ready, with its pid.
        expect(output()).toMatch(/^Starting the patient graph: 13 processes/);
        const ready = [...output().matchAll(/^(\S+): ready at (\S+) \(pid (\d+)\)$/gm)];
        expect(ready.map((match) => Number(match[3])).sort()).toEqual([...children].sort());
        for (const [, name, , pid] of ready) expect(output()).toContain(`${name}: starting (pid ${pid})`);
        // The emulators' admin APIs, at the addresses they got.
        for (const name of ['semble-emulator', 'hubspot-emulator', 'stripe-emulator', 'gocardless-emulator', 'google-calendar-emulator', 'connectors-emulator']) {
          const admin = `${readyLine(output(), name).url}/__admin`;
          expect(output()).toMatch(new RegExp(`^  ${name} +${admin.replace(/[.]/g, '\\.')}$`, 'm'));
          expect((await fetch(`${admin}/requests`)).status).toBe(200);
        }

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

        // The cascade follows the sync service's bus over HTTP: a new patient's welcome email reaches the connectors emulator.
        const created = await fetch(`${readyLine(output(), 'semble-emulator').url}/__admin/patients`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ firstName: 'Launcher', lastName: 'Check' }),
        });
        const patientId = ((await created.json()) as { id: string }).id;
        const connectors = readyLine(output(), 'connectors-emulator').url;
        const deadline = Date.now() + 60_000;
        let welcomed: Array<{ idempotencyKey?: string; signatureValid: boolean }> = [];
        while (welcomed.length === 0 && Date.now() < deadline) {
          const received = (await (await fetch(`${connectors}/__admin/received?vendor=webhook`)).json()) as typeof welcomed;
          welcomed = received.filter((entry) => entry.idempotencyKey === `semble:patient:${patientId}:created:welcome-email`);
          if (welcomed.length === 0) await new Promise((resolve) => setTimeout(resolve, 100));
        }
        expect(welcomed).toMatchObject([{ signatureValid: true }]);

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

      // `npm run token` finds this run's secret in the auth file (owner only) and signs for another role.
      expect(fs.statSync(authFile()).mode & 0o777).toBe(0o600);
      const financeToken = execFileSync(process.execPath, [TOKEN_CLI, '--role', 'finance', '--subject', 'fiona'], { env: launcherEnv(), encoding: 'utf8' }).trim();
      const asFinance = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${financeToken}` },
        body: JSON.stringify({ query: '{ patients(first: 1) { totalCount } }' }),
      });
      expect({ status: asFinance.status, body: await asFinance.json() }).toMatchObject({ status: 200, body: { data: { patients: { totalCount: 40 } } } });

      const exited = new Promise<number | null>((resolve) => child.once('exit', (exitCode) => resolve(exitCode)));
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
      expect(fs.existsSync(serviceFile())).toBe(false);
      expect(fs.existsSync(authFile())).toBe(false);
    } finally {
      for (const pid of [child.pid!, ...children]) if (isAlive(pid)) process.kill(pid, 'SIGKILL');
    }
  });

  it('restarts a subgraph instance SIGKILLed from outside on its port while the gateway serves every query from the other', async () => {
    const { child, url, token, output, waitFor, exited } = await startLauncher(['--replicas', '2']);
    const children = childPids(child.pid!);
    let querying = true;
    try {
      // Six emulators, two instances of each of the four subgraphs, the sync service, the cascade service (one) and the gateway.
      expect(children).toHaveLength(17);
      const victim = readyLine(output(), 'semble#2');
      const body = JSON.stringify({ query: '{ patients(first: 5) { totalCount nodes { id fullName } } }' });
      let answered = 0;
      const failures: unknown[] = [];
      const load = async () => {
        while (querying) {
          const result = await query(url, token, body).catch((error: Error) => ({ errors: [error.message] }));
          if (result.errors || result.data?.patients?.totalCount !== 40) failures.push(result.errors ?? result);
          else answered += 1;
        }
      };
      const clients = [load(), load()];

      await until(() => answered >= 5);
      process.kill(victim.pid, 'SIGKILL');
      const answeredAtKill = answered;
      const [, restartedUrl, newPid] = await waitFor(/^semble#2: restarted at (\S+) \(pid (\d+)\)$/m);
      const answeredWhileDown = answered - answeredAtKill;
      // Back on the port it had: the gateway's URL for it is still right.
      expect(restartedUrl).toBe(victim.url);
      expect((await fetch(new URL('/healthz', victim.url))).status).toBe(200);
      expect(Number(newPid)).not.toBe(victim.pid);
      querying = false;
      await Promise.all(clients);

      expect(failures).toEqual([]);
      expect(answeredWhileDown).toBeGreaterThan(0);
      expect(output()).toMatch(new RegExp(`^semble#2: died \\(signal SIGKILL, pid ${victim.pid}\\); restarting in 500 ms$`, 'm'));
      // The stack did not stop: the launcher and every other process are still there.
      expect(isAlive(child.pid!)).toBe(true);
      expect(children.filter((pid) => pid !== victim.pid && !isAlive(pid))).toEqual([]);
      expect((await query(url, token, body)).data.patients.totalCount).toBe(40);

      child.kill('SIGTERM');
      expect(await exited).toBe(0);
    } finally {
      querying = false;
      for (const pid of [child.pid!, ...childPids(child.pid!), ...children]) if (isAlive(pid)) process.kill(pid, 'SIGKILL');
    }
  });

  it('says in one line that the gateway PORT is taken, and exits 1', async () => {
    const holder = await listen((_req, res) => res.end('someone else'));
    try {
      const { output, exited } = spawnLauncher([], launcherEnv({ PORT: String(holder.port) }));
      expect({ code: await exited, output: output() }).toEqual({ code: 1, output: `PORT ${holder.port} is in use: set PORT=… (or PORT=0 for any free port)\n` });
    } finally {
      await holder.stop();
    }
  });

  it('starts the sync service and an emulator on other ports when their documented ones are taken, says where, and wires everything to them', async () => {
    const semblePort = 4101;
    const held = await Promise.all([hold(SYNC_SERVICE.port), hold(semblePort)]);
    let launched: Launched | undefined;
    try {
      launched = await startLauncher();
      const { url, token, output } = launched;
      const sync = readyLine(output(), 'sync');
      const semble = readyLine(output(), 'semble-emulator');
      expect(sync.line).toBe(`sync: ready at ${sync.url} (pid ${sync.pid}; port ${SYNC_SERVICE.port} is taken, so it listens on ${new URL(sync.url).port})`);
      expect(semble.line).toBe(`semble-emulator: ready at ${semble.url} (pid ${semble.pid}; port ${semblePort} is taken, so it listens on ${new URL(semble.url).port})`);
      // The sync service assumed Semble's documented URL, so it was started again with the real one.
      expect(output()).toContain('sync: restarting on its port with settings that changed (SEMBLE_BASE_URL)');
      expect(output()).toMatch(new RegExp(`^  semble-emulator +${semble.url.replace(/[.]/g, '\\.')}/__admin$`, 'm'));
      expect(JSON.parse(fs.readFileSync(serviceFile(), 'utf8')).url).toBe(new URL(sync.url).origin);

      // Semble data through the gateway, from the emulator on its fallback port.
      const answer = await query(url, token, JSON.stringify({ query: '{ patients(first: 1) { totalCount nodes { id crmContact { id } } } }' }));
      expect(answer.data.patients.totalCount).toBe(40);
      // The emulators post to the sync service where it is, and HubSpot's signature over that URL holds.
      const patient = (await query(url, token, JSON.stringify({ query: '{ patients(first: 40) { nodes { crmContact { id } } } }' }))).data.patients.nodes.find((node: any) => node.crmContact);
      const hubspot = readyLine(output(), 'hubspot-emulator').url;
      await fetch(`${hubspot}/__admin/contacts/${patient.crmContact.id}`, {
        method: 'PATCH',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ properties: { lifecyclestage: 'customer' } }),
      });
      const firstDelivery = async () =>
        ((await (await fetch(`${hubspot}/__admin/webhooks`)).json()) as { deliveries: Array<{ url: string; status: string; lastStatusCode: number | null }> }).deliveries[0];
      // Answered one way or the other (a refused one would be 'retrying').
      await until(async () => ((await firstDelivery())?.status ?? 'pending') !== 'pending');
      expect(await firstDelivery()).toMatchObject({ url: `${new URL(sync.url).origin}/webhooks/hubspot`, status: 'delivered', lastStatusCode: 200 });

      launched.child.kill('SIGTERM');
      expect(await launched.exited).toBe(0);
    } finally {
      await Promise.all(held.map((server) => server && new Promise((resolve) => server.close(resolve))));
      if (launched) for (const pid of [launched.child.pid!, ...childPids(launched.child.pid!)]) if (isAlive(pid)) process.kill(pid, 'SIGKILL');
    }
  });
});
