/**
 * Subscriptions at the gateway, over graphql-ws (`graphql-transport-ws`) on the same path as
 * HTTP. @apollo/gateway cannot execute subscriptions, so the gateway serves them itself: a
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
import type { DocumentNode, ExecutionResult, GraphQLSchema } from 'graphql';
import { CloseCode } from 'graphql-ws';
import { useServer } from 'graphql-ws/use/ws';
import { WebSocketServer } from 'ws';
import type { Logger } from '../../../lib/logger';
import { parseCursor } from '../../../lib/event-bus/cursor';
import type { BusEvent, EventBus } from '../../../lib/event-bus/types';
import type { AuthIdentity } from '../auth';
import type { GatewayConfig } from '../config';
import { ErrorCode } from '../errors';
import type { LimitsConfig } from '../limits/limits';
import { clientAddressOf } from '../rate-limit/client-address';
import { rateLimitedError } from '../rate-limit/rate-limits';
import type { RateLimits } from '../rate-limit/rate-limits';
import { scopeOf } from '../pipeline/scope';
import { TopicFeeds } from './feed';
import type { EventStream } from './feed';
import { matchesFilters, prepareSubscription } from './operation';
import type { PreparedSubscription } from './operation';

export interface SubscriptionServerOptions {
  httpServer: http.Server;
  path: string;
  bus: EventBus;
  config: GatewayConfig['subscriptions'];
  /** The supergraph's API schema, current at the time of the call (it can be reloaded). */
  schema: () => GraphQLSchema | undefined;
  /** Authentication within the rate limits (rate-limit/rate-limits.ts): the token, and the client address it came from. */
  authenticate: RateLimits['authenticate'];
  /** Counts one more request (a subscribe message) of an authenticated caller; a refusal when over its limit. */
  countRequest: RateLimits['consume'];
  /** Whether a browser page from `origin` may open a socket (requests without Origin are not from pages). */
  isAllowedOrigin: (origin: string, host: string | undefined) => boolean;
  /** The operation limits (the same as over HTTP). */
  limits: LimitsConfig;
  /** Errors when `auth` may not subscribe to this operation's field at all. */
  authorize: (document: DocumentNode, operationName: string | undefined, auth: AuthIdentity, source: string) => GraphQLError[];
  /** Run a query through the gateway (query planner, upstream pools) as `auth`. */
  execute: (query: string, variables: Record<string, unknown>, auth: AuthIdentity) => Promise<ExecutionResult>;
  logger: Logger;
  onSubscribersChanged?: (count: number) => void;
  /** Called (and awaited) before an event is resolved for subscribers; once per event and subscriber. */
  beforeEvent?: (topic: string, event: BusEvent) => Promise<void>;
}

// A type alias, not an interface: graphql-ws wants a Record-compatible extra.
type SocketExtra = { auth?: AuthIdentity };

export interface SubscriptionServer {
  subscribers(): number;
  /** Close every socket with 1001 (going away) and stop following topics. */
  stop(): Promise<void>;
}

/** Results for one event shared among subscribers with the same selection and scope. */
class SharedResolutions {
  private readonly inflight = new Map<string, Promise<ExecutionResult>>();

  constructor(private readonly execute: SubscriptionServerOptions['execute']) {}

  /**
   * `cursor` identifies the event; `lookupId` is what the lookup is asked for, which several
   * events can share (every change of one conflict), so both are in the key.
   */
  resolve(prepared: PreparedSubscription, variables: Record<string, unknown>, cursor: string, lookupId: string, auth: AuthIdentity): Promise<ExecutionResult> {
    const key = JSON.stringify([prepared.lookupQuery, variables, cursor, lookupId, scopeOf(auth)]);
    let result = this.inflight.get(key);
    if (!result) {
      result = this.execute(prepared.lookupQuery, { ...variables, __eventId: lookupId }, auth);
      this.inflight.set(key, result);
      // Subscribers of one event ask within the same turn of the fan-out; keep the result a
      // moment longer for replays running close behind, then let it go.
      const forget = () => setTimeout(() => this.inflight.delete(key), 2000).unref();
      result.then(forget, forget);
    }
    return result;
  }
}

export function startSubscriptionServer(options: SubscriptionServerOptions): SubscriptionServer {
  const { config, logger } = options;
  const feeds = new TopicFeeds(options.bus, (topic, error) => logger.error({ topic, err: error.message }, 'event bus subscription failed'));
  const shared = new SharedResolutions(options.execute);
  const wss = new WebSocketServer({
    server: options.httpServer,
    path: options.path,
    maxPayload: config.maxMessageBytes,
    // A browser page of another site must not open a socket with the user's token (CSWSH).
    verifyClient: ({ origin, req }: { origin?: string; req: http.IncomingMessage }, done: (ok: boolean, code?: number, message?: string) => void) =>
      !origin || options.isAllowedOrigin(origin, req.headers.host) ? done(true) : done(false, 403, 'Origin not allowed'),
  });
  let count = 0;
  const changed = (delta: number) => {
    count += delta;
    options.onSubscribersChanged?.(count);
  };

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
        const limited = await options.countRequest(ctx.extra.auth!, clientAddressOf(ctx.extra.request));
        if (limited) {
          const { message, extensions } = rateLimitedError(limited);
          return [new GraphQLError(message, { extensions })];
        }
        const schema = options.schema();
        if (!schema) return [new GraphQLError('The supergraph is not loaded yet', { extensions: { code: ErrorCode.NotReady } })];
        const prepared = prepareSubscription(schema, payload, config.fields, options.limits);
        if (Array.isArray(prepared)) return prepared;
        const auth = ctx.extra.auth!;
        const refused = options.authorize(prepared.document, prepared.operationName, auth, payload.query);
        if (refused.length > 0) return refused;
        const variables = (payload.variables ?? {}) as Record<string, unknown>;
        // graphql-ws runs `subscribe` with these args; everything it needs rides in contextValue.
        return { schema, document: prepared.document, operationName: prepared.operationName, contextValue: { prepared, auth, variables } };
      },
      subscribe: (args) => {
        const { prepared, auth, variables } = args.contextValue as { prepared: PreparedSubscription; auth: AuthIdentity; variables: Record<string, unknown> };
        return eventResults(prepared, variables, auth);
      },
    },
    wss,
  );

  /**
   * The results of one subscription, as an async iterator written by hand rather than as an
   * async generator: a generator suspended in `await stream.next()` cannot be returned from until
   * the next event arrives, and a client's Complete must end the subscription at once.
   */
  function eventResults(prepared: PreparedSubscription, variables: Record<string, unknown>, auth: AuthIdentity): AsyncGenerator<ExecutionResult> {
    const after = typeof prepared.args.after === 'string' ? prepared.args.after : undefined;
    let stream: EventStream | undefined;
    let finished = false;
    /** A final result (an error) was handed out; the next call ends the subscription. */
    let ending = false;
    const finish = async () => {
      if (finished) return;
      finished = true;
      if (stream) {
        changed(-1);
        await stream.close();
      }
    };
    const end = async (): Promise<IteratorResult<ExecutionResult>> => {
      await finish();
      return { done: true, value: undefined };
    };
    const fail = (message: string, extensions: Record<string, unknown>): IteratorResult<ExecutionResult> => {
      ending = true;
      return { done: false, value: { errors: [new GraphQLError(message, { extensions })] } };
    };

    const next = async (): Promise<IteratorResult<ExecutionResult>> => {
      if (finished || ending) return end();
      if (!stream) {
        if (after !== undefined) {
          try {
            parseCursor(after);
          } catch (error) {
            return fail((error as Error).message, { code: ErrorCode.BadUserInput, argumentName: 'after' });
          }
        }
        try {
          stream = await feeds.open(prepared.mapping.topic, after);
        } catch (error) {
          logger.error({ err: (error as Error).message }, 'could not follow a bus topic');
          return fail('The event bus is unavailable', { code: ErrorCode.UpstreamUnavailable, serviceName: 'event-bus' });
        }
        changed(+1);
        if (finished) return end(); // returned while opening
      }
      for (;;) {
        let event;
        try {
          event = await stream.next();
        } catch (error) {
          const reason = (error as { code?: string }).code;
          const expired = reason === 'CURSOR_EXPIRED' || reason === 'INVALID_CURSOR';
          return fail(expired ? 'The cursor in `after` is older than the events still kept' : 'Could not read the events after the cursor', {
            code: expired ? ErrorCode.BadUserInput : ErrorCode.Internal,
            argumentName: 'after',
            reason,
          });
        }
        if (!event || finished) return end();
        if (auth.expiresAt !== undefined && Date.now() >= auth.expiresAt) {
          return fail('The token has expired', { code: ErrorCode.Unauthenticated });
        }
        const payload = (event.payload ?? {}) as Record<string, unknown>;
        if (!matchesFilters(prepared, payload)) continue;
        const eventId = prepared.mapping.idFrom === 'cursor' ? event.cursor : String(payload[prepared.mapping.idFrom] ?? '');
        await options.beforeEvent?.(prepared.mapping.topic, event).catch((error: Error) =>
          logger.warn({ topic: prepared.mapping.topic, err: error.message }, 'could not apply an event before resolving it'),
        );
        const value = await shared.resolve(prepared, variables, event.cursor, eventId, auth);
        if (finished) return end();
        return { done: false, value };
      }
    };

    // Cast: the build targets a lib without Symbol.asyncDispose, which graphql-ws never calls.
    const iterator: AsyncGenerator<ExecutionResult> = {
      next,
      return: end,
      throw: async (error: unknown) => {
        await finish();
        throw error;
      },
      [Symbol.asyncIterator]() {
        return iterator;
      },
    } as unknown as AsyncGenerator<ExecutionResult>;
    return iterator;
  }

  return {
    subscribers: () => count,
    async stop() {
      for (const client of wss.clients) client.close(1001, 'Gateway shutting down');
      await disposable.dispose();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    },
  };
}
