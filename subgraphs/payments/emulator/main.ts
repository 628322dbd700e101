/**
 * Entrypoint of the Stripe emulator: builds the seed world from the environment and serves it.
 * Env: PORT (4103), HOST (127.0.0.1), SEED_PATIENTS (500), SEED (42),
 * STRIPE_SECRET_KEY (sk_test_patientgraph), STRIPE_SEARCH_MAX_CLAUSES (10).
 */
import { z } from 'zod';
import { envInt, parseConfig } from '../../../lib/config';
import { reportReady, runMain, stopOnSignals } from '../../../lib/process';
import { createSeedWorld } from '../../../lib/seed';
import { startStripeEmulator } from './server';

const ENV_KEYS = {
  port: 'PORT',
  host: 'HOST',
  patients: 'SEED_PATIENTS',
  seed: 'SEED',
  token: 'STRIPE_SECRET_KEY',
  maxSearchClauses: 'STRIPE_SEARCH_MAX_CLAUSES',
} as const;

const schema = z.object({
  port: z.number().int().min(0).max(65535).default(4103),
  host: z.string().min(1).default('127.0.0.1'),
  patients: z.number().int().min(0).default(500),
  seed: z.number().int().default(42),
  token: z.string().min(1).default('sk_test_patientgraph'),
  maxSearchClauses: z.number().int().min(1).default(10),
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
      token: env.STRIPE_SECRET_KEY || undefined,
      maxSearchClauses: envInt(env.STRIPE_SEARCH_MAX_CLAUSES),
    },
    { keyOf: (path) => ENV_KEYS[path[0] as keyof typeof ENV_KEYS] ?? path.join('.'), secretKeys: ['STRIPE_SECRET_KEY'] },
  );
  const world = createSeedWorld({ patients: config.patients, seed: config.seed });
  const emulator = await startStripeEmulator({
    world,
    token: config.token,
    port: config.port,
    host: config.host,
    maxSearchClauses: config.maxSearchClauses,
  });
  reportReady('stripe-emulator', emulator.url);
  stopOnSignals(() => emulator.stop());
});
