/**
 * Task trackers: Jira Cloud REST v3 and Asana, creating one issue / task.
 *
 *   POST /rest/api/3/issue   Jira, Basic email:apiToken; { fields: { project: { key }, summary, issuetype: { name }, description?, labels? } }
 *        → 201 { id, key, self }; 401 text; 400 { errorMessages, errors: { field: message } }
 *   POST /api/1.0/tasks      Asana, Bearer <personal access token>; { data: { name, notes?, projects: [gid] | workspace } }
 *        → 201 { data: { gid, resource_type: "task", name, … } }; 401/400 { errors: [{ message }] }
 */
import type { Express, Request } from 'express';
import { bearerToken } from '../../../lib/emulator';
import type { ReceivedLog } from './received';
import { basicAuth, header, jsonBody, rawBody } from './request-body';

export function mountJira(app: Express, log: ReceivedLog, credentials: { email: string; apiToken: string }): void {
  const counters = new Map<string, number>();
  let nextId = 10000;
  app.post('/rest/api/3/issue', (req, res) => {
    const auth = basicAuth(req);
    const valid = auth?.[0] === credentials.email && auth[1] === credentials.apiToken;
    const body = jsonBody(req) as { fields?: Record<string, unknown> } | undefined;
    const labels = (body?.fields?.labels as unknown[] | undefined)?.filter((label): label is string => typeof label === 'string');
    const record = (status: number) =>
      log.record({
        vendor: 'jira',
        method: 'POST',
        path: '/rest/api/3/issue',
        idempotencyKey: labels?.find((label) => label.startsWith('cascade-')),
        signatureValid: valid,
        status,
        body: body ?? rawBody(req),
      });
    if (!valid) {
      record(401);
      return void res.status(401).type('text/plain').send('Client must be authenticated to access this resource.');
    }
    const fields = body?.fields ?? {};
    const errors: Record<string, string> = {};
    const projectKey = (fields.project as { key?: unknown } | undefined)?.key;
    if (typeof projectKey !== 'string' || !/^[A-Z][A-Z0-9_]+$/.test(projectKey)) errors.project = 'Specify a valid project ID or key';
    if (typeof fields.summary !== 'string' || fields.summary.trim() === '') errors.summary = 'You must specify a summary of the issue.';
    else if (fields.summary.length > 255) errors.summary = 'Summary must be less than 255 characters.';
    if (typeof (fields.issuetype as { name?: unknown } | undefined)?.name !== 'string') errors.issuetype = 'Specify an issue type';
    if (labels?.some((label) => /\s/.test(label))) errors.labels = 'Labels cannot contain spaces.';
    if (Object.keys(errors).length > 0) {
      record(400);
      return void res.status(400).json({ errorMessages: [], errors });
    }
    const number = (counters.get(projectKey as string) ?? 0) + 1;
    counters.set(projectKey as string, number);
    nextId += 1;
    record(201);
    res.status(201).json({ id: String(nextId), key: `${projectKey as string}-${number}`, self: `${req.protocol}://${req.get('host')}/rest/api/3/issue/${nextId}` });
  });
}

export function mountAsana(app: Express, log: ReceivedLog, token: string): void {
  let nextGid = 1_200_000_000_000_000;
  app.post('/api/1.0/tasks', (req: Request, res) => {
    const valid = bearerToken(req) === token;
    const body = jsonBody(req) as { data?: Record<string, unknown> } | undefined;
    const record = (status: number) =>
      log.record({ vendor: 'asana', method: 'POST', path: '/api/1.0/tasks', idempotencyKey: header(req, 'idempotency-key'), signatureValid: valid, status, body: body ?? rawBody(req) });
    if (!valid) {
      record(401);
      return void res.status(401).json({ errors: [{ message: 'Not Authorized', help: 'For more information on API status codes and how to handle them, read the docs on errors: https://developers.asana.com/docs/errors' }] });
    }
    const data = body?.data;
    const projects = data?.projects;
    const problem = !data
      ? 'data: Missing input'
      : typeof data.name !== 'string' || data.name === ''
        ? 'name: Missing input'
        : !(Array.isArray(projects) && projects.length > 0) && typeof data.workspace !== 'string'
          ? 'workspace: Missing input'
          : undefined;
    if (problem) {
      record(400);
      return void res.status(400).json({ errors: [{ message: problem }] });
    }
    nextGid += 1;
    record(201);
    res.status(201).json({
      data: {
        gid: String(nextGid),
        resource_type: 'task',
        name: data!.name,
        notes: typeof data!.notes === 'string' ? data!.notes : '',
        completed: false,
        projects: (Array.isArray(projects) ? projects : []).map((gid) => ({ gid: String(gid), resource_type: 'project' })),
        permalink_url: `https://app.asana.com/0/0/${nextGid}`,
      },
    });
  });
}
