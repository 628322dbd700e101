/**
 * Google Analytics 4 Measurement Protocol: one event per delivery, ids and event attributes only
 * (the entry's fields are checked against the PHI rule when the configuration is read).
 *
 *   POST {baseUrl}/mp/collect?measurement_id=G-…&api_secret=…
 *        { client_id, events: [{ name: "patient_created", params: { step, cascade_key, ...fields } }] }
 *   → 2xx with an empty body, always: GA4 does not say whether it kept the event. A wrong secret or
 *     a malformed event is dropped silently; check a configuration against /debug/mp/collect.
 *
 * The event name is the event type with dots and dashes as underscores (GA4: letters, digits,
 * underscores, at most 40). client_id is the id in `clientIdField` (GA4's own user_id is not
 * set: Google's policy forbids anything that identifies a person there). GA4 does not
 * deduplicate Measurement Protocol events: cascade_key (a hash of the idempotency key) lets a
 * BigQuery export drop repeats.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { assertAnalyticsFields } from './phi';
import { attemptHttp } from './http-delivery';
import { allowedFields, envName, fieldText, httpConnectorSchema, matching, parseSettings, readSecret, requireListedField } from './settings';
import type { KindFactory } from './settings';

export const ga4SettingsSchema = httpConnectorSchema
  .extend({
    kind: z.literal('ga4'),
    /** @default https://www.google-analytics.com (EU collection: https://region1.google-analytics.com) */
    baseUrl: z.url({ protocol: /^https?$/ }).default('https://www.google-analytics.com'),
    measurementId: matching(/^G-[A-Z0-9]{4,20}$/, 'a GA4 measurement id (G-XXXXXXX)'),
    /** The variable holding the Measurement Protocol API secret. */
    apiSecretEnv: envName,
    /** The id field that becomes client_id. @default "patientId" */
    clientIdField: z.string().min(1).default('patientId'),
  })
  .strict();

/** "appointment.booked" → "appointment_booked": GA4's event name rules. */
export function ga4EventName(eventType: string): string {
  const name = eventType.replace(/[^A-Za-z0-9_]/g, '_').replace(/^[^A-Za-z]+/, '');
  return (name || 'cascade_event').slice(0, 40);
}

export const createGa4Connector: KindFactory = (name, input, env, deps = {}) => {
  const settings = parseSettings(ga4SettingsSchema, name, input);
  assertAnalyticsFields(name, settings.fields);
  requireListedField(name, 'clientIdField', settings.clientIdField, settings.fields);
  const apiSecret = readSecret(env, name, 'apiSecretEnv', settings.apiSecretEnv);
  const query = new URLSearchParams({ measurement_id: settings.measurementId, api_secret: apiSecret });
  const url = `${settings.baseUrl.replace(/\/+$/, '')}/mp/collect?${query.toString()}`;
  const label = `ga4 "${name}"`;
  return {
    name,
    kind: 'ga4',
    fields: settings.fields,
    async send(message, signal) {
      const clientId = fieldText(message.fields, settings.clientIdField);
      if (!clientId) return { status: 'failed', reason: `${label}: the message has no ${settings.clientIdField}` };
      const params: Record<string, string | number> = {};
      for (const [field, value] of Object.entries(allowedFields(message.fields, settings.fields))) {
        // GA4 takes strings (at most 100 characters) and numbers.
        if (typeof value === 'number') params[field] = value;
        else if (value !== null) params[field] = String(value).slice(0, 100);
      }
      const time = Date.parse(message.occurredAt);
      const body = {
        client_id: clientId,
        ...(Number.isNaN(time) ? {} : { timestamp_micros: time * 1000 }),
        events: [
          {
            name: typeof message.options.event === 'string' && message.options.event !== '' ? ga4EventName(message.options.event) : ga4EventName(message.eventType),
            params: { ...params, step: message.step.slice(0, 100), cascade_key: createHash('sha256').update(message.idempotencyKey).digest('hex').slice(0, 32) },
          },
        ],
      };
      const result = await attemptHttp({ method: 'POST', url, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }, { label, signal, timeoutMs: settings.timeoutMs, fetch: deps.fetch });
      return result.ok ? { status: 'sent', httpStatus: result.status } : result.outcome;
    },
  };
};
