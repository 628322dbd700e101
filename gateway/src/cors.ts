/**
 * CORS on /graphql: which browser pages of other origins may call the gateway over HTTP, and what
 * they may send and read. Mounted before authentication, because a browser's preflight
 * (OPTIONS) never carries the token. The origins are the ones the WebSocket upgrade accepts
 * (origins.ts), so HTTP and WebSocket agree.
 */
import cors from 'cors';
import type { CorsOptions } from 'cors';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { z } from 'zod';
import type { OriginPolicy } from './origins';

/**
 * The request headers a page may send: every one the gateway reads. `authorization` carries the
 * token; `apollo-require-preflight` and `x-apollo-operation-name` are what Apollo's CSRF
 * prevention asks of a GET or a non-JSON request.
 */
export const GATEWAY_REQUEST_HEADERS = ['authorization', 'content-type', 'apollo-require-preflight', 'x-apollo-operation-name'] as const;

/** The response headers a page may read besides the safelisted ones: how long to wait after a 429. */
export const EXPOSED_RESPONSE_HEADERS = ['Retry-After'] as const;

const HEADER_NAME = /^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/;

export const corsConfigSchema = z.object({
  /**
   * Let a page send cookies or HTTP authentication with its requests and read the answer
   * (`Access-Control-Allow-Credentials: true`). The gateway reads a bearer token, never a cookie,
   * so a page that sends `Authorization` itself does not need this. @default false
   */
  credentials: z.boolean().default(false),
  /** How long a browser may reuse a preflight's answer, in seconds (browsers cap it: Chrome at 7200). @default 600 */
  maxAgeSeconds: z.number().int().min(0).max(86_400).default(600),
  /** Request headers a page may send besides the ones the gateway reads (GATEWAY_REQUEST_HEADERS), e.g. `traceparent`. @default [] */
  allowedHeaders: z.array(z.string().regex(HEADER_NAME, { message: 'an HTTP header name (letters, digits, - and the like)' })).default([]),
});

export type CorsConfig = z.infer<typeof corsConfigSchema>;

const isPreflight = (req: Request) => req.method === 'OPTIONS' && req.headers.origin !== undefined && req.headers['access-control-request-method'] !== undefined;

/**
 * Express middleware answering CORS for `isAllowedOrigin`. An allowed origin's preflight is
 * answered 204 with the Access-Control-* headers; its requests go on with
 * Access-Control-Allow-Origin set, so the page can read a 401 or 429 too. A disallowed origin's
 * preflight is answered 204 with no Access-Control-* header (the browser then refuses the request;
 * authentication is not consulted, and a 401 would say nothing more); its other requests go on
 * without the headers, so the browser keeps the answer from the page.
 */
export function corsMiddleware(config: CorsConfig, isAllowedOrigin: OriginPolicy): RequestHandler {
  const allowedHeaders = [...new Set([...GATEWAY_REQUEST_HEADERS, ...config.allowedHeaders.map((name) => name.toLowerCase())])];
  const handle = cors<Request>((req, callback) => {
    const origin = req.headers.origin;
    const options: CorsOptions = {
      // `true` reflects the request's Origin (never `*`, which credentials would not allow).
      origin: origin !== undefined && isAllowedOrigin(origin, req.headers.host),
      methods: ['GET', 'POST'],
      allowedHeaders,
      exposedHeaders: [...EXPOSED_RESPONSE_HEADERS],
      credentials: config.credentials,
      maxAge: config.maxAgeSeconds,
    };
    callback(null, options);
  });
  return (req: Request, res: Response, next: NextFunction) => {
    // The answer depends on the Origin, allowed or not: a shared cache must keep them apart.
    res.vary('Origin');
    handle(req, res, (error?: unknown) => {
      if (error) return next(error);
      // Only a disallowed origin's preflight gets here (the cors package ends an allowed one).
      if (isPreflight(req)) return void res.status(204).end();
      next();
    });
  };
}
