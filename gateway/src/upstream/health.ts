/**
 * Active health checks: every `intervalMs`, each endpoint of a pool is asked whether it is well
 * (GET its health path, or POST `{ __typename }` to its GraphQL URL when no path is set). The
 * GraphQL check is signed like any subgraph call, as a caller of its own with no roles, so it
 * proves the endpoint answers GraphQL for the gateway (an endpoint refusing the gateway's
 * secret fails it).
 */
import { randomUUID } from 'node:crypto';
import type { InternalIdentity, InternalTokenSigner } from '../../../lib/internal-identity';
import type { Endpoint } from './endpoint';
import type { HealthPolicy } from './policy';

/** Who a health check is, in the subgraph's eyes: no user, no roles, nothing to see. */
export const HEALTH_CHECK_SUBJECT = 'gateway-health-check';

const healthCheckIdentity = (): InternalIdentity => ({ subject: HEALTH_CHECK_SUBJECT, roles: [], requestId: randomUUID() });

export async function checkEndpoint(endpoint: Endpoint, policy: HealthPolicy, signer: InternalTokenSigner): Promise<boolean> {
  try {
    const signal = AbortSignal.timeout(policy.timeoutMs);
    const response = policy.path
      ? await fetch(new URL(policy.path, endpoint.url), { signal })
      : await fetch(endpoint.url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...(await signer.headers(endpoint.subgraph, healthCheckIdentity())) },
          body: '{"query":"{ __typename }"}',
          signal,
        });
    await response.body?.cancel();
    return response.ok;
  } catch {
    return false;
  }
}

/** Check every endpoint on an interval; returns a disposer. */
export function startHealthChecks(endpoints: readonly Endpoint[], policy: HealthPolicy, signer: InternalTokenSigner): () => void {
  if (policy.intervalMs === 0) return () => undefined;
  let running = false;
  const timer = setInterval(async () => {
    if (running) return; // a slow round never overlaps the next
    running = true;
    try {
      await Promise.all(endpoints.map(async (endpoint) => endpoint.recordCheck(await checkEndpoint(endpoint, policy, signer))));
    } finally {
      running = false;
    }
  }, policy.intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
