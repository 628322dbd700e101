/**
 * What a client sees when a subgraph cannot give an answer: an error on that subgraph's fields
 * only, with `extensions: { code, serviceName, … }`, no URLs and nothing the subgraph said
 * beyond its status. The query planner still serves everything else.
 */
import { GraphQLError } from 'graphql';
import { ErrorCode } from '../errors';
import { PoolUnavailableError } from '../upstream/pool';
import type { UnavailableCause } from '../upstream/pool';

const CAUSE_MESSAGES: Record<UnavailableCause, string> = {
  NO_ENDPOINT_AVAILABLE: 'no endpoint is available',
  ATTEMPTS_FAILED: 'every attempt failed',
  DEADLINE_EXCEEDED: 'no answer within the request deadline',
  OVERLOADED: 'too many calls are waiting for it',
  QUEUE_TIMEOUT: 'no slot came free in time',
};

export function unavailableError(subgraph: string, cause: UnavailableCause): GraphQLError {
  return new GraphQLError(`Subgraph "${subgraph}" is unavailable: ${CAUSE_MESSAGES[cause]}`, {
    extensions: { code: ErrorCode.UpstreamUnavailable, serviceName: subgraph, reason: cause },
  });
}

/** The subgraph answered, but not with GraphQL (a proxy's HTML error page, a truncated body). */
export function badResponseError(subgraph: string, status: number): GraphQLError {
  return new GraphQLError(`Subgraph "${subgraph}" answered HTTP ${status} without a GraphQL response`, {
    extensions: { code: ErrorCode.UpstreamBadResponse, serviceName: subgraph, status },
  });
}

/**
 * The subgraph refused the gateway's internal identity token: the gateway's configuration is at
 * fault (INTERNAL_TOKEN_SECRET or the subgraph's name), not the client's credentials.
 */
export function identityRefusedError(subgraph: string): GraphQLError {
  return new GraphQLError(`Subgraph "${subgraph}" refused the gateway's internal identity`, {
    extensions: { code: ErrorCode.UpstreamBadResponse, serviceName: subgraph, status: 401 },
  });
}

/** Any failure of a subgraph call, as the error the client gets. */
export function toClientError(subgraph: string, error: unknown): GraphQLError {
  if (error instanceof GraphQLError) return error;
  if (error instanceof PoolUnavailableError) return unavailableError(subgraph, error.unavailableCause);
  return new GraphQLError(`Subgraph "${subgraph}" could not be called`, { extensions: { code: ErrorCode.Internal, serviceName: subgraph } });
}
