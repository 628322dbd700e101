/**
 * Twilio SMS: POST form-encoded To, From (or MessagingServiceSid) and Body to
 * {base}/2010-04-01/Accounts/{AccountSid}/Messages.json with Basic AccountSid:AuthToken.
 * To is the patient's phone (E.164) from `toField`; Body is the step's text. externalId is the
 * Message sid (SM…). Twilio's Messages API has no idempotency key: the Idempotency-Key header
 * is sent for the record, and a retry after a timeout may send a second SMS.
 */
import { z } from 'zod';
import { attemptHttp, jsonProperty } from './http-delivery';
import { envName, fieldText, matching, httpConnectorSchema, parseSettings, readSecret, requireListedField } from './settings';
import type { KindFactory } from './settings';

export const twilioSettingsSchema = httpConnectorSchema
  .extend({
    kind: z.literal('twilio'),
    /** @default https://api.twilio.com */
    baseUrl: z.url({ protocol: /^https?$/ }).default('https://api.twilio.com'),
    /** The account SID, AC followed by 32 hex digits (not a secret). */
    accountSid: matching(/^AC[0-9a-fA-F]{32}$/, 'AC followed by 32 hex digits'),
    /** The variable holding the account's auth token. */
    authTokenEnv: envName,
    /** The sending number (E.164); or set messagingServiceSid. */
    from: matching(/^\+[1-9]\d{6,14}$/, 'a phone number in E.164 (+447700900123)').optional(),
    /** A Messaging Service (MG…) that picks the sender; or set from. */
    messagingServiceSid: matching(/^MG[0-9a-fA-F]{32}$/, 'MG followed by 32 hex digits').optional(),
    /** The field holding the patient's phone number in E.164. @default "phone" */
    toField: z.string().min(1).default('phone'),
  })
  .strict()
  .refine((settings) => (settings.from === undefined) !== (settings.messagingServiceSid === undefined), {
    message: 'exactly one of from and messagingServiceSid',
    path: ['from'],
  });

export const createTwilioConnector: KindFactory = (name, input, env, deps = {}) => {
  const settings = parseSettings(twilioSettingsSchema, name, input);
  const authToken = readSecret(env, name, 'authTokenEnv', settings.authTokenEnv);
  requireListedField(name, 'toField', settings.toField, settings.fields);
  const url = `${settings.baseUrl.replace(/\/+$/, '')}/2010-04-01/Accounts/${settings.accountSid}/Messages.json`;
  const authorization = `Basic ${Buffer.from(`${settings.accountSid}:${authToken}`).toString('base64')}`;
  const label = `twilio "${name}"`;
  return {
    name,
    kind: 'twilio',
    fields: settings.fields,
    async send(message, signal) {
      const to = fieldText(message.fields, settings.toField);
      if (!to) return { status: 'failed', reason: `${label}: the message has no ${settings.toField}` };
      if (!message.text) return { status: 'failed', reason: `${label}: the step has no text to send` };
      const form = new URLSearchParams({ To: to, Body: message.text });
      if (settings.from) form.set('From', settings.from);
      if (settings.messagingServiceSid) form.set('MessagingServiceSid', settings.messagingServiceSid);
      const result = await attemptHttp(
        { method: 'POST', url, headers: { 'content-type': 'application/x-www-form-urlencoded', authorization, 'Idempotency-Key': message.idempotencyKey }, body: form.toString() },
        { label, signal, timeoutMs: settings.timeoutMs, fetch: deps.fetch },
      );
      return result.ok ? { status: 'sent', externalId: jsonProperty(result.text, 'sid'), httpStatus: result.status } : result.outcome;
    },
  };
};
