/**
 * HTTP response compression (the `compression` middleware: gzip, deflate or br, as the client's
 * Accept-Encoding allows; identity when it allows none). Answers below the threshold are sent as
 * they are. Event streams are never compressed: a compressor holds bytes back until it has enough
 * of them, and an SSE subscriber must see each event when it is sent. WebSocket upgrades never
 * reach express, so they are not touched. A streamed answer that wants its bytes on the wire (the
 * export, after each page) calls `res.flush()`, which this middleware provides.
 */
import compression from 'compression';
import type { Request, RequestHandler, Response } from 'express';

const isEventStream = (req: Request, res: Response) =>
  /\btext\/event-stream\b/i.test(String(res.getHeader('Content-Type') ?? '')) || /\btext\/event-stream\b/i.test(req.headers.accept ?? '');

/** NDJSON is text, but the mime database the default filter reads does not say so. */
const isNdjson = (res: Response) => /^application\/(x-)?ndjson\b/i.test(String(res.getHeader('Content-Type') ?? ''));

/** The middleware for a `threshold` in bytes; `false`: none (answers go as they are). */
export function compressionMiddleware(threshold: number | false): RequestHandler {
  if (threshold === false) return (_req, _res, next) => next();
  return compression({
    threshold,
    filter: (req, res) => !isEventStream(req as Request, res as Response) && (isNdjson(res as Response) || compression.filter(req, res)),
  }) as RequestHandler;
}
