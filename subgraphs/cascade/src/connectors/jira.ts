/**
 * Jira Cloud (REST API v3): create one issue per delivery, e.g. a "review this conflict" or
 * "call the new patient" task. Basic auth with the Atlassian account's email and an API token.
 *
 *   POST {baseUrl}/rest/api/3/issue  { fields: { project: { key }, summary, issuetype: { name }, description (ADF), labels } }
 *   → 201 { id, key, self }: externalId is the key (OPS-12).
 *
 * Summary: the step's options.summary, else the text's first line (at most 255 characters).
 * Description: the whole text as Atlassian Document Format paragraphs. Jira has no idempotency
 * key; every issue carries the label cascade-<hash of the idempotency key>, so a repeat can be
 * found with JQL (`labels = cascade-…`) and closed as a duplicate.
 * Options a step may set: projectKey, issueType, summary, labels (added to the entry's).
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { attemptHttp, jsonProperty } from './http-delivery';
import { envName, fallbackText, httpConnectorSchema, matching, parseSettings, readSecret } from './settings';
import type { KindFactory } from './settings';

const projectKey = matching(/^[A-Z][A-Z0-9_]{1,9}$/, 'a Jira project key (OPS)');
const label = matching(/^\S{1,255}$/, 'a label without spaces');

export const jiraSettingsSchema = httpConnectorSchema
  .extend({
    kind: z.literal('jira'),
    /** The site, e.g. https://clinic.atlassian.net. */
    baseUrl: z.url({ protocol: /^https?$/ }),
    /** The Atlassian account the token belongs to (Basic auth user). */
    email: z.email(),
    /** The variable holding its API token. */
    apiTokenEnv: envName,
    projectKey,
    /** @default "Task" */
    issueType: z.string().min(1).default('Task'),
    /** Labels every issue gets. @default [] */
    labels: z.array(label).default([]),
  })
  .strict();

/** The label that marks every issue made for one (event, step). */
export function idempotencyLabel(idempotencyKey: string): string {
  return `cascade-${createHash('sha256').update(idempotencyKey).digest('hex').slice(0, 20)}`;
}

/** Text as Atlassian Document Format: one paragraph per line. */
function adf(text: string) {
  const paragraphs = text.split('\n').map((line) => (line === '' ? { type: 'paragraph', content: [] } : { type: 'paragraph', content: [{ type: 'text', text: line }] }));
  return { type: 'doc', version: 1, content: paragraphs };
}

const optionsSchema = z.object({ projectKey: projectKey.optional(), issueType: z.string().min(1).optional(), summary: z.string().min(1).optional(), labels: z.array(label).optional() });

export const createJiraConnector: KindFactory = (name, input, env, deps = {}) => {
  const settings = parseSettings(jiraSettingsSchema, name, input);
  const apiToken = readSecret(env, name, 'apiTokenEnv', settings.apiTokenEnv);
  const url = `${settings.baseUrl.replace(/\/+$/, '')}/rest/api/3/issue`;
  const authorization = `Basic ${Buffer.from(`${settings.email}:${apiToken}`).toString('base64')}`;
  const tag = `jira "${name}"`;
  return {
    name,
    kind: 'jira',
    fields: settings.fields,
    async send(message, signal) {
      const options = optionsSchema.safeParse(message.options);
      if (!options.success) return { status: 'failed', reason: `${tag}: step options ${options.error.issues.map((i) => i.path.join('.')).join(', ')} are not valid` };
      const text = message.text ?? fallbackText(message);
      const summary = (options.data.summary ?? text.split('\n')[0] ?? '').slice(0, 255) || fallbackText(message);
      const body = {
        fields: {
          project: { key: options.data.projectKey ?? settings.projectKey },
          summary,
          issuetype: { name: options.data.issueType ?? settings.issueType },
          description: adf(text),
          labels: [...new Set([...settings.labels, ...(options.data.labels ?? []), idempotencyLabel(message.idempotencyKey)])],
        },
      };
      const result = await attemptHttp(
        { method: 'POST', url, headers: { 'content-type': 'application/json', accept: 'application/json', authorization }, body: JSON.stringify(body) },
        { label: tag, signal, timeoutMs: settings.timeoutMs, fetch: deps.fetch },
      );
      return result.ok ? { status: 'sent', externalId: jsonProperty(result.text, 'key'), httpStatus: result.status } : result.outcome;
    },
  };
};
