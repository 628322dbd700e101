/**
 * Entrypoint of the GoCardless emulator (its own process, next to the Stripe one). Env: PORT
 * (4106), HOST (127.0.0.1), SEED_PATIENTS (500), SEED (42), GOCARDLESS_ACCESS_TOKEN
 * (gocardless-dev-token); webhooks: GOCARDLESS_WEBHOOK_URL (unset: none sent),
 * GOCARDLESS_WEBHOOK_SECRET (gocardless-dev-webhook-secret, the Webhook-Signature key).
 */
import { z } from 'zod';
import { defineEmulator, runEmulator } from '../../../lib/emulator-main';
import { startGoCardlessEmulator } from './gocardless';

export const entrypoint = defineEmulator({
  name: 'gocardless-emulator',
  defaultPort: 4106,
  tokenEnv: 'GOCARDLESS_ACCESS_TOKEN',
  defaultToken: 'gocardless-dev-token',
  extra: {
    shape: {
      webhookUrl: z.url().optional(),
      webhookSecret: z.string().min(1).default('gocardless-dev-webhook-secret'),
    },
    env: { webhookUrl: 'GOCARDLESS_WEBHOOK_URL', webhookSecret: 'GOCARDLESS_WEBHOOK_SECRET' },
    secrets: ['webhookSecret'],
  },
  start: ({ webhookRetry, ...base }, extra) =>
    startGoCardlessEmulator({
      ...base,
      webhook: extra.webhookUrl ? { url: extra.webhookUrl, secret: extra.webhookSecret, ...webhookRetry } : undefined,
    }),
});

// Tests import the entrypoint (its settings; the in-process stack starts it); only running the file as a program serves it.
if (require.main === module) runEmulator(entrypoint);
