/**
 * The pipeline's terminal: a SubgraphCall on the wire. The call becomes a GraphQL-over-HTTP
 * POST sent through the subgraph's upstream pool (balancing, retries, breakers), with the
 * caller's identity signed for that subgraph (lib/internal-identity.ts), and the answer is read
 * back as a GraphQL body.
 */
import type { InternalTokenSigner } from '../../../lib/internal-identity';
import type { SubgraphPool } from '../upstream/pool';
import type { Next, SubgraphBody } from './call';
import { badResponseError, identityRefusedError } from './upstream-errors';

function isGraphQLBody(value: unknown): value is SubgraphBody {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && ('data' in value || 'errors' in value);
}

export function poolTerminal(pool: SubgraphPool, signer: InternalTokenSigner): Next {
  return async (call) => {
    const identity = { subject: call.auth.subject, roles: call.auth.roles, requestId: call.requestId, ...(call.auth.clinic ? { clinic: call.auth.clinic } : {}) };
    const response = await pool.send({
      kind: call.kind,
      headers: { 'content-type': 'application/json' },
      // Signed for each try: a retry may come later than a token lives.
      perTryHeaders: () => signer.headers(call.subgraph, identity),
      body: JSON.stringify({ query: call.query, variables: call.variables, ...(call.operationName ? { operationName: call.operationName } : {}) }),
      deadline: call.deadline,
    });
    // The subgraph refused the gateway's own token (a secret that differs, a subgraph named
    // otherwise): not the client's credentials, so never passed on as its UNAUTHENTICATED.
    if (response.status === 401) throw identityRefusedError(call.subgraph);
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
