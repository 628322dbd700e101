import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { launch } from './launcher';

/** A tiny service script: reports a URL, or dies, as told by its environment. */
function writeScript(): string {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'launcher-')), 'service.js');
  fs.writeFileSync(
    file,
    `const http = require('http');
     if (process.env.CRASH_AT_START) process.exit(3);
     const server = http.createServer((q, s) => s.end(process.env.UPSTREAM || 'none')).listen(0, '127.0.0.1', () => {
       process.send({ type: 'ready', name: process.env.NAME, url: 'http://127.0.0.1:' + server.address().port });
     });
     process.on('SIGTERM', () => server.close(() => process.exit(0)));
     process.on('disconnect', () => process.exit(0));`,
  );
  return file;
}

describe('the stack launcher', () => {
  const script = writeScript();
  const quiet = { log: () => undefined };

  it('starts groups in order and hands earlier URLs to later services', async () => {
    const stack = await launch(
      [
        [{ name: 'a', script, env: () => ({ NAME: 'a' }) }],
        [{ name: 'b', script, env: (urls) => ({ NAME: 'b', UPSTREAM: urls.a }) }],
      ],
      quiet,
    );
    try {
      expect(stack.phase()).toBe('running');
      expect(await (await fetch(stack.urls.b!)).text()).toBe(stack.urls.a);
    } finally {
      await stack.stop();
    }
    expect(stack.phase()).toBe('stopped');
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
    ).rejects.toThrow('broken exited before it was ready (code 3');
    // The service that had started is gone: nothing answers on its port.
    await expect(fetch(okUrl)).rejects.toThrow();
  });

  it('stops the whole stack when one running service dies', async () => {
    const lines: string[] = [];
    const stack = await launch([[{ name: 'a', script, env: () => ({ NAME: 'a' }) }, { name: 'b', script, env: () => ({ NAME: 'b' }) }]], {
      log: (line) => lines.push(line),
    });
    process.kill(stack.pids.a!, 'SIGKILL');
    expect(await stack.stopped).toBe('a exited');
    expect(lines[0]).toMatch(/^a exited unexpectedly/);
    expect(() => process.kill(stack.pids.b!, 0)).toThrow();
  });
});
