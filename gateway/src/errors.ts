/**
 * The gateway's public error codes (`extensions.code`) and the one place that maps them to an
 * HTTP status. Clients may rely on these strings; add, never rename.
 */
import type { GraphQLFormattedError } from 'graphql';
import { activeTraceIds } from '../../lib/tracing/spans';
export enum ErrorCode {
  /** The HTTP request itself is malformed (e.g. the body is not JSON). */
  BadRequest = 'BAD_REQUEST',
  /** The body is larger than the configured limit. */
  PayloadTooLarge = 'PAYLOAD_TOO_LARGE',
  /** No credentials, or credentials that do not verify. */
  Unauthenticated = 'UNAUTHENTICATED',
  /** The document does not parse. (Apollo Server's code.) */
  ParseFailed = 'GRAPHQL_PARSE_FAILED',
  /** The document does not validate against the supergraph. (Apollo Server's code.) */
  ValidationFailed = 'GRAPHQL_VALIDATION_FAILED',
  /** An argument or variable has a wrong value. (Apollo Server's code.) */
  BadUserInput = 'BAD_USER_INPUT',
  /** The thing asked for does not exist. */
  NotFound = 'NOT_FOUND',
  /** A subgraph could not be reached; its fields are null, the rest is served. */
  UpstreamUnavailable = 'UPSTREAM_UNAVAILABLE',
  /** A subgraph answered with something that is not a GraphQL response; its fields are null. */
  UpstreamBadResponse = 'UPSTREAM_BAD_RESPONSE',
  /** A rate limit refused the request (`extensions.limit`, `retryAfterSeconds`; HTTP `Retry-After`). */
  RateLimited = 'RATE_LIMITED',
  /**
   * A subscription sent as a plain HTTP request; `transports` names those that serve one
   * (graphql-ws on the WebSocket of /graphql, graphql-sse with Accept: text/event-stream).
   */
  SubscriptionTransportRequired = 'SUBSCRIPTION_TRANSPORT_REQUIRED',
  /** Not served yet: the supergraph is not loaded. */
  NotReady = 'NOT_READY',
  /** Anything unexpected; the message is masked in production. */
  Internal = 'INTERNAL_SERVER_ERROR',
}

const STATUS: Record<ErrorCode, number> = {
  [ErrorCode.BadRequest]: 400,
  [ErrorCode.PayloadTooLarge]: 413,
  [ErrorCode.Unauthenticated]: 401,
  [ErrorCode.ParseFailed]: 400,
  [ErrorCode.ValidationFailed]: 400,
  [ErrorCode.BadUserInput]: 400,
  [ErrorCode.NotFound]: 200,
  [ErrorCode.UpstreamUnavailable]: 200,
  [ErrorCode.UpstreamBadResponse]: 200,
  [ErrorCode.RateLimited]: 429,
  [ErrorCode.SubscriptionTransportRequired]: 400,
  [ErrorCode.NotReady]: 503,
  [ErrorCode.Internal]: 500,
};

/** HTTP status for an error that ends a request before execution. */
export function httpStatusFor(code: ErrorCode): number {
  return STATUS[code];
}

/** The GraphQL-over-HTTP body for an error that ends a request before execution. */
export function errorBody(code: ErrorCode, message: string, extra: Record<string, unknown> = {}) {
  return { errors: [{ message, extensions: { code, ...extra } }] };
}

/**
 * `formatted` with the request's trace id in `extensions.traceId`, when the request is traced
 * (tracing on, lib/tracing): the id to look the request up by in traces and logs. Without a
 * trace there is none, and the error is left as it is.
 */
export function withTraceId(formatted: GraphQLFormattedError): GraphQLFormattedError {
  const ids = activeTraceIds();
  if (!ids) return formatted;
  return { ...formatted, extensions: { ...formatted.extensions, traceId: ids.traceId } };
}
