/**
 * Slack and Microsoft Teams incoming webhooks. In both the URL is the credential: a request to a
 * URL whose secret part is wrong is refused as the vendor refuses it.
 *
 *   POST /services/:teamId/:botId/:secret        Slack: JSON { text, blocks? } → 200 "ok";
 *        bad secret 403 "invalid_token", not JSON 400 "invalid_payload", no text 400 "no_text"
 *   POST /workflows/:workflowId/triggers/manual/paths/invoke?api-version=&sp=&sv=&sig=<secret>
 *                                                Teams (Workflows, the current way): → 202 empty;
 *        bad sig 401 { error: { code: "DirectApiAuthorizationRequired" } }, not JSON 400
 *   POST /webhookb2/:groupAtTenant/IncomingWebhook/:secret/:userId
 *                                                Teams (Office 365 connector, retiring): → 200 "1";
 *        bad secret 404, a body with neither `text` nor `attachments` 400
 */
import type { Express } from 'express';
import type { ReceivedLog } from './received';
import { header, jsonBody, rawBody } from './request-body';

export function mountSlack(app: Express, log: ReceivedLog, secret: string): void {
  app.post('/services/:teamId/:botId/:secret', (req, res) => {
    const valid = req.params.secret === secret;
    const body = jsonBody(req) as { text?: unknown; blocks?: unknown } | undefined;
    const [status, answer] = !valid
      ? [403, 'invalid_token']
      : body === undefined || typeof body !== 'object'
        ? [400, 'invalid_payload']
        : typeof body.text !== 'string' && !Array.isArray(body.blocks)
          ? [400, 'no_text']
          : [200, 'ok'];
    log.record({ vendor: 'slack', method: 'POST', path: '/services/:teamId/:botId/:secret', idempotencyKey: header(req, 'idempotency-key'), signatureValid: valid, status, body: body ?? rawBody(req) });
    res.status(status).type('text/plain').send(answer);
  });
}

export function mountTeams(app: Express, log: ReceivedLog, secret: string): void {
  app.post('/workflows/:workflowId/triggers/manual/paths/invoke', (req, res) => {
    const valid = req.query.sig === secret;
    const body = jsonBody(req);
    const status = !valid ? 401 : body === undefined ? 400 : 202;
    log.record({ vendor: 'teams', method: 'POST', path: '/workflows/:workflowId/triggers/manual/paths/invoke', idempotencyKey: header(req, 'idempotency-key'), signatureValid: valid, status, body: body ?? rawBody(req) });
    if (status === 401) res.status(401).json({ error: { code: 'DirectApiAuthorizationRequired', message: 'The request must be authenticated.' } });
    else if (status === 400) res.status(400).json({ error: { code: 'InvalidRequestContent', message: 'The request content is not valid JSON.' } });
    else res.status(202).end();
  });
  app.post('/webhookb2/:groupAtTenant/IncomingWebhook/:secret/:userId', (req, res) => {
    const valid = req.params.secret === secret;
    const body = jsonBody(req) as { text?: unknown; attachments?: unknown } | undefined;
    const status = !valid ? 404 : !body || (typeof body.text !== 'string' && !Array.isArray(body.attachments)) ? 400 : 200;
    log.record({ vendor: 'teams', method: 'POST', path: '/webhookb2/:groupAtTenant/IncomingWebhook/:secret/:userId', idempotencyKey: header(req, 'idempotency-key'), signatureValid: valid, status, body: body ?? rawBody(req) });
    res.status(status).type('text/plain').send(status === 200 ? '1' : status === 404 ? 'Webhook not found' : 'Bad payload received by generic incoming webhook.');
  });
}
