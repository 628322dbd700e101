/**
 * Entrypoint of the Semble emulator. Env: PORT (4101), HOST (127.0.0.1), SEED_PATIENTS (500),
 * SEED (42), SEMBLE_TOKEN (semble-dev-token); webhooks: SEMBLE_WEBHOOK_URL (unset: none sent),
 * SEMBLE_WEBHOOK_SECRET (semble-dev-webhook-secret), SEMBLE_WEBHOOK_SECRET_HEADER
 * (x-semble-webhook-secret).
 */
import { z } from 'zod';
import { defineEmulator, runEmulator } from '../../../lib/emulator-main';
import { startSembleEmulator } from './server';

export const entrypoint = defineEmulator({
  name: 'semble-emulator',
  defaultPort: 4101,
  tokenEnv: 'SEMBLE_TOKEN',
  defaultToken: 'semble-dev-token',
  extra: {
    shape: {
      webhookUrl: z.url().optional(),
      webhookSecret: z.string().min(1).default('semble-dev-webhook-secret'),
      webhookSecretHeader: z.string().regex(/^[A-Za-z0-9-]+$/).default('x-semble-webhook-secret'),
    },
    env: { webhookUrl: 'SEMBLE_WEBHOOK_URL', webhookSecret: 'SEMBLE_WEBHOOK_SECRET', webhookSecretHeader: 'SEMBLE_WEBHOOK_SECRET_HEADER' },
    secrets: ['webhookSecret'],
  },
  start: ({ webhookRetry, ...base }, extra) =>
    startSembleEmulator({
      ...base,
      webhook: extra.webhookUrl ? { url: extra.webhookUrl, secret: extra.webhookSecret, headerName: extra.webhookSecretHeader, ...webhookRetry } : undefined,
    }),
});

// Tests import the entrypoint (its settings; the in-process stack starts it); only running the file as a program serves it.
if (require.main === module) runEmulator(entrypoint);
