/**
 * A shared-secret check for internal HTTP surfaces (the event bus host, the sync service's admin
 * routes): `Authorization: Bearer <token>`, compared in constant time, 401 otherwise.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { NextFunction, Request, RequestHandler, Response } from 'express';

function sha256(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}

/** The bearer token of a request, or undefined. */
function bearer(req: Request): string | undefined {
  const header = req.headers.authorization;
  if (typeof header !== 'string') return undefined;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return match?.[1];
}

/** A check that `req` carries `token` as its bearer token, compared in constant time. */
export function bearerTokenCheck(token: string): (req: Request) => boolean {
  if (typeof token !== 'string' || token === '') throw new TypeError('token: expected a non-empty string');
  // Comparing digests keeps the comparison constant-time whatever length a caller sends.
  const expectedDigest = sha256(token);
  return (req) => {
    const received = bearer(req);
    return received !== undefined && timingSafeEqual(sha256(received), expectedDigest);
  };
}

/** Middleware that lets through only requests carrying `token`; others get 401 UNAUTHORIZED. */
export function requireBearerToken(token: string): RequestHandler {
  const carries = bearerTokenCheck(token);
  return (req: Request, res: Response, next: NextFunction) => {
    if (!carries(req)) {
      res.setHeader('WWW-Authenticate', 'Bearer');
      res.status(401).json({ error: { code: 'UNAUTHORIZED', message: 'missing or wrong bearer token' } });
      return;
    }
    next();
  };
}
