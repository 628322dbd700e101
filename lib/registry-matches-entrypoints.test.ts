import fs from 'node:fs';
import { readEmulatorConfig } from './emulator-main';
import { fromRoot } from './root';
import { ALL_SUBGRAPHS, CONNECTORS_EMULATOR, EMULATORS, loadEmulatorEntrypoint, loadSubgraphEntrypoint } from './services';
import type { SubgraphService } from './services';

describe('the service registry', () => {
  it.each(EMULATORS.map((emulator) => [emulator.name, emulator] as const))('agrees with the %s entrypoint on its defaults and variables', (_name, emulator) => {
    const entry = loadEmulatorEntrypoint(emulator);
    const defaults = readEmulatorConfig(entry, {});
    expect({ port: defaults.port, token: defaults.token }).toEqual({ port: emulator.defaultPort, token: emulator.devToken });
    const set = readEmulatorConfig(entry, { [emulator.tokenEnv]: 'a-token', [emulator.webhook.urlEnv]: 'http://sync.test/hook' });
    expect({ token: set.token, webhookUrl: (set.extra as { webhookUrl?: string }).webhookUrl }).toEqual({ token: 'a-token', webhookUrl: 'http://sync.test/hook' });
  });

  it('agrees with the connectors emulator entrypoint on its name, defaults and token variable', () => {
    const entry = loadEmulatorEntrypoint(CONNECTORS_EMULATOR);
    expect(readEmulatorConfig(entry, {})).toMatchObject({ port: CONNECTORS_EMULATOR.defaultPort, token: CONNECTORS_EMULATOR.devToken });
    expect(readEmulatorConfig(entry, { [CONNECTORS_EMULATOR.tokenEnv]: 'a-token' }).token).toBe('a-token');
  });

  it.each(ALL_SUBGRAPHS.map((subgraph) => [subgraph.name, subgraph] as const))('names the %s subgraph entrypoint and schema', (_name, subgraph) => {
    expect(loadSubgraphEntrypoint(subgraph).name).toBe(subgraph.name);
    expect(fs.existsSync(fromRoot(subgraph.schema))).toBe(true);
  });

  it('says which module does not export a matching entrypoint', () => {
    const wrong: SubgraphService = { ...ALL_SUBGRAPHS[0], name: 'elsewhere' };
    expect(() => loadSubgraphEntrypoint(wrong)).toThrow('subgraphs/semble/src/main: expected an `entrypoint` export named "elsewhere" with a start function, got name "semble" and start function');
    expect(() => loadSubgraphEntrypoint({ ...wrong, entrypoint: 'lib/root' })).toThrow('lib/root: expected an `entrypoint` export named "elsewhere" with a start function, got no such export');
  });
});
