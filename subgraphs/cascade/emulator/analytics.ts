/**
 * Analytics: GA4 Measurement Protocol and Mixpanel's import API.
 *
 *   POST /mp/collect?measurement_id=G-…&api_secret=…   GA4: { client_id, user_id?, events: [{ name, params }] }
 *        → always 204 with an empty body, as GA4 does: a wrong api_secret or a malformed event is
 *          silently dropped (recorded here with signatureValid false / status 204).
 *   POST /debug/mp/collect?…                            GA4's validation server: 200 { validationMessages: [...] }
 *   POST /import?strict=1&project_id=N                  Mixpanel: Basic <project API secret>: (empty password);
 *        JSON array of { event, properties: { time (ms), distinct_id, $insert_id, … } }
 *        → 200 { code: 200, num_records_imported, status: "OK" }; 401 { code: 401, error: "Invalid credentials", status: 0 };
 *          400 (strict) { code: 400, error, failed_records: [{ index, $insert_id, field, message }], num_records_imported: 0, status: "Bad Request" }
 *
 * The query string is never recorded (it carries GA4's api_secret).
 */
import type { Express, Request } from 'express';
import type { ReceivedLog } from './received';
import { basicAuth, jsonBody, rawBody } from './request-body';

const GA4_EVENT_NAME = /^[A-Za-z][A-Za-z0-9_]{0,39}$/;

function ga4Problems(body: unknown): { fieldPath: string; description: string; validationCode: string }[] {
  const problems: { fieldPath: string; description: string; validationCode: string }[] = [];
  const payload = body as { client_id?: unknown; events?: unknown } | undefined;
  if (!payload || typeof payload !== 'object') return [{ fieldPath: '', description: 'Unable to parse the body as JSON.', validationCode: 'VALUE_INVALID' }];
  if (typeof payload.client_id !== 'string' || payload.client_id === '') problems.push({ fieldPath: 'client_id', description: 'client_id is required.', validationCode: 'VALUE_REQUIRED' });
  if (!Array.isArray(payload.events) || payload.events.length === 0 || payload.events.length > 25) {
    problems.push({ fieldPath: 'events', description: 'events: 1 to 25 events are required.', validationCode: 'VALUE_INVALID' });
    return problems;
  }
  payload.events.forEach((event: { name?: unknown; params?: unknown }, index) => {
    if (typeof event?.name !== 'string' || !GA4_EVENT_NAME.test(event.name)) {
      problems.push({ fieldPath: `events[${index}].name`, description: 'Event name must start with a letter and hold only letters, digits and underscores (at most 40).', validationCode: 'NAME_INVALID' });
    }
    for (const [key, value] of Object.entries((event?.params as Record<string, unknown>) ?? {})) {
      if (typeof value === 'string' && value.length > 100) problems.push({ fieldPath: `events[${index}].params.${key}`, description: 'Value longer than 100 characters.', validationCode: 'VALUE_INVALID' });
      if (value !== null && typeof value === 'object') problems.push({ fieldPath: `events[${index}].params.${key}`, description: 'Parameter values must be strings or numbers.', validationCode: 'VALUE_INVALID' });
    }
  });
  return problems;
}

export function mountGa4(app: Express, log: ReceivedLog, apiSecret: string): void {
  const secretValid = (req: Request) => req.query.api_secret === apiSecret && typeof req.query.measurement_id === 'string' && req.query.measurement_id !== '';
  app.post('/mp/collect', (req, res) => {
    const body = jsonBody(req);
    const valid = secretValid(req) && ga4Problems(body).length === 0;
    const key = (body as { events?: { params?: { cascade_key?: unknown } }[] } | undefined)?.events?.[0]?.params?.cascade_key;
    log.record({ vendor: 'ga4', method: 'POST', path: '/mp/collect', idempotencyKey: typeof key === 'string' ? key : undefined, signatureValid: valid, status: 204, body: body ?? rawBody(req) });
    res.status(204).end();
  });
  app.post('/debug/mp/collect', (req, res) => {
    const problems = ga4Problems(jsonBody(req));
    if (!secretValid(req)) problems.push({ fieldPath: 'api_secret', description: 'api_secret is not valid for this measurement_id.', validationCode: 'VALUE_INVALID' });
    res.status(200).json({ validationMessages: problems });
  });
}

export function mountMixpanel(app: Express, log: ReceivedLog, secret: string): void {
  app.post('/import', (req, res) => {
    const auth = basicAuth(req);
    const valid = auth?.[0] === secret;
    const body = jsonBody(req);
    const events = Array.isArray(body) ? (body as { event?: unknown; properties?: Record<string, unknown> }[]) : undefined;
    const insertId = events?.[0]?.properties?.$insert_id;
    const record = (status: number) =>
      log.record({ vendor: 'mixpanel', method: 'POST', path: '/import', idempotencyKey: typeof insertId === 'string' ? insertId : undefined, signatureValid: valid, status, body: body ?? rawBody(req) });
    if (!valid) {
      record(401);
      return void res.status(401).json({ code: 401, error: 'Invalid credentials', status: 0 });
    }
    if (req.query.project_id === undefined || !events) {
      record(400);
      return void res.status(400).json({ code: 400, error: !events ? 'request body must be a JSON array of events' : 'project_id is required', status: 'Bad Request' });
    }
    const failed: { index: number; $insert_id?: unknown; field: string; message: string }[] = [];
    events.forEach((event, index) => {
      const properties = event?.properties ?? {};
      const reject = (field: string, message: string) => failed.push({ index, $insert_id: properties.$insert_id, field, message });
      if (typeof event?.event !== 'string' || event.event === '') reject('event', "'event' must be a non-empty string");
      if (typeof properties.time !== 'number') reject('properties.time', "'properties.time' must be a number");
      if (typeof properties.distinct_id !== 'string') reject('properties.distinct_id', "'properties.distinct_id' must be a string");
      if (typeof properties.$insert_id !== 'string' || !/^[A-Za-z0-9-]{1,36}$/.test(properties.$insert_id)) reject('properties.$insert_id', "'$insert_id' must be at most 36 characters of [A-Za-z0-9-]");
    });
    if (req.query.strict === '1' && failed.length > 0) {
      record(400);
      return void res.status(400).json({ code: 400, error: 'some data points in the request failed validation', failed_records: failed, num_records_imported: 0, status: 'Bad Request' });
    }
    record(200);
    res.status(200).json({ code: 200, num_records_imported: events.length - failed.length, status: 'OK' });
  });
}
