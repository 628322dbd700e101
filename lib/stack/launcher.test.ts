import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { launch } from './launcher';
import type { LauncherOptions, RunningStack } from './launcher';

const directory = fs.mkdtempSync(path.join(os.tmpdir(), 'launcher-'));

/**
 * A tiny service script: binds PORT, reports its URL, answers with UPSTREAM, exits with code 1
 * when asked (GET /exit), or dies at start-up as told by its environment (CRASH_AT_START, or
 * CRASH_FILE once that file exists).
 */
function writeScript(): string {
  const file = path.join(directory, 'service.js');
  fs.writeFileSync(
    file,
    `const fs = require('fs');
     const http = require('http');
     if (process.env.CRASH_AT_START || (process.env.CRASH_FILE && fs.existsSync(process.env.CRASH_FILE))) process.exit(3);
     const server = http.createServer((q, s) => {
       if (q.url === '/exit') return s.end('bye', () => process.exit(1));
       s.end(process.env.UPSTREAM || 'none');
     }).listen(Number(process.env.PORT || 0), '127.0.0.1', () => {
       process.send({ type: 'ready', name: process.env.NAME, url: 'http://127.0.0.1:' + server.address().port });
     });
     process.on('SIGTERM', () => server.close(() => process.exit(0)));
     process.on('disconnect', () => process.exit(0));`,
  );
  return file;
}

const isAlive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** The launcher's log, and a wait for a line to appear in it (the launcher's own readiness signal). */
function logLines() {
  const lines: string[] = [];
  const waiting = new Set<() => void>();
  return {
    lines,
    log: (line: string) => {
      lines.push(line);
      for (const wake of waiting) wake();
    },
    waitFor: (pattern: RegExp) =>
      new Promise<string>((resolve) => {
        const check = () => {
          const line = lines.find((candidate) => pattern.test(candidate));
          if (!line) return;
          waiting.delete(check);
          resolve(line);
        };
        waiting.add(check);
        check();
      }),
  };
}

describe('the stack launcher', () => {
  const script = writeScript();
  const quiet = { log: () => undefined };
  // Short backoffs: what is tested is that a restart happens, not when.
  const fastRestarts: LauncherOptions['restart'] = { initialDelayMs: 10, maxDelayMs: 50 };
  const stacks: RunningStack[] = [];
  afterEach(async () => {
    await Promise.all(stacks.splice(0).map((stack) => stack.stop()));
  });

  it('starts groups in order and hands earlier URLs to later services', async () => {
    const stack = await launch(
      [
        [{ name: 'a', script, env: () => ({ NAME: 'a' }) }],
        [{ name: 'b', script, env: (urls) => ({ NAME: 'b', UPSTREAM: urls.a }) }],
      ],
      quiet,
    );
    stacks.push(stack);
    expect(stack.phase()).toBe('running');
    expect(await (await fetch(stack.urls.b!)).text()).toBe(stack.urls.a);
    await stack.stop();
    expect(stack.phase()).toBe('stopped');
  });

  it('reports each service as it starts and as it is ready, with its URL and pid', async () => {
    const { lines, log } = logLines();
    const stack = await launch([[{ name: 'a', script, env: () => ({ NAME: 'a' }) }]], { log });
    stacks.push(stack);
    expect(lines).toEqual([`a: starting (pid ${stack.pids.a})`, `a: ready at ${stack.urls.a} (pid ${stack.pids.a})`]);
  });

  it('starts a service again on its port when a service started after it changes its environment', async () => {
    // `a` needs `b`'s URL but must start first (as the sync service and the emulators need each other's).
    const { lines, log } = logLines();
    const stack = await launch(
      [[{ name: 'a', script, env: (urls) => ({ NAME: 'a', UPSTREAM: urls.b ?? 'not yet' }) }], [{ name: 'b', script, env: () => ({ NAME: 'b' }) }]],
      { log },
    );
    stacks.push(stack);
    expect(await (await fetch(stack.urls.a!)).text()).toBe(stack.urls.b);
    expect(lines).toContain('a: restarting on its port with settings that changed (UPSTREAM)');
  });

  it('fails start-up with the name of a service that died, and stops the ones already started', async () => {
    let okUrl = '';
    await expect(
      launch(
        [
          [{ name: 'ok', script, env: () => ({ NAME: 'ok' }) }],
          [{ name: 'broken', script, env: (urls) => ({ CRASH_AT_START: '1', UPSTREAM: (okUrl = urls.ok!) }) }],
        ],
        quiet,
      ),
    ).rejects.toThrow('broken: exited before it was ready (code 3)');
    // The service that had started is gone: nothing answers on its port.
    await expect(fetch(okUrl)).rejects.toThrow();
  });

  for (const how of ['is SIGKILLed by its pid', 'exits on its own'] as const) {
    it(`restarts a service that ${how} on the same port, and the stack stays up`, async () => {
      const { lines, log, waitFor } = logLines();
      const stack = await launch([[{ name: 'a', script, env: () => ({ NAME: 'a' }) }, { name: 'b', script, env: () => ({ NAME: 'b' }) }]], {
        log,
        restart: fastRestarts,
      });
      stacks.push(stack);
      const [url, pid, otherPid] = [stack.urls.a!, stack.pids.a!, stack.pids.b!];
      if (how === 'is SIGKILLed by its pid') process.kill(pid, 'SIGKILL');
      else await fetch(`${url}/exit`);

      await waitFor(/^a: restarted at /);
      const death = how === 'is SIGKILLed by its pid' ? 'signal SIGKILL' : 'code 1';
      expect(lines.slice(-2)).toEqual([`a: died (${death}, pid ${pid}); restarting in 10 ms`, `a: restarted at ${url} (pid ${stack.pids.a})`]);
      expect(stack.pids.a).not.toBe(pid);
      expect(stack.urls.a).toBe(url);
      expect(await (await fetch(url)).text()).toBe('none');
      expect(stack.phase()).toBe('running');
      expect(stack.pids.b).toBe(otherPid);
    });
  }

  it('gives up after repeated fast crashes: stops the rest and says which service and why', async () => {
    const crashFile = path.join(directory, 'crash-now');
    const { lines, log } = logLines();
    const stack = await launch(
      [[{ name: 'a', script, env: () => ({ NAME: 'a' }) }, { name: 'flaky', script, env: () => ({ NAME: 'flaky', CRASH_FILE: crashFile }) }]],
      { log, restart: { ...fastRestarts, maxCrashes: 3 } },
    );
    stacks.push(stack);
    const otherPid = stack.pids.a!;
    // From now on every restart of `flaky` dies before it is ready.
    fs.writeFileSync(crashFile, '');
    try {
      await fetch(`${stack.urls.flaky}/exit`);
      expect(await stack.stopped).toBe('flaky kept crashing (last: could not restart: exited before it was ready (code 3))');
    } finally {
      fs.rmSync(crashFile);
    }
    expect(lines.filter((line) => line.startsWith('flaky: ') && !/^flaky: (starting|ready at) /.test(line))).toEqual([
      expect.stringMatching(/^flaky: died \(code 1, pid \d+\); restarting in 10 ms$/),
      'flaky: could not restart: exited before it was ready (code 3); restarting in 20 ms',
      'flaky: could not restart: exited before it was ready (code 3); it crashed 3 times, each within 60 s of the last: giving up and stopping the stack',
    ]);
    expect(stack.phase()).toBe('stopped');
    expect(isAlive(otherPid)).toBe(false);
  });

  it('keeps a service killed through kill() down until restart(), then starts it on its port', async () => {
    const { lines, log } = logLines();
    const stack = await launch([[{ name: 'a', script, env: () => ({ NAME: 'a' }) }, { name: 'b', script, env: () => ({ NAME: 'b' }) }]], {
      log,
      restart: fastRestarts,
    });
    stacks.push(stack);
    const [url, pid] = [stack.urls.a!, stack.pids.a!];
    await stack.kill('a');
    // A crash would have been logged when the exit was seen, before kill() resolved.
    expect(lines.filter((line) => line.includes('died'))).toEqual([]);
    expect(isAlive(pid)).toBe(false);
    await expect(fetch(url)).rejects.toThrow();
    expect(stack.phase()).toBe('running');
    await expect(stack.restart('b')).rejects.toThrow('b was not killed through kill(); nothing to restart');

    await stack.restart('a');
    expect(stack.urls.a).toBe(url);
    expect(await (await fetch(url)).text()).toBe('none');
    expect(lines.at(-1)).toBe(`a: restarted at ${url} (pid ${stack.pids.a})`);
  });

  it('refuses a restart policy that could not work, saying what it expected', async () => {
    await expect(launch([], { restart: { maxCrashes: 0 } })).rejects.toThrow('restart.maxCrashes: expected a whole number >= 1, got 0');
  });
});
