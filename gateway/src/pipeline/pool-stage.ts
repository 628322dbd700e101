/**
 * The pipeline's terminal: a SubgraphCall on the wire. The call becomes a GraphQL-over-HTTP
 * POST sent through the subgraph's upstream pool (balancing, retries, breakers), and the
 * answer is read back as a GraphQL body.
 */
import type { SubgraphPool } from '../upstream/pool';
import type { Next, SubgraphBody } from './call';
import { badResponseError } from './upstream-errors';

/**
 * Who is asking, for subgraphs that record it (the sync subgraph's resolvedBy). A user id, not
 * PHI; subgraphs sit on the internal network behind the gateway.
 */
export const SUBJECT_HEADER = 'x-user-subject';

function isGraphQLBody(value: unknown): value is SubgraphBody {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && ('data' in value || 'errors' in value);
}

export function poolTerminal(pool: SubgraphPool): Next {
  return async (call) => {
    const response = await pool.send({
      kind: call.kind,
      headers: { 'content-type': 'application/json', [SUBJECT_HEADER]: call.auth.subject },
      body: JSON.stringify({ query: call.query, variables: call.variables, ...(call.operationName ? { operationName: call.operationName } : {}) }),
      deadline: call.deadline,
    });
    let body: unknown;
    try {
      body = JSON.parse(response.body);
    } catch {
      throw badResponseError(call.subgraph, response.status);
    }
    // A 4xx or 5xx that still carries GraphQL errors says more than its status does.
    if (!isGraphQLBody(body)) throw badResponseError(call.subgraph, response.status);
    return { status: response.status, headers: new Headers(response.headers), body };
  };
}
