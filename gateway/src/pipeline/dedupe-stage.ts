/**
 * In-flight dedupe: identical queries to one subgraph (same document and variables, same
 * scopeOf(auth)) that overlap in time are sent once and the answer is shared. Mutations are
 * never shared. Every caller gets a body of its own, since later stages and the query planner
 * change bodies in place.
 */
import type { SubgraphResult, SubgraphStage } from './call';
import { fetchShape } from './call';
import { scopeOf } from './scope';

export interface DedupeStageOptions {
  /** Off for a subgraph whose policy says `dedupe: false`. */
  enabled: (subgraph: string) => boolean;
  /** A call was answered by sharing another's. */
  onShared?: (subgraph: string) => void;
}

export function dedupeStage(options: DedupeStageOptions): SubgraphStage {
  const inflight = new Map<string, { pending: Promise<SubgraphResult>; followers: number }>();
  const copy = (result: SubgraphResult): SubgraphResult => ({ ...result, body: structuredClone(result.body) });
  return async (call, next) => {
    if (call.kind === 'mutation' || !options.enabled(call.subgraph)) return next(call);
    const key = JSON.stringify([call.subgraph, fetchShape(call), call.variables, scopeOf(call.auth)]);
    const existing = inflight.get(key);
    if (existing) {
      existing.followers += 1;
      options.onShared?.(call.subgraph);
      return copy(await existing.pending);
    }
    const entry = { pending: next(call).finally(() => inflight.delete(key)), followers: 0 };
    inflight.set(key, entry);
    const result = await entry.pending;
    // Followers joined before the answer arrived and copy it after this resumes: leave theirs untouched.
    return entry.followers > 0 ? copy(result) : result;
  };
}
