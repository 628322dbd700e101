/**
 * Entrypoint of the HubSpot emulator. Env: PORT (4102), HOST (127.0.0.1), SEED_PATIENTS (500),
 * SEED (42), HUBSPOT_TOKEN (hubspot-dev-token), HUBSPOT_RATE_LIMIT_MAX (100) requests per
 * HUBSPOT_RATE_LIMIT_WINDOW_MS (10000); webhooks: HUBSPOT_WEBHOOK_URL (unset: none sent),
 * HUBSPOT_CLIENT_SECRET (hubspot-dev-client-secret, the v3 signing key).
 */
import { z } from 'zod';
import { defineEmulator, runEmulator } from '../../../lib/emulator-main';
import { startHubSpotEmulator } from './server';

export const entrypoint = defineEmulator({
  name: 'hubspot-emulator',
  defaultPort: 4102,
  tokenEnv: 'HUBSPOT_TOKEN',
  defaultToken: 'hubspot-dev-token',
  extra: {
    shape: {
      rateLimitMax: z.number().int().min(1).default(100),
      rateLimitWindowMs: z.number().int().min(1).default(10_000),
      webhookUrl: z.url().optional(),
      clientSecret: z.string().min(1).default('hubspot-dev-client-secret'),
    },
    env: {
      rateLimitMax: 'HUBSPOT_RATE_LIMIT_MAX',
      rateLimitWindowMs: 'HUBSPOT_RATE_LIMIT_WINDOW_MS',
      webhookUrl: 'HUBSPOT_WEBHOOK_URL',
      clientSecret: 'HUBSPOT_CLIENT_SECRET',
    },
    secrets: ['clientSecret'],
  },
  start: ({ webhookRetry, ...base }, extra) =>
    startHubSpotEmulator({
      ...base,
      rateLimit: { max: extra.rateLimitMax, windowMs: extra.rateLimitWindowMs },
      webhook: extra.webhookUrl ? { url: extra.webhookUrl, secret: extra.clientSecret, ...webhookRetry } : undefined,
    }),
});

// Tests import the entrypoint (its settings; the in-process stack starts it); only running the file as a program serves it.
if (require.main === module) runEmulator(entrypoint);
