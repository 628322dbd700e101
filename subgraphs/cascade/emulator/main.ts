/**
 * Entrypoint of the connectors emulator: one process standing in for every vendor a cascade
 * connector talks to (generic webhook receiver, Slack, Teams, Mailchimp, Twilio, Jira, Asana,
 * GA4, Mixpanel). Env: PORT (4107), HOST (127.0.0.1), CONNECTORS_EMULATOR_TOKEN
 * (connectors-dev-token: every vendor credential unless set below), CONNECTORS_WEBHOOK_SECRET
 * (the generic webhook's HMAC secret; @default the token), CONNECTORS_TWILIO_ACCOUNT_SID
 * (AC + 32 zeros), CONNECTORS_JIRA_EMAIL (cascade@clinic.example).
 */
import { z } from 'zod';
import { defineEmulator, runEmulator } from '../../../lib/emulator-main';
import { DEFAULT_JIRA_EMAIL, DEFAULT_TWILIO_ACCOUNT_SID, startConnectorsEmulator } from './server';

export const entrypoint = defineEmulator({
  name: 'connectors-emulator',
  defaultPort: 4107,
  tokenEnv: 'CONNECTORS_EMULATOR_TOKEN',
  defaultToken: 'connectors-dev-token',
  extra: {
    shape: {
      webhookSecret: z.string().min(1).optional(),
      twilioAccountSid: z.string().regex(/^AC[0-9a-fA-F]{32}$/).default(DEFAULT_TWILIO_ACCOUNT_SID),
      jiraEmail: z.email().default(DEFAULT_JIRA_EMAIL),
    },
    env: { webhookSecret: 'CONNECTORS_WEBHOOK_SECRET', twilioAccountSid: 'CONNECTORS_TWILIO_ACCOUNT_SID', jiraEmail: 'CONNECTORS_JIRA_EMAIL' },
    secrets: ['webhookSecret'],
  },
  // The seed world is not used: the connectors emulator only receives.
  start: (base, extra) =>
    startConnectorsEmulator({
      token: base.token,
      port: base.port,
      host: base.host,
      credentials: { webhookSecret: extra.webhookSecret, twilioAccountSid: extra.twilioAccountSid, jiraEmail: extra.jiraEmail },
    }),
});

// Tests import the entrypoint; only running the file as a program serves it.
if (require.main === module) runEmulator(entrypoint);
