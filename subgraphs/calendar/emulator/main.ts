/**
 * Entrypoint of the Google Calendar emulator: serves the seed world's calendar events.
 * Env: PORT (default 4104), HOST (default 127.0.0.1), SEED_PATIENTS (default 500), SEED
 * (default 42), GOOGLE_CALENDAR_TOKEN (the accepted access token, default google-dev-token).
 */
import { z } from 'zod';
import { envInt, parseConfig } from '../../../lib/config';
import { reportReady, runMain, stopOnSignals } from '../../../lib/process';
import { createSeedWorld } from '../../../lib/seed';
import { startGoogleCalendarEmulator } from './server';

const emulatorConfigSchema = z.object({
  port: z.number().int().min(0).max(65535).default(4104),
  host: z.string().min(1).default('127.0.0.1'),
  patients: z.number().int().min(0).default(500),
  seed: z.number().int().default(42),
  token: z.string().min(1).default('google-dev-token'),
});

const ENV_KEYS: Record<string, string> = {
  port: 'PORT',
  host: 'HOST',
  patients: 'SEED_PATIENTS',
  seed: 'SEED',
  token: 'GOOGLE_CALENDAR_TOKEN',
};

runMain(async () => {
  const env = process.env;
  const config = parseConfig(
    emulatorConfigSchema,
    {
      port: envInt(env.PORT),
      host: env.HOST || undefined,
      patients: envInt(env.SEED_PATIENTS),
      seed: envInt(env.SEED),
      token: env.GOOGLE_CALENDAR_TOKEN || undefined,
    },
    { keyOf: (path) => ENV_KEYS[String(path[0])] ?? path.join('.'), secretKeys: ['GOOGLE_CALENDAR_TOKEN'] },
  );
  const world = createSeedWorld({ patients: config.patients, seed: config.seed });
  const emulator = await startGoogleCalendarEmulator({ world, token: config.token, port: config.port, host: config.host });
  reportReady('google-calendar-emulator', emulator.url);
  stopOnSignals(() => emulator.stop());
});
