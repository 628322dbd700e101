/**
 * The generic signed webhook: what n8n, Zapier, Make or any HTTPS endpoint consumes. One JSON
 * POST per delivery, signed as webhook-signature.ts describes.
 *
 *   { "id": idempotencyKey, "eventId", "type": eventType, "occurredAt", "step", "data": fields, "text"? }
 */
import { z } from 'zod';
import { attemptHttp } from './http-delivery';
import { EVENT_ID_HEADER, IDEMPOTENCY_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER, signWebhookBody } from './webhook-signature';
import { allowedFields, envName, httpConnectorSchema, parseSettings, readSecret } from './settings';
import type { KindFactory } from './settings';

export const webhookSettingsSchema = httpConnectorSchema
  .extend({
    kind: z.literal('webhook'),
    /** Where deliveries are POSTed (an n8n/Zapier webhook URL, a clinic endpoint). */
    url: z.url({ protocol: /^https?$/ }),
    /** The variable holding the shared HMAC secret. */
    secretEnv: envName,
  })
  .strict();
export type WebhookSettings = z.infer<typeof webhookSettingsSchema>;

export const createWebhookConnector: KindFactory = (name, input, env, deps = {}) => {
  const settings = parseSettings(webhookSettingsSchema, name, input);
  const secret = readSecret(env, name, 'secretEnv', settings.secretEnv);
  const now = deps.now ?? Date.now;
  return {
    name,
    kind: 'webhook',
    fields: settings.fields,
    async send(message, signal) {
      const body = JSON.stringify({
        id: message.idempotencyKey,
        eventId: message.eventId,
        type: message.eventType,
        occurredAt: message.occurredAt,
        step: message.step,
        data: allowedFields(message.fields, settings.fields),
        ...(message.text === undefined ? {} : { text: message.text }),
      });
      const timestamp = Math.floor(now() / 1000);
      const result = await attemptHttp(
        {
          method: 'POST',
          url: settings.url,
          headers: {
            'content-type': 'application/json',
            'user-agent': 'patient-graph-cascade',
            [TIMESTAMP_HEADER]: String(timestamp),
            [SIGNATURE_HEADER]: signWebhookBody(secret, timestamp, body),
            [EVENT_ID_HEADER]: message.eventId,
            [IDEMPOTENCY_HEADER]: message.idempotencyKey,
          },
          body,
        },
        { label: `webhook "${name}"`, signal, timeoutMs: settings.timeoutMs, fetch: deps.fetch },
      );
      return result.ok ? { status: 'sent', httpStatus: result.status } : result.outcome;
    },
  };
};
