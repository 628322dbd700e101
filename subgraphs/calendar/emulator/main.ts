/**
 * Entrypoint of the Google Calendar emulator. Env: PORT (4104), HOST (127.0.0.1),
 * SEED_PATIENTS (500), SEED (42), GOOGLE_CALENDAR_TOKEN (google-dev-token); push
 * notifications: GOOGLE_CALENDAR_WEBHOOK_URL (unset: none sent), GOOGLE_CALENDAR_CHANNEL_ID
 * (patient-graph-dev-channel), GOOGLE_CALENDAR_CHANNEL_TOKEN (google-dev-channel-token).
 */
import { z } from 'zod';
import { defineEmulator, runEmulator } from '../../../lib/emulator-main';
import { startGoogleCalendarEmulator } from './server';

export const entrypoint = defineEmulator({
  name: 'google-calendar-emulator',
  defaultPort: 4104,
  tokenEnv: 'GOOGLE_CALENDAR_TOKEN',
  defaultToken: 'google-dev-token',
  extra: {
    shape: {
      webhookUrl: z.url().optional(),
      channelId: z.string().min(1).max(64).default('patient-graph-dev-channel'),
      channelToken: z.string().min(1).max(256).default('google-dev-channel-token'),
    },
    env: { webhookUrl: 'GOOGLE_CALENDAR_WEBHOOK_URL', channelId: 'GOOGLE_CALENDAR_CHANNEL_ID', channelToken: 'GOOGLE_CALENDAR_CHANNEL_TOKEN' },
    secrets: ['channelToken'],
  },
  start: ({ webhookRetry, ...base }, extra) =>
    startGoogleCalendarEmulator({
      ...base,
      webhook: extra.webhookUrl ? { url: extra.webhookUrl, channelId: extra.channelId, token: extra.channelToken, ...webhookRetry } : undefined,
    }),
});

// Tests import the entrypoint (its settings; the in-process stack starts it); only running the file as a program serves it.
if (require.main === module) runEmulator(entrypoint);
