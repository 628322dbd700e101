/**
 * Subscriptions at the gateway over graphql-ws (`graphql-transport-ws`) on the same path as
 * HTTP; the same subscriptions are served over SSE by sse.ts, through the same core (core.ts). @apollo/gateway cannot execute subscriptions, so the gateway serves them itself: a
 * mapped root field follows a bus topic (feed.ts), each event passing the field's argument
 * filters is resolved through the query planner with a lookup query (operation.ts), and
 * identical selections for the same authorisation scope are resolved once per event and shared.
 *
 * Authentication happens on connect (the token in connectionParams.authorization or the
 * upgrade request's Authorization header) and the token's expiry is checked again per event.
 * The rate limits count the connection and each subscribe message; a connection they refuse is
 * closed with graphql-ws's 4429 (which its client does not retry) and a reason giving the wait.
 */
import type http from 'node:http';
import { GraphQLError } from 'graphql';
import { CloseCode } from 'graphql-ws';
import { useServer } from 'graphql-ws/use/ws';
import { WebSocketServer } from 'ws';
import type { AuthIdentity } from '../auth';
import { ErrorCode } from '../errors';
import { clientAddressOf } from '../rate-limit/client-address';
import { rateLimitedError } from '../rate-limit/rate-limits';
import type { RateLimits } from '../rate-limit/rate-limits';
import { createSubscriptionCore } from './core';
import type { AcceptedSubscription, SubscriptionCore, SubscriptionCoreOptions } from './core';

export interface SubscriptionServerOptions extends SubscriptionCoreOptions {
  httpServer: http.Server;
  path: string;
  /** Authentication within the rate limits (rate-limit/rate-limits.ts): the token, and the client address it came from. */
  authenticate: RateLimits['authenticate'];
  /** Whether a browser page from `origin` may open a socket (requests without Origin are not from pages). */
  isAllowedOrigin: (origin: string, host: string | undefined) => boolean;
}

// A type alias, not an interface: graphql-ws wants a Record-compatible extra.
type SocketExtra = { auth?: AuthIdentity };

export interface SubscriptionServer {
  /** The transport-independent part, for other transports (sse.ts) to share. */
  core: SubscriptionCore;
  subscribers(): number;
  /** Close every socket with 1001 (going away), end the subscriptions of every transport and stop following topics. */
  stop(): Promise<void>;
}

export function startSubscriptionServer(options: SubscriptionServerOptions): SubscriptionServer {
  const { config } = options;
  const core = createSubscriptionCore(options);
  const wss = new WebSocketServer({
    server: options.httpServer,
    path: options.path,
    maxPayload: config.maxMessageBytes,
    // A browser page of another site must not open a socket with the user's token (CSWSH).
    verifyClient: ({ origin, req }: { origin?: string; req: http.IncomingMessage }, done: (ok: boolean, code?: number, message?: string) => void) =>
      !origin || options.isAllowedOrigin(origin, req.headers.host) ? done(true) : done(false, 403, 'Origin not allowed'),
  });
  const disposable = useServer<Record<string, unknown> | undefined, SocketExtra>(
    {
      connectionInitWaitTimeout: config.initTimeoutMs,
      onConnect: async (ctx) => {
        const fromParams = ctx.connectionParams?.authorization ?? ctx.connectionParams?.Authorization;
        const authorization = typeof fromParams === 'string' ? fromParams : ctx.extra.request.headers.authorization;
        const result = await options.authenticate(authorization, clientAddressOf(ctx.extra.request));
        if (!result.ok && 'limited' in result) {
          // graphql-ws's own close after `false` (4403) finds this one under way and is dropped.
          ctx.extra.socket.close(CloseCode.TooManyInitialisationRequests, rateLimitedError(result.limited).message);
          return false;
        }
        if (!result.ok) return false; // graphql-ws closes with 4403 Forbidden
        ctx.extra.auth = result.identity;
        const { expiresAt } = result.identity;
        if (expiresAt !== undefined) {
          // The socket ends when its token does, not only at the next event of each subscription.
          const socket = ctx.extra.socket;
          const timer = setTimeout(() => socket.close(CloseCode.Unauthorized, 'Token expired'), Math.min(Math.max(0, expiresAt - Date.now()), 2 ** 31 - 1));
          timer.unref();
          socket.once('close', () => clearTimeout(timer));
        }
        return true;
      },
      onSubscribe: async (ctx, _id, payload) => {
        // graphql-ws has already reserved this operation's slot in ctx.subscriptions; counted before
        // any await, while the slots of subscribe messages behind this one are not reserved yet.
        if (Object.keys(ctx.subscriptions).length > config.maxPerSocket) {
          return [
            new GraphQLError(`At most ${config.maxPerSocket} subscriptions per connection`, {
              extensions: { code: ErrorCode.BadRequest, limit: config.maxPerSocket },
            }),
          ];
        }
        const accepted = await core.prepare(payload, ctx.extra.auth!, clientAddressOf(ctx.extra.request), 'WEBSOCKET');
        if (Array.isArray(accepted)) return accepted;
        // graphql-ws runs `subscribe` with these args; everything it needs rides in contextValue.
        return { schema: accepted.schema, document: accepted.prepared.document, operationName: accepted.prepared.operationName, contextValue: accepted };
      },
      subscribe: (args) => core.results(args.contextValue as AcceptedSubscription),
    },
    wss,
  );

  return {
    core,
    subscribers: () => core.subscribers(),
    async stop() {
      // Sockets first: a client told 1001 reconnects, one told `complete` would not.
      for (const client of wss.clients) client.close(1001, 'Gateway shutting down');
      await disposable.dispose();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
      await core.stop();
    },
  };
}
