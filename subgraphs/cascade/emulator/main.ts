/**
 * Entrypoint of the connectors emulator: one process standing in for every vendor a cascade
 * connector talks to (generic webhook receiver, Slack, Teams, Mailchimp, Twilio, Jira, Asana,
 * GA4, Mixpanel). Env: PORT (4107), HOST (127.0.0.1), CONNECTORS_EMULATOR_TOKEN
 * (connectors-dev-token: every vendor credential unless set below), CONNECTORS_WEBHOOK_SECRET
 * (the generic webhook's HMAC secret).
 */
import { z } from 'zod';
import { defineEmulator, runEmulator } from '../../../lib/emulator-main';
import { startConnectorsEmulator } from './server';

export const entrypoint = defineEmulator({
  name: 'connectors-emulator',
  defaultPort: 4107,
  tokenEnv: 'CONNECTORS_EMULATOR_TOKEN',
  defaultToken: 'connectors-dev-token',
  extra: {
    shape: {
      webhookSecret: z.string().min(1).optional(),
    },
    env: { webhookSecret: 'CONNECTORS_WEBHOOK_SECRET' },
    secrets: ['webhookSecret'],
  },
  // The seed world is not used: the connectors emulator only receives.
  start: (base, extra) =>
    startConnectorsEmulator({
      token: base.token,
      port: base.port,
      host: base.host,
      credentials: { webhookSecret: extra.webhookSecret },
    }),
});

// Tests import the entrypoint; only running the file as a program serves it.
if (require.main === module) runEmulator(entrypoint);
