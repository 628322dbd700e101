/**
 * Mixpanel (Ingestion API, /import): one event per delivery, ids and event attributes only
 * (the entry's fields are checked against the PHI rule when the configuration is read).
 * Auth: Basic with the project's API secret as user and an empty password.
 *
 *   POST {baseUrl}/import?strict=1&project_id={projectId}
 *        [{ event: eventType, properties: { time (ms), distinct_id, $insert_id, step, ...fields } }]
 *   → 200 { code: 200, num_records_imported: 1, status: "OK" }
 *
 * $insert_id is derived from the idempotency key (32 hex digits), so Mixpanel drops a repeat:
 * real deduplication. EU residency: baseUrl https://api-eu.mixpanel.com.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { assertAnalyticsFields } from './phi';
import { attemptHttp } from './http-delivery';
import { allowedFields, envName, fieldText, httpConnectorSchema, matching, parseSettings, readSecret, requireListedField } from './settings';
import type { KindFactory } from './settings';

export const mixpanelSettingsSchema = httpConnectorSchema
  .extend({
    kind: z.literal('mixpanel'),
    /** @default https://api.mixpanel.com */
    baseUrl: z.url({ protocol: /^https?$/ }).default('https://api.mixpanel.com'),
    /** The project's numeric id. */
    projectId: z.union([z.number().int().positive(), matching(/^\d+$/, 'a numeric project id')]).transform(String),
    /** The variable holding the project's API secret. */
    secretEnv: envName,
    /** The id field that becomes distinct_id. @default "patientId" */
    distinctIdField: z.string().min(1).default('patientId'),
  })
  .strict();

export function mixpanelInsertId(idempotencyKey: string): string {
  return createHash('sha256').update(idempotencyKey).digest('hex').slice(0, 32);
}

export const createMixpanelConnector: KindFactory = (name, input, env, deps = {}) => {
  const settings = parseSettings(mixpanelSettingsSchema, name, input);
  assertAnalyticsFields(name, settings.fields);
  requireListedField(name, 'distinctIdField', settings.distinctIdField, settings.fields);
  const secret = readSecret(env, name, 'secretEnv', settings.secretEnv);
  const url = `${settings.baseUrl.replace(/\/+$/, '')}/import?strict=1&project_id=${encodeURIComponent(settings.projectId)}`;
  const authorization = `Basic ${Buffer.from(`${secret}:`).toString('base64')}`;
  const label = `mixpanel "${name}"`;
  return {
    name,
    kind: 'mixpanel',
    fields: settings.fields,
    async send(message, signal) {
      const distinctId = fieldText(message.fields, settings.distinctIdField);
      if (!distinctId) return { status: 'failed', reason: `${label}: the message has no ${settings.distinctIdField}` };
      const properties: Record<string, string | number | boolean> = {};
      for (const [field, value] of Object.entries(allowedFields(message.fields, settings.fields))) if (value !== null) properties[field] = value;
      const time = Date.parse(message.occurredAt);
      const event = {
        event: typeof message.options.event === 'string' && message.options.event !== '' ? message.options.event : message.eventType,
        properties: { ...properties, step: message.step, time: Number.isNaN(time) ? Date.now() : time, distinct_id: distinctId, $insert_id: mixpanelInsertId(message.idempotencyKey) },
      };
      const result = await attemptHttp(
        { method: 'POST', url, headers: { 'content-type': 'application/json', accept: 'application/json', authorization }, body: JSON.stringify([event]) },
        { label, signal, timeoutMs: settings.timeoutMs, fetch: deps.fetch },
      );
      return result.ok ? { status: 'sent', httpStatus: result.status } : result.outcome;
    },
  };
};
