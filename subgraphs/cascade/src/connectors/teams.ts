/**
 * Microsoft Teams incoming webhook: a message with one Adaptive Card, POSTed as JSON to the
 * webhook URL (a Workflows "When a Teams webhook request is received" URL, or a legacy
 * webhookb2 connector URL: both take this body). The URL is its own credential. Teams answers
 * 202 (Workflows) or 200 "1" (connector). No idempotency mechanism: as for Slack.
 */
import { z } from 'zod';
import { attemptHttp } from './http-delivery';
import { envName, fallbackText, httpConnectorSchema, parseSettings, readSecretUrl } from './settings';
import type { KindFactory } from './settings';

export const teamsSettingsSchema = httpConnectorSchema
  .extend({
    kind: z.literal('teams'),
    /** The variable holding the webhook URL. */
    urlEnv: envName,
    /** A bold first line of every card, e.g. "Front desk". @default none */
    title: z.string().min(1).max(200).optional(),
  })
  .strict();

export const createTeamsConnector: KindFactory = (name, input, env, deps = {}) => {
  const settings = parseSettings(teamsSettingsSchema, name, input);
  const url = readSecretUrl(env, name, 'urlEnv', settings.urlEnv);
  return {
    name,
    kind: 'teams',
    fields: settings.fields,
    async send(message, signal) {
      const blocks = [
        ...(settings.title ? [{ type: 'TextBlock', text: settings.title, weight: 'Bolder', size: 'Medium', wrap: true }] : []),
        { type: 'TextBlock', text: message.text ?? fallbackText(message), wrap: true },
      ];
      const body = {
        type: 'message',
        attachments: [
          {
            contentType: 'application/vnd.microsoft.card.adaptive',
            contentUrl: null,
            content: { $schema: 'http://adaptivecards.io/schemas/adaptive-card.json', type: 'AdaptiveCard', version: '1.4', body: blocks },
          },
        ],
      };
      const result = await attemptHttp(
        { method: 'POST', url, headers: { 'content-type': 'application/json', 'Idempotency-Key': message.idempotencyKey }, body: JSON.stringify(body) },
        { label: `teams "${name}"`, signal, timeoutMs: settings.timeoutMs, fetch: deps.fetch },
      );
      return result.ok ? { status: 'sent', httpStatus: result.status } : result.outcome;
    },
  };
};
