/**
 * Active health checks: every `intervalMs`, each endpoint of a pool is asked whether it is well
 * (GET its health path, or POST `{ __typename }` to its GraphQL URL when no path is set).
 */
import type { Endpoint } from './endpoint';
import type { HealthPolicy } from './policy';

export async function checkEndpoint(endpoint: Endpoint, policy: HealthPolicy): Promise<boolean> {
  try {
    const signal = AbortSignal.timeout(policy.timeoutMs);
    const response = policy.path
      ? await fetch(new URL(policy.path, endpoint.url), { signal })
      : await fetch(endpoint.url, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
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
export function startHealthChecks(endpoints: readonly Endpoint[], policy: HealthPolicy): () => void {
  if (policy.intervalMs === 0) return () => undefined;
  let running = false;
  const timer = setInterval(async () => {
    if (running) return; // a slow round never overlaps the next
    running = true;
    try {
      await Promise.all(endpoints.map(async (endpoint) => endpoint.recordCheck(await checkEndpoint(endpoint, policy))));
    } finally {
      running = false;
    }
  }, policy.intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
