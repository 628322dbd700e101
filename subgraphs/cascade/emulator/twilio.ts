/**
 * Twilio Programmable Messaging: send an SMS.
 *
 *   POST /2010-04-01/Accounts/:accountSid/Messages.json   form: To, From | MessagingServiceSid, Body
 *
 * Auth: HTTP Basic AccountSid:AuthToken, the user matching the path's account (401 code 20003
 * otherwise). Answers 201 with the Message resource (sid SM…, status "queued"); 400 with
 * Twilio's error codes for a missing To (21604) or Body (21602), a To that is not E.164 (21211)
 * and neither From nor MessagingServiceSid (21603). Error messages leave the number out.
 */
import { createHash } from 'node:crypto';
import type { Express, Response } from 'express';
import type { ReceivedLog } from './received';
import { basicAuth, formBody, header } from './request-body';

function twilioError(res: Response, status: number, code: number, message: string): void {
  res.status(status).json({ code, message, more_info: `https://www.twilio.com/docs/errors/${code}`, status });
}

export function mountTwilio(app: Express, log: ReceivedLog, credentials: { accountSid: string; authToken: string }): void {
  let sent = 0;
  app.post('/2010-04-01/Accounts/:accountSid/Messages.json', (req, res) => {
    const auth = basicAuth(req);
    const valid = auth?.[0] === credentials.accountSid && auth[1] === credentials.authToken && req.params.accountSid === credentials.accountSid;
    const form = formBody(req);
    const record = (status: number) =>
      log.record({ vendor: 'twilio', method: 'POST', path: '/2010-04-01/Accounts/:accountSid/Messages.json', idempotencyKey: header(req, 'idempotency-key'), signatureValid: valid, status, body: form });
    if (!valid) return (record(401), twilioError(res, 401, 20003, 'Authenticate'));
    if (!form.To) return (record(400), twilioError(res, 400, 21604, "A 'To' phone number is required."));
    if (!/^\+[1-9]\d{6,14}$/.test(form.To)) return (record(400), twilioError(res, 400, 21211, "Invalid 'To' Phone Number"));
    if (!form.From && !form.MessagingServiceSid) return (record(400), twilioError(res, 400, 21603, "A 'From' phone number is required."));
    if (!form.Body) return (record(400), twilioError(res, 400, 21602, 'Message body is required.'));
    sent += 1;
    const sid = `SM${createHash('md5').update(`${credentials.accountSid}:${sent}`).digest('hex')}`;
    const now = new Date().toUTCString();
    record(201);
    res.status(201).json({
      sid,
      account_sid: credentials.accountSid,
      to: form.To,
      from: form.From ?? null,
      messaging_service_sid: form.MessagingServiceSid ?? null,
      body: form.Body,
      status: 'queued',
      num_segments: String(Math.ceil(form.Body.length / 160)),
      direction: 'outbound-api',
      api_version: '2010-04-01',
      date_created: now,
      date_updated: now,
      date_sent: null,
      error_code: null,
      error_message: null,
      uri: `/2010-04-01/Accounts/${credentials.accountSid}/Messages/${sid}.json`,
    });
  });
}
