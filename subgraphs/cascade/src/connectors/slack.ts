/**
 * Slack incoming webhook: POST { text } as JSON to the webhook URL (which is its own credential,
 * so the settings name the variable holding it). Slack answers 200 "ok". Slack has no
 * idempotency mechanism: the Idempotency-Key header is sent for receivers that read it, and a
 * retry after an unknown outcome (a timeout) may post twice.
 */
import { z } from 'zod';
import { attemptHttp } from './http-delivery';
import { envName, fallbackText, httpConnectorSchema, parseSettings, readSecretUrl } from './settings';
import type { KindFactory } from './settings';

export const slackSettingsSchema = httpConnectorSchema
  .extend({
    kind: z.literal('slack'),
    /** The variable holding the incoming webhook URL (https://hooks.slack.com/services/T…/B…/…). */
    urlEnv: envName,
  })
  .strict();

export const createSlackConnector: KindFactory = (name, input, env, deps = {}) => {
  const settings = parseSettings(slackSettingsSchema, name, input);
  const url = readSecretUrl(env, name, 'urlEnv', settings.urlEnv);
  return {
    name,
    kind: 'slack',
    fields: settings.fields,
    async send(message, signal) {
      const result = await attemptHttp(
        {
          method: 'POST',
          url,
          headers: { 'content-type': 'application/json', 'Idempotency-Key': message.idempotencyKey },
          body: JSON.stringify({ text: message.text ?? fallbackText(message) }),
        },
        { label: `slack "${name}"`, signal, timeoutMs: settings.timeoutMs, fetch: deps.fetch },
      );
      return result.ok ? { status: 'sent', httpStatus: result.status } : result.outcome;
    },
  };
};
