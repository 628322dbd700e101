/**
 * Asana: create one task per delivery in a project. Bearer personal access token (or OAuth token).
 *
 *   POST {baseUrl}/api/1.0/tasks  { data: { name, notes, projects: [projectGid], assignee? } }
 *   → 201 { data: { gid, … } }: externalId is the task gid.
 *
 * Name: options.name, else the text's first line; notes: the whole text. Asana has no
 * idempotency key: the Idempotency-Key header is sent for the record, and a retry after a
 * timeout may create a second task.
 */
import { z } from 'zod';
import { attemptHttp, jsonProperty } from './http-delivery';
import { envName, fallbackText, httpConnectorSchema, matching, parseSettings, readSecret } from './settings';
import type { KindFactory } from './settings';

const gid = matching(/^\d{1,32}$/, 'an Asana gid (digits)');

export const asanaSettingsSchema = httpConnectorSchema
  .extend({
    kind: z.literal('asana'),
    /** @default https://app.asana.com */
    baseUrl: z.url({ protocol: /^https?$/ }).default('https://app.asana.com'),
    /** The variable holding the access token. */
    tokenEnv: envName,
    /** The project tasks are created in. */
    projectGid: gid,
    /** Who tasks are assigned to (a user gid). @default unassigned */
    assigneeGid: gid.optional(),
  })
  .strict();

export const createAsanaConnector: KindFactory = (name, input, env, deps = {}) => {
  const settings = parseSettings(asanaSettingsSchema, name, input);
  const token = readSecret(env, name, 'tokenEnv', settings.tokenEnv);
  const url = `${settings.baseUrl.replace(/\/+$/, '')}/api/1.0/tasks`;
  return {
    name,
    kind: 'asana',
    fields: settings.fields,
    async send(message, signal) {
      const text = message.text ?? fallbackText(message);
      const optionName = typeof message.options.name === 'string' && message.options.name !== '' ? message.options.name : undefined;
      const data = {
        name: (optionName ?? text.split('\n')[0] ?? '').slice(0, 1024) || fallbackText(message),
        notes: text,
        projects: [settings.projectGid],
        ...(settings.assigneeGid ? { assignee: settings.assigneeGid } : {}),
      };
      const result = await attemptHttp(
        { method: 'POST', url, headers: { 'content-type': 'application/json', accept: 'application/json', authorization: `Bearer ${token}`, 'Idempotency-Key': message.idempotencyKey }, body: JSON.stringify({ data }) },
        { label: `asana "${name}"`, signal, timeoutMs: settings.timeoutMs, fetch: deps.fetch },
      );
      return result.ok ? { status: 'sent', externalId: jsonProperty(result.text, 'data', 'gid'), httpStatus: result.status } : result.outcome;
    },
  };
};
