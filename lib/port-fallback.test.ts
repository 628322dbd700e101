/**
 * A service binds the port it is given; with PORT_FALLBACK (set by `npm start`'s launcher for the
 * emulators and the sync service) a taken port is not an error but a reason to bind another.
 */
import { ConfigError } from './config';
import { listen } from './listen';
import type { Listening } from './listen';
import { startWithPortFallback } from './process';
import { freePort } from './stack/patient-graph';

const disposers: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const dispose of disposers.splice(0)) await dispose();
});

async function taken(): Promise<number> {
  const holder = await listen((_req, res) => res.end('holder'));
  disposers.push(() => holder.stop());
  return holder.port;
}

const startOn = async (env: NodeJS.ProcessEnv): Promise<Listening> => {
  const service = await listen((_req, res) => res.end('service'), Number(env.PORT));
  disposers.push(() => service.stop());
  return service;
};

describe('binding the port a service is given', () => {
  it('binds PORT when it is free', async () => {
    const port = await freePort();
    expect((await startWithPortFallback({ PORT: String(port), PORT_FALLBACK: '0' }, startOn)).port).toBe(port);
  });

  it('binds PORT_FALLBACK (0: any free port) when PORT is taken, and reports the port it got', async () => {
    const port = await taken();
    const service = await startWithPortFallback({ PORT: String(port), PORT_FALLBACK: '0' }, startOn);
    expect(service.port).not.toBe(port);
    expect(await (await fetch(service.url)).text()).toBe('service');
  });

  it('fails with EADDRINUSE when PORT is taken and there is no fallback', async () => {
    const port = await taken();
    await expect(startWithPortFallback({ PORT: String(port) }, startOn)).rejects.toMatchObject({ code: 'EADDRINUSE', port });
  });

  it('refuses a PORT_FALLBACK that is not a port, naming it', async () => {
    const attempt = startWithPortFallback({ PORT: '0', PORT_FALLBACK: 'any' }, startOn);
    await expect(attempt).rejects.toBeInstanceOf(ConfigError);
    await expect(attempt).rejects.toThrow('PORT_FALLBACK: expected a port 0-65535, found "any"');
  });
});
