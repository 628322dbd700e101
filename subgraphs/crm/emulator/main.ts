/**
 * Entrypoint of the HubSpot emulator. Env: PORT (4102), HOST (127.0.0.1), SEED_PATIENTS (500),
 * SEED (42), HUBSPOT_TOKEN (hubspot-dev-token), HUBSPOT_RATE_LIMIT_MAX (100) requests per
 * HUBSPOT_RATE_LIMIT_WINDOW_MS (10000).
 */
import { z } from 'zod';
import { runEmulator } from '../../../lib/emulator-main';
import { startHubSpotEmulator } from './server';

runEmulator({
  name: 'hubspot-emulator',
  defaultPort: 4102,
  tokenEnv: 'HUBSPOT_TOKEN',
  defaultToken: 'hubspot-dev-token',
  extra: {
    shape: { rateLimitMax: z.number().int().min(1).default(100), rateLimitWindowMs: z.number().int().min(1).default(10_000) },
    env: { rateLimitMax: 'HUBSPOT_RATE_LIMIT_MAX', rateLimitWindowMs: 'HUBSPOT_RATE_LIMIT_WINDOW_MS' },
  },
  start: (base, extra) => startHubSpotEmulator({ ...base, rateLimit: { max: extra.rateLimitMax, windowMs: extra.rateLimitWindowMs } }),
});
