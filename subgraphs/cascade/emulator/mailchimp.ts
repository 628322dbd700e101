/**
 * Mailchimp Marketing API 3.0, the two calls a cascade makes: upsert an audience member and tag
 * it (a tag is what starts a Customer Journey, i.e. enrols the contact in a sequence).
 * Auth: HTTP Basic with any user name and the API key as password.
 *
 *   PUT  /3.0/lists/:listId/members/:subscriberHash       { email_address, status_if_new, merge_fields } → 200 member
 *   POST /3.0/lists/:listId/members/:subscriberHash/tags  { tags: [{ name, status: "active"|"inactive" }] } → 204
 *   GET  /3.0/lists/:listId/members/:subscriberHash       → 200 member (to look at what is stored)
 *
 * The subscriber hash (Mailchimp's own idempotency: the member's address) is what the received
 * list shows as the idempotency key. The subscriber hash must be the MD5 of the lower-cased email (400 otherwise, as Mailchimp
 * does); errors are application/problem+json. Emulator simplification: every list id exists.
 */
import { createHash, randomUUID } from 'node:crypto';
import type { Express, Request, Response } from 'express';
import type { ReceivedLog } from './received';
import { basicAuth, jsonBody, rawBody } from './request-body';

interface Member {
  id: string;
  email_address: string;
  unique_email_id: string;
  status: string;
  merge_fields: Record<string, unknown>;
  tags: { id: number; name: string }[];
  list_id: string;
  last_changed: string;
}

function problem(res: Response, status: number, title: string, detail: string): void {
  res
    .status(status)
    .type('application/problem+json')
    .send(JSON.stringify({ type: 'https://mailchimp.com/developer/marketing/docs/errors/', title, status, detail, instance: randomUUID() }));
}

export interface MailchimpStore {
  member(listId: string, hash: string): Member | undefined;
}

export function mountMailchimp(app: Express, log: ReceivedLog, apiKey: string): MailchimpStore {
  const lists = new Map<string, Map<string, Member>>();
  const tagIds = new Map<string, number>();
  const listOf = (listId: string) => {
    let members = lists.get(listId);
    if (!members) lists.set(listId, (members = new Map()));
    return members;
  };
  const authorised = (req: Request) => basicAuth(req)?.[1] === apiKey;
  const unauthorised = (res: Response) => problem(res, 401, 'API Key Invalid', "Your API key may be invalid, or you've attempted to access the wrong datacenter.");

  app.put('/3.0/lists/:listId/members/:hash', (req, res) => {
    const valid = authorised(req);
    const body = jsonBody(req) as { email_address?: unknown; status_if_new?: unknown; status?: unknown; merge_fields?: unknown } | undefined;
    const record = (status: number) =>
      log.record({ vendor: 'mailchimp', method: 'PUT', path: '/3.0/lists/:listId/members/:hash', idempotencyKey: String(req.params.hash), signatureValid: valid, status, body: body ?? rawBody(req) });
    if (!valid) return (record(401), unauthorised(res));
    const { listId, hash } = req.params as { listId: string; hash: string };
    if (!body || typeof body.email_address !== 'string' || !body.email_address.includes('@')) {
      record(400);
      return problem(res, 400, 'Invalid Resource', 'The resource submitted could not be validated: email_address is required.');
    }
    if (createHash('md5').update(body.email_address.toLowerCase()).digest('hex') !== hash.toLowerCase()) {
      record(400);
      return problem(res, 400, 'Invalid Resource', 'The subscriber hash does not match the email address.');
    }
    const members = listOf(listId);
    const existing = members.get(hash.toLowerCase());
    const newStatus = typeof body.status_if_new === 'string' ? body.status_if_new : 'subscribed';
    const member: Member = {
      id: hash.toLowerCase(),
      email_address: body.email_address,
      unique_email_id: existing?.unique_email_id ?? randomUUID().slice(0, 10),
      status: typeof body.status === 'string' ? body.status : (existing?.status ?? newStatus),
      merge_fields: { ...existing?.merge_fields, ...(body.merge_fields as Record<string, unknown> | undefined) },
      tags: existing?.tags ?? [],
      list_id: listId,
      last_changed: new Date().toISOString(),
    };
    members.set(member.id, member);
    record(200);
    res.json(member);
  });

  app.post('/3.0/lists/:listId/members/:hash/tags', (req, res) => {
    const valid = authorised(req);
    const body = jsonBody(req) as { tags?: unknown } | undefined;
    const record = (status: number) =>
      log.record({ vendor: 'mailchimp', method: 'POST', path: '/3.0/lists/:listId/members/:hash/tags', idempotencyKey: String(req.params.hash), signatureValid: valid, status, body: body ?? rawBody(req) });
    if (!valid) return (record(401), unauthorised(res));
    const member = listOf(req.params.listId as string).get(String(req.params.hash).toLowerCase());
    if (!member) return (record(404), problem(res, 404, 'Resource Not Found', 'The requested resource could not be found.'));
    const tags = Array.isArray(body?.tags) ? (body.tags as { name?: unknown; status?: unknown }[]) : undefined;
    if (!tags || tags.some((tag) => typeof tag?.name !== 'string' || (tag.status !== 'active' && tag.status !== 'inactive'))) {
      record(400);
      return problem(res, 400, 'Invalid Resource', 'tags: expected [{ name, status: "active" | "inactive" }].');
    }
    for (const tag of tags) {
      const name = tag.name as string;
      if (tag.status === 'inactive') member.tags = member.tags.filter((t) => t.name !== name);
      else if (!member.tags.some((t) => t.name === name)) {
        if (!tagIds.has(name)) tagIds.set(name, tagIds.size + 1);
        member.tags.push({ id: tagIds.get(name)!, name });
      }
    }
    record(204);
    res.status(204).end();
  });

  app.get('/3.0/lists/:listId/members/:hash', (req, res) => {
    if (!authorised(req)) return unauthorised(res);
    const member = listOf(req.params.listId as string).get(String(req.params.hash).toLowerCase());
    if (!member) return problem(res, 404, 'Resource Not Found', 'The requested resource could not be found.');
    res.json(member);
  });

  return { member: (listId, hash) => lists.get(listId)?.get(hash) };
}
