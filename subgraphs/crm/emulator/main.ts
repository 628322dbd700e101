/**
 * Entrypoint of the HubSpot emulator: seeds the world from the environment and serves it until
 * a signal (or the launcher going away) stops it.
 *
 * Env: PORT (4102), HOST (127.0.0.1), SEED_PATIENTS (500), SEED (42), HUBSPOT_TOKEN
 * ('hubspot-dev-token'), HUBSPOT_RATE_LIMIT_MAX (100), HUBSPOT_RATE_LIMIT_WINDOW_MS (10000).
 */
import { z } from 'zod';
import { envInt, parseConfig } from '../../../lib/config';
import { reportReady, runMain, stopOnSignals } from '../../../lib/process';
import { createSeedWorld } from '../../../lib/seed';
import { startHubSpotEmulator } from './server';

const ENV_KEYS = {
  port: 'PORT',
  host: 'HOST',
  patients: 'SEED_PATIENTS',
  seed: 'SEED',
  token: 'HUBSPOT_TOKEN',
  rateLimitMax: 'HUBSPOT_RATE_LIMIT_MAX',
  rateLimitWindowMs: 'HUBSPOT_RATE_LIMIT_WINDOW_MS',
} as const;

const schema = z.object({
  port: z.number().int().min(0).max(65535).default(4102),
  host: z.string().min(1).default('127.0.0.1'),
  patients: z.number().int().min(0).default(500),
  seed: z.number().int().default(42),
  token: z.string().min(1).default('hubspot-dev-token'),
  rateLimitMax: z.number().int().min(1).default(100),
  rateLimitWindowMs: z.number().int().min(1).default(10_000),
});

runMain(async () => {
  const env = process.env;
  const config = parseConfig(
    schema,
    {
      port: envInt(env.PORT),
      host: env.HOST || undefined,
      patients: envInt(env.SEED_PATIENTS),
      seed: envInt(env.SEED),
      token: env.HUBSPOT_TOKEN || undefined,
      rateLimitMax: envInt(env.HUBSPOT_RATE_LIMIT_MAX),
      rateLimitWindowMs: envInt(env.HUBSPOT_RATE_LIMIT_WINDOW_MS),
    },
    { keyOf: (path) => ENV_KEYS[path[0] as keyof typeof ENV_KEYS] ?? path.join('.'), secretKeys: [ENV_KEYS.token] },
  );
  const emulator = await startHubSpotEmulator({
    world: createSeedWorld({ patients: config.patients, seed: config.seed }),
    token: config.token,
    port: config.port,
    host: config.host,
    rateLimit: { max: config.rateLimitMax, windowMs: config.rateLimitWindowMs },
  });
  reportReady('hubspot-emulator', emulator.url);
  stopOnSignals(() => emulator.stop());
});
