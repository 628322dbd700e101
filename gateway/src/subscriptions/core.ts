/**
 * The transport-independent part of serving a subscription, shared by graphql-ws (server.ts) and
 * graphql-sse (sse.ts) so both behave alike: a subscribe request is counted against the caller's
 * rate limit, validated within the operation limits, mapped to a bus topic and authorised
 * (`prepare`); its results follow the topic from an optional `after` cursor and each event is
 * resolved through the query planner, identical selections for the same authorisation scope
 * once per event and shared (`results`). Authentication is the transport's.
 */
import { ROOT_CONTEXT, SpanKind } from '@opentelemetry/api';
import { GraphQLError } from 'graphql';
import type { DocumentNode, ExecutionResult, GraphQLSchema } from 'graphql';
import type { Logger } from '../../../lib/logger';
import { parseCursor } from '../../../lib/event-bus/cursor';
import { inSpan } from '../../../lib/tracing/spans';
import type { BusEvent, EventBus } from '../../../lib/event-bus/types';
import type { AuthIdentity } from '../auth';
import type { GatewayConfig } from '../config';
import { ErrorCode } from '../errors';
import type { LimitsConfig } from '../limits/limits';
import { rateLimitedError } from '../rate-limit/rate-limits';
import type { RateLimits } from '../rate-limit/rate-limits';
import { scopeOf } from '../pipeline/scope';
import { TopicFeeds } from './feed';
import type { EventStream } from './feed';
import { matchesFilters, prepareSubscription } from './operation';
import type { PreparedSubscription } from './operation';

export interface SubscriptionCoreOptions {
  bus: EventBus;
  config: GatewayConfig['subscriptions'];
  /** The supergraph's API schema, current at the time of the call (it can be reloaded). */
  schema: () => GraphQLSchema | undefined;
  /** Counts one more request (a subscribe) of an authenticated caller; a refusal when over its limit. */
  countRequest: RateLimits['consume'];
  /** The operation limits (the same as over HTTP). */
  limits: LimitsConfig;
  /** Errors when `auth` may not subscribe to this operation's field at all. */
  authorize: (document: DocumentNode, operationName: string | undefined, auth: AuthIdentity, source: string, transport: SubscriptionTransport) => GraphQLError[];
  /** Run a query through the gateway (query planner, upstream pools) as `auth`. */
  execute: (query: string, variables: Record<string, unknown>, auth: AuthIdentity) => Promise<ExecutionResult>;
  logger: Logger;
  /** Called with the number of subscriptions served (over every transport) whenever it changes. */
  onSubscribersChanged?: (count: number) => void;
  /** Called (and awaited) before an event is resolved for subscribers; once per event and subscriber. */
  beforeEvent?: (topic: string, event: BusEvent) => Promise<void>;
}

/** The transport a subscription arrived over (audit records name it). */
export type SubscriptionTransport = 'WEBSOCKET' | 'SSE';

/** What a subscribe request carries, whichever the transport. */
export interface SubscribeRequest {
  query: string;
  variables?: Record<string, unknown> | null;
  operationName?: string | null;
}

/** A subscription accepted by `prepare`, ready for `results`. */
export interface AcceptedSubscription {
  schema: GraphQLSchema;
  prepared: PreparedSubscription;
  variables: Record<string, unknown>;
  auth: AuthIdentity;
}

export interface SubscriptionCore {
  /** Rate limit, operation limits, field mapping and authorisation; the errors that refuse it otherwise. */
  prepare(request: SubscribeRequest, auth: AuthIdentity, clientAddress: string, transport: SubscriptionTransport): Promise<AcceptedSubscription | GraphQLError[]>;
  /** The subscription's results; returning from the iterator ends it at once. */
  results(accepted: AcceptedSubscription): AsyncGenerator<ExecutionResult>;
  subscribers(): number;
  /** End every subscription (each transport then closes its connections) and stop following topics. */
  stop(): Promise<void>;
}

/** Results for one event shared among subscribers with the same selection and scope. */
class SharedResolutions {
  private readonly inflight = new Map<string, Promise<ExecutionResult>>();

  constructor(private readonly execute: SubscriptionCoreOptions['execute']) {}

  /**
   * `cursor` identifies the event; `lookupId` is what the lookup is asked for, which several
   * events can share (every change of one conflict), so both are in the key.
   */
  resolve(prepared: PreparedSubscription, variables: Record<string, unknown>, cursor: string, lookupId: string, auth: AuthIdentity): Promise<ExecutionResult> {
    const key = JSON.stringify([prepared.lookupQuery, variables, cursor, lookupId, scopeOf(auth)]);
    let result = this.inflight.get(key);
    if (!result) {
      // Each event is a trace of its own (the bus carries no trace context): the lookup's planning
      // and subgraph fetches are its children. Once per shared resolution, not per subscriber.
      result = inSpan(
        `graphql.subscription.event ${prepared.fieldName}`,
        {
          kind: SpanKind.CONSUMER,
          attributes: { 'graphql.operation.type': 'subscription', 'graphql.field.name': prepared.fieldName, 'patient_graph.topic': prepared.mapping.topic, 'patient_graph.bus.cursor': cursor },
        },
        () => this.execute(prepared.lookupQuery, { ...variables, __eventId: lookupId }, auth),
        ROOT_CONTEXT,
      );
      this.inflight.set(key, result);
      // Subscribers of one event ask within the same turn of the fan-out; keep the result a
      // moment longer for replays running close behind, then let it go.
      const forget = () => setTimeout(() => this.inflight.delete(key), 2000).unref();
      result.then(forget, forget);
    }
    return result;
  }
}

export function createSubscriptionCore(options: SubscriptionCoreOptions): SubscriptionCore {
  const { config, logger } = options;
  const feeds = new TopicFeeds(options.bus, (topic, error) => logger.error({ topic, err: error.message }, 'event bus subscription failed'));
  const shared = new SharedResolutions(options.execute);
  const live = new Set<AsyncGenerator<ExecutionResult>>();
  let count = 0;
  const changed = (delta: number) => {
    count += delta;
    options.onSubscribersChanged?.(count);
  };

  async function prepare(request: SubscribeRequest, auth: AuthIdentity, clientAddress: string, transport: SubscriptionTransport): Promise<AcceptedSubscription | GraphQLError[]> {
    const limited = await options.countRequest(auth, clientAddress);
    if (limited) {
      const { message, extensions } = rateLimitedError(limited);
      return [new GraphQLError(message, { extensions })];
    }
    const schema = options.schema();
    if (!schema) return [new GraphQLError('The supergraph is not loaded yet', { extensions: { code: ErrorCode.NotReady } })];
    const prepared = prepareSubscription(schema, request, config.fields, options.limits);
    if (Array.isArray(prepared)) return prepared;
    const refused = options.authorize(prepared.document, prepared.operationName, auth, request.query, transport);
    if (refused.length > 0) return refused;
    return { schema, prepared, variables: (request.variables ?? {}) as Record<string, unknown>, auth };
  }

  /**
   * The results of one subscription, as an async iterator written by hand rather than as an
   * async generator: a generator suspended in `await stream.next()` cannot be returned from until
   * the next event arrives, and a client's Complete must end the subscription at once.
   */
  function results({ prepared, variables, auth }: AcceptedSubscription): AsyncGenerator<ExecutionResult> {
    const after = typeof prepared.args.after === 'string' ? prepared.args.after : undefined;
    let stream: EventStream | undefined;
    let finished = false;
    /** A final result (an error) was handed out; the next call ends the subscription. */
    let ending = false;
    const finish = async () => {
      if (finished) return;
      finished = true;
      live.delete(iterator);
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

    // Cast: the build targets a lib without Symbol.asyncDispose, which neither transport calls.
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
    live.add(iterator);
    return iterator;
  }

  return {
    prepare,
    results,
    subscribers: () => count,
    async stop() {
      await Promise.all([...live].map((iterator) => iterator.return(undefined)));
    },
  };
}
