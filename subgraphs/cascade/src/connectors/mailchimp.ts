/**
 * Mailchimp (Marketing API 3.0): upsert the patient as an audience member, then add a tag, the
 * usual trigger of a Customer Journey (a sequence). Auth: Basic with any user and the API key.
 *
 *   PUT  {base}/3.0/lists/{listId}/members/{md5(lower-cased email)}  { email_address, status_if_new, merge_fields }
 *   POST {base}/3.0/lists/{listId}/members/{hash}/tags                 { tags: [{ name, status: "active" }] }
 *
 * Both calls are idempotent by nature (the member is addressed by its hash, a tag is added once),
 * so a repeat changes nothing; the tag is added only after the upsert succeeded. externalId is
 * the member's id (the hash). The base URL's data centre comes from the key's suffix ("…-us21").
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { ConfigError } from '../../../../lib/config';
import { attemptHttp, jsonProperty } from './http-delivery';
import { envName, fieldText, httpConnectorSchema, parseSettings, readSecret, requireListedField } from './settings';
import type { KindFactory } from './settings';

export const mailchimpSettingsSchema = httpConnectorSchema
  .extend({
    kind: z.literal('mailchimp'),
    /** The variable holding the API key ("<key>-<dc>"). */
    apiKeyEnv: envName,
    /** @default https://<dc>.api.mailchimp.com, the data centre taken from the key */
    baseUrl: z.url({ protocol: /^https?$/ }).optional(),
    /** The audience (list) id. */
    listId: z.string().min(1).max(64),
    /** The field holding the email address. @default "email" */
    emailField: z.string().min(1).default('email'),
    /** Merge tag → field, e.g. { FNAME: "firstName" }. @default {} */
    mergeFields: z
      .record(z.string(), z.string().min(1))
      .superRefine((record, context) => {
        for (const tag of Object.keys(record)) {
          if (!/^[A-Z0-9_]{1,10}$/.test(tag)) context.addIssue({ code: 'custom', path: [tag], message: 'a merge tag (A-Z, 0-9, _; at most 10) as this key' });
        }
      })
      .default({}),
    /** The tag that enrols in a sequence, unless the step's options.tag names another. @default none */
    tag: z.string().min(1).max(100).optional(),
    /**
     * The status a new member gets. "pending" sends Mailchimp's double opt-in email; use
     * "subscribed" only when the patient's marketing consent is recorded. @default "pending"
     */
    statusIfNew: z.enum(['pending', 'subscribed', 'transactional']).default('pending'),
  })
  .strict();

export function subscriberHash(email: string): string {
  return createHash('md5').update(email.toLowerCase()).digest('hex');
}

export const createMailchimpConnector: KindFactory = (name, input, env, deps = {}) => {
  const settings = parseSettings(mailchimpSettingsSchema, name, input);
  const apiKey = readSecret(env, name, 'apiKeyEnv', settings.apiKeyEnv);
  requireListedField(name, 'emailField', settings.emailField, settings.fields);
  for (const [tag, field] of Object.entries(settings.mergeFields)) requireListedField(name, `mergeFields.${tag}`, field, settings.fields);
  const dataCentre = /-([a-z]+\d+)$/.exec(apiKey)?.[1];
  const baseUrl = (settings.baseUrl ?? (dataCentre ? `https://${dataCentre}.api.mailchimp.com` : undefined))?.replace(/\/+$/, '');
  if (!baseUrl) throw new ConfigError([`connectors.${name}.baseUrl: expected a URL, or an API key in ${settings.apiKeyEnv} ending in its data centre ("-us21"), found neither`]);
  const headers = { 'content-type': 'application/json', authorization: `Basic ${Buffer.from(`cascade:${apiKey}`).toString('base64')}` };
  const label = `mailchimp "${name}"`;

  return {
    name,
    kind: 'mailchimp',
    fields: settings.fields,
    async send(message, signal) {
      const email = settings.fields.includes(settings.emailField) ? fieldText(message.fields, settings.emailField) : undefined;
      if (!email) return { status: 'failed', reason: `${label}: the message has no ${settings.emailField}` };
      const mergeFields: Record<string, string | number> = {};
      for (const [tag, field] of Object.entries(settings.mergeFields)) {
        const value = message.fields[field];
        if (value !== undefined && value !== null) mergeFields[tag] = typeof value === 'number' ? value : String(value);
      }
      const hash = subscriberHash(email);
      const memberUrl = `${baseUrl}/3.0/lists/${encodeURIComponent(settings.listId)}/members/${hash}`;
      const context = { label, signal, timeoutMs: settings.timeoutMs, fetch: deps.fetch };
      const upsert = await attemptHttp(
        { method: 'PUT', url: memberUrl, headers, body: JSON.stringify({ email_address: email, status_if_new: settings.statusIfNew, merge_fields: mergeFields }) },
        context,
      );
      if (!upsert.ok) return upsert.outcome;
      const externalId = jsonProperty(upsert.text, 'id') ?? hash;
      const tag = typeof message.options.tag === 'string' && message.options.tag !== '' ? message.options.tag : settings.tag;
      if (!tag) return { status: 'sent', externalId, httpStatus: upsert.status };
      const tagged = await attemptHttp({ method: 'POST', url: `${memberUrl}/tags`, headers, body: JSON.stringify({ tags: [{ name: tag, status: 'active' }] }) }, context);
      return tagged.ok ? { status: 'sent', externalId, httpStatus: tagged.status } : tagged.outcome;
    },
  };
};
