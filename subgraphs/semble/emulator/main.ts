/**
 * Entrypoint of the Semble emulator: serves the seed world on PORT (default 4101) and tells a
 * parent launcher where it listens.
 */
import { z } from 'zod';
import { envInt, parseConfig } from '../../../lib/config';
import { reportReady, runMain, stopOnSignals } from '../../../lib/process';
import { createSeedWorld } from '../../../lib/seed';
import { startSembleEmulator } from './server';

const ENV_KEYS: Record<string, string> = { port: 'PORT', host: 'HOST', patients: 'SEED_PATIENTS', seed: 'SEED', token: 'SEMBLE_TOKEN' };

const EmulatorConfig = z.object({
  port: z.number().int().min(0).max(65535).default(4101),
  host: z.string().min(1).default('127.0.0.1'),
  patients: z.number().int().min(0).default(500),
  seed: z.number().int().default(42),
  token: z.string().min(1).default('semble-dev-token'),
});

runMain(async () => {
  const config = parseConfig(
    EmulatorConfig,
    {
      port: envInt(process.env.PORT),
      host: process.env.HOST || undefined,
      patients: envInt(process.env.SEED_PATIENTS),
      seed: envInt(process.env.SEED),
      token: process.env.SEMBLE_TOKEN || undefined,
    },
    { keyOf: (path) => ENV_KEYS[String(path[0])] ?? path.join('.'), secretKeys: ['SEMBLE_TOKEN'] },
  );
  const world = createSeedWorld({ patients: config.patients, seed: config.seed });
  const emulator = await startSembleEmulator({ world, token: config.token, port: config.port, host: config.host });
  reportReady('semble-emulator', emulator.url);
  stopOnSignals(() => emulator.stop());
});
