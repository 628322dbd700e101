/**
 * Subscriptions over Server-Sent Events: the graphql-sse protocol's "distinct connections" mode,
 * one subscription per request (POST or GET with `Accept: text/event-stream`), for clients behind
 * proxies that drop WebSockets. The caller is authenticated before this handler runs (the same
 * bearer check as every HTTP request, so a bad token is a 401 before any stream); the rate limit,
 * operation limits, authorisation and `after` resume are the subscription core's (core.ts), as
 * over graphql-ws. A refused subscription is one `next` event carrying the errors, then
 * `complete`, as graphql-sse reports validation errors on a stream.
 */
import type { Request, Response } from 'express';
import type { ExecutionResult } from 'graphql';
import { createHandler } from 'graphql-sse/lib/use/express';
import type { AuthIdentity } from '../auth';
import { clientAddressOf } from '../rate-limit/client-address';
import type { SubscriptionCore } from './core';

async function* refusal(result: ExecutionResult): AsyncGenerator<ExecutionResult> {
  yield result;
}

/** Whether a request asks for an event stream (and so belongs to the SSE handler). */
export function isEventStreamRequest(req: Request): boolean {
  return (req.method === 'GET' || req.method === 'POST') && /\btext\/event-stream\b/i.test(req.headers.accept ?? '');
}

/**
 * An express handler serving `core`'s subscriptions over SSE. `res.locals.auth` must hold the
 * authenticated caller. The stream ends when the token expires, as a WebSocket is closed then.
 */
export function createSseSubscriptionHandler(core: SubscriptionCore): (req: Request, res: Response) => Promise<void> {
  const handler = createHandler<undefined>({
    // No stream tokens: "single connection mode" is off; every request is its own stream.
    authenticate: () => null,
    onSubscribe: async (req, params) => {
      const res = req.context.res;
      const auth = res.locals.auth as AuthIdentity;
      const accepted = await core.prepare(params, auth, clientAddressOf(req.raw), 'SSE');
      // As a one-result stream: graphql-sse takes a bare result only when it has `data`.
      if (Array.isArray(accepted)) return refusal({ errors: accepted });
      if (auth.expiresAt !== undefined) {
        const timer = setTimeout(() => res.end(), Math.min(Math.max(0, auth.expiresAt - Date.now()), 2 ** 31 - 1));
        timer.unref();
        res.once('close', () => clearTimeout(timer));
      }
      return core.results(accepted);
    },
  });
  return async (req, res) => {
    // graphql-sse recognises the distinct-connections request by an Accept of exactly this.
    req.headers.accept = 'text/event-stream';
    await handler(req, res);
  };
}
