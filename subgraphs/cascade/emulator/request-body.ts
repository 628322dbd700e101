/**
 * The connectors emulator reads every vendor request's body as raw bytes (the generic webhook's
 * HMAC is over the exact bytes), then parses it the way the vendor does.
 */
import type { Request } from 'express';

export function rawBody(req: Request): string {
  return Buffer.isBuffer(req.body) ? req.body.toString('utf8') : '';
}

/** The body as JSON, or undefined when it is not JSON. */
export function jsonBody(req: Request): unknown {
  try {
    return JSON.parse(rawBody(req));
  } catch {
    return undefined;
  }
}

/** An application/x-www-form-urlencoded body as an object (a repeated key keeps its last value). */
export function formBody(req: Request): Record<string, string> {
  return Object.fromEntries(new URLSearchParams(rawBody(req)));
}

/** `Authorization: Basic` as [user, password], or undefined. */
export function basicAuth(req: Request): [string, string] | undefined {
  const header = req.headers.authorization;
  if (!header?.startsWith('Basic ')) return undefined;
  const decoded = Buffer.from(header.slice('Basic '.length), 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon < 0 ? undefined : [decoded.slice(0, colon), decoded.slice(colon + 1)];
}

export function header(req: Request, name: string): string | undefined {
  const value = req.headers[name.toLowerCase()];
  return Array.isArray(value) ? value.join(', ') : value || undefined;
}
