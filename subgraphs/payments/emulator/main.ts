/**
 * Entrypoint of the Stripe emulator. Env: PORT (4103), HOST (127.0.0.1), SEED_PATIENTS (500),
 * SEED (42), STRIPE_SECRET_KEY (sk_test_patientgraph), STRIPE_SEARCH_MAX_CLAUSES (10);
 * webhooks: STRIPE_WEBHOOK_URL (unset: none sent), STRIPE_WEBHOOK_SECRET
 * (whsec_patientgraph_dev, the Stripe-Signature key).
 */
import { z } from 'zod';
import { defineEmulator, runEmulator } from '../../../lib/emulator-main';
import { startStripeEmulator } from './server';

export const entrypoint = defineEmulator({
  name: 'stripe-emulator',
  defaultPort: 4103,
  tokenEnv: 'STRIPE_SECRET_KEY',
  defaultToken: 'sk_test_patientgraph',
  extra: {
    shape: {
      maxSearchClauses: z.number().int().min(1).default(10),
      webhookUrl: z.url().optional(),
      webhookSecret: z.string().min(1).default('whsec_patientgraph_dev'),
    },
    env: { maxSearchClauses: 'STRIPE_SEARCH_MAX_CLAUSES', webhookUrl: 'STRIPE_WEBHOOK_URL', webhookSecret: 'STRIPE_WEBHOOK_SECRET' },
    secrets: ['webhookSecret'],
  },
  start: ({ webhookRetry, ...base }, extra) =>
    startStripeEmulator({
      ...base,
      maxSearchClauses: extra.maxSearchClauses,
      webhook: extra.webhookUrl ? { url: extra.webhookUrl, secret: extra.webhookSecret, ...webhookRetry } : undefined,
    }),
});

// Tests import the entrypoint (its settings; the in-process stack starts it); only running the file as a program serves it.
if (require.main === module) runEmulator(entrypoint);
