/**
 * One emulator for every vendor a cascade connector talks to. Each vendor's routes are on that
 * vendor's real paths (they do not collide), check that vendor's credentials the way it does,
 * and answer in its shape; everything received is listed for tests.
 *
 *   POST /hooks/:name                                           generic signed webhook (generic-webhook.ts)
 *   POST /services/:teamId/:botId/:secret                       Slack incoming webhook (chat.ts)
 *   POST /workflows/:id/triggers/manual/paths/invoke?…&sig=     Teams Workflows webhook (chat.ts)
 *   POST /webhookb2/:group/IncomingWebhook/:secret/:user        Teams Office 365 connector (chat.ts)
 *   PUT  /3.0/lists/:listId/members/:hash, POST …/:hash/tags    Mailchimp (mailchimp.ts)
 *   POST /2010-04-01/Accounts/:sid/Messages.json                Twilio SMS (twilio.ts)
 *   POST /rest/api/3/issue                                      Jira Cloud (tasks.ts)
 *   POST /api/1.0/tasks                                         Asana (tasks.ts)
 *   POST /mp/collect, /debug/mp/collect                         GA4 Measurement Protocol (analytics.ts)
 *   POST /import                                                Mixpanel (analytics.ts)
 *
 * Admin (not counted, not subject to faults):
 *   GET    /__admin/received?vendor=slack   → [{ vendor, at, method, path, idempotencyKey?, eventId?, signatureValid, duplicate, status, body }]
 *   DELETE /__admin/received                → forget them
 * and lib/emulator.ts's /__admin/requests and /__admin/faults. To make one vendor fail for a
 * while: POST /__admin/faults { "pathPrefix": "/services/", "status": 503, "retryAfterSeconds": 2, "times": 3 }
 * (the first fault whose pathPrefix matches answers; DELETE /__admin/faults ends them).
 */
import express from 'express';
import { createEmulatorApp } from '../../../lib/emulator';
import { listen } from '../../../lib/listen';
import type { Listening } from '../../../lib/listen';
import { CONNECTOR_VENDORS, createReceivedLog } from './received';
import type { ReceivedRequest } from './received';
import { mountGenericWebhookReceiver } from './generic-webhook';
import { mountSlack, mountTeams } from './chat';
import { mountMailchimp } from './mailchimp';
import type { MailchimpStore } from './mailchimp';
import { mountTwilio } from './twilio';
import { mountAsana, mountJira } from './tasks';
import { mountGa4, mountMixpanel } from './analytics';

/** The credentials each vendor route accepts. */
export interface ConnectorsEmulatorCredentials {
  /** HMAC secret of the generic webhook (/hooks/:name). */
  webhookSecret: string;
  /** The last segment of a Slack incoming webhook URL. */
  slackSecret: string;
  /** The `sig` of a Teams Workflows URL, or the secret segment of a webhookb2 URL. */
  teamsSecret: string;
  /** The API key (Basic auth password). */
  mailchimpApiKey: string;
  /** The account (Basic auth user and path). @default AC followed by 32 zeros */
  twilioAccountSid: string;
  twilioAuthToken: string;
  /** The Atlassian account's email (Basic auth user). @default cascade@clinic.example */
  jiraEmail: string;
  jiraApiToken: string;
  /** A personal access token (Bearer). */
  asanaToken: string;
  /** The Measurement Protocol API secret. */
  ga4ApiSecret: string;
  /** The project's API secret (Basic auth user, empty password). */
  mixpanelSecret: string;
}

export const DEFAULT_TWILIO_ACCOUNT_SID = `AC${'0'.repeat(32)}`;
export const DEFAULT_JIRA_EMAIL = 'cascade@clinic.example';

export interface ConnectorsEmulatorOptions {
  /** The development credential every vendor accepts unless `credentials` says otherwise. */
  token: string;
  /** Per-vendor credentials. @default each is `token` */
  credentials?: Partial<ConnectorsEmulatorCredentials>;
  /** @default 0 (any free port) */
  port?: number;
  /** @default 127.0.0.1 */
  host?: string;
  /** The generic webhook's timestamp window. @default 300000 */
  webhookToleranceMs?: number;
  /** Clock for timestamps checks and `at`. @default Date.now */
  now?: () => number;
}

export interface ConnectorsEmulator extends Listening {
  received(vendor?: string): ReceivedRequest[];
  clearReceived(): void;
  /** Mailchimp audience members as stored (to check an upsert and its tags). */
  mailchimp: MailchimpStore;
  credentials: ConnectorsEmulatorCredentials;
}

export function resolveCredentials(options: Pick<ConnectorsEmulatorOptions, 'token' | 'credentials'>): ConnectorsEmulatorCredentials {
  const token = options.token;
  return {
    webhookSecret: token,
    slackSecret: token,
    teamsSecret: token,
    mailchimpApiKey: token,
    twilioAccountSid: DEFAULT_TWILIO_ACCOUNT_SID,
    twilioAuthToken: token,
    jiraEmail: DEFAULT_JIRA_EMAIL,
    jiraApiToken: token,
    asanaToken: token,
    ga4ApiSecret: token,
    mixpanelSecret: token,
    ...Object.fromEntries(Object.entries(options.credentials ?? {}).filter(([, value]) => value !== undefined)),
  };
}

export function createConnectorsEmulatorApp(options: ConnectorsEmulatorOptions): { app: express.Express; received: ReturnType<typeof createReceivedLog>; mailchimp: MailchimpStore } {
  const credentials = resolveCredentials(options);
  const log = createReceivedLog(options.now);
  const { app: vendors } = createEmulatorApp();
  mountGenericWebhookReceiver(vendors, log, { secret: credentials.webhookSecret, toleranceMs: options.webhookToleranceMs, now: options.now });
  mountSlack(vendors, log, credentials.slackSecret);
  mountTeams(vendors, log, credentials.teamsSecret);
  const mailchimp = mountMailchimp(vendors, log, credentials.mailchimpApiKey);
  mountTwilio(vendors, log, { accountSid: credentials.twilioAccountSid, authToken: credentials.twilioAuthToken });
  mountJira(vendors, log, { email: credentials.jiraEmail, apiToken: credentials.jiraApiToken });
  mountAsana(vendors, log, credentials.asanaToken);
  mountGa4(vendors, log, credentials.ga4ApiSecret);
  mountMixpanel(vendors, log, credentials.mixpanelSecret);

  const app = express();
  app.disable('x-powered-by');
  app.get('/__admin/received', (req, res) => {
    const vendor = typeof req.query.vendor === 'string' ? req.query.vendor : undefined;
    if (vendor !== undefined && !(CONNECTOR_VENDORS as readonly string[]).includes(vendor)) {
      res.status(400).json({ error: `vendor: expected one of ${CONNECTOR_VENDORS.join(', ')}` });
      return;
    }
    res.json(log.list(vendor));
  });
  app.delete('/__admin/received', (_req, res) => {
    log.clear();
    res.status(204).end();
  });
  // Vendor bodies are kept as raw bytes (the webhook HMAC is over them) and parsed by each route
  // as its vendor does; an already-read body is left alone by the vendor app's JSON parser.
  const raw = express.raw({ type: () => true, limit: '1mb' });
  app.use((req, res, next) => (req.path.startsWith('/__admin') ? next() : raw(req, res, next)));
  app.use(vendors);
  return { app, received: log, mailchimp };
}

export async function startConnectorsEmulator(options: ConnectorsEmulatorOptions): Promise<ConnectorsEmulator> {
  const { app, received, mailchimp } = createConnectorsEmulatorApp(options);
  const listening = await listen(app, options.port ?? 0, options.host ?? '127.0.0.1');
  return { ...listening, received: (vendor) => received.list(vendor), clearReceived: () => received.clear(), mailchimp, credentials: resolveCredentials(options) };
}
