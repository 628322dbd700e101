/**
 * Fair use of a subgraph: a bulkhead per subgraph (at most `maxConcurrent` calls in flight, then
 * a queue of `queueSize`), and inside it one per caller (token subject) with a smaller share, so
 * one client's burst waits behind its own share instead of taking every slot. A call that waits
 * longer than `queueTimeoutMs` (or past its request's deadline) leaves the queue with an error;
 * a full queue refuses at once. Either way only that call's fields fail (UPSTREAM_UNAVAILABLE
 * with reason OVERLOADED or QUEUE_TIMEOUT), and the subgraph's endpoints are not blamed.
 *
 * The bulkheads are cockatiel's. A caller's bulkhead lives while the caller has calls queued or in
 * flight, and is dropped once it has none. Runs after dedupe, so shared calls take one slot.
 */
import { BulkheadRejectedError, bulkhead } from 'cockatiel';
import type { BulkheadPolicy } from 'cockatiel';
import { PoolUnavailableError } from '../upstream/pool';
import type { ConcurrencyPolicy } from '../upstream/policy';
import type { SubgraphResult, SubgraphStage } from './call';

export interface BulkheadObserver {
  /** A call refused (queue full) or given up in the queue. */
  onOverload?(subgraph: string, reason: 'OVERLOADED' | 'QUEUE_TIMEOUT' | 'DEADLINE_EXCEEDED', scope: 'subgraph' | 'caller'): void;
  /** Time a call waited for its slots, in seconds (0 when there was no wait). */
  onQueued?(subgraph: string, seconds: number): void;
}

export interface BulkheadStageOptions {
  policy: (subgraph: string) => ConcurrencyPolicy;
  observer?: BulkheadObserver;
}

interface Shared {
  policy: BulkheadPolicy;
  /** Calls queued or in flight through it: the caller's bulkhead is dropped at zero. */
  users: number;
}

export interface BulkheadStage {
  stage: SubgraphStage;
  /** In flight and queued per subgraph, and how many callers hold a share (for /readyz and metrics). */
  describe(): Record<string, { inFlight: number; queued: number; callers: number }>;
}

export function bulkheadStage(options: BulkheadStageOptions): BulkheadStage {
  const subgraphs = new Map<string, Shared>();
  const callers = new Map<string, Map<string, Shared>>();

  const subgraphBulkhead = (subgraph: string, policy: ConcurrencyPolicy) => {
    let shared = subgraphs.get(subgraph);
    if (!shared) {
      shared = { policy: bulkhead(policy.maxConcurrent, policy.queueSize), users: 0 };
      subgraphs.set(subgraph, shared);
    }
    return shared;
  };
  const callerBulkhead = (subgraph: string, subject: string, policy: ConcurrencyPolicy) => {
    let bySubject = callers.get(subgraph);
    if (!bySubject) {
      bySubject = new Map();
      callers.set(subgraph, bySubject);
    }
    let shared = bySubject.get(subject);
    if (!shared) {
      shared = { policy: bulkhead(policy.callerMaxConcurrent, policy.callerQueueSize), users: 0 };
      bySubject.set(subject, shared);
    }
    return { shared, release: () => (--shared.users === 0 ? bySubject.delete(subject) : undefined) };
  };

  const stage: SubgraphStage = async (call, next) => {
    const policy = options.policy(call.subgraph);
    if (!policy.enabled) return next(call);
    const queuedAt = Date.now();
    const outer = subgraphBulkhead(call.subgraph, policy);
    const caller = callerBulkhead(call.subgraph, `${call.auth.clinic ?? ''}\u0000${call.auth.subject}`, policy);
    caller.shared.users += 1;

    // Set once the call holds both slots; a call given up in a queue runs nothing when its turn comes.
    let started = false;
    let givenUp = false;
    let scope: 'subgraph' | 'caller' = 'caller';
    const run = caller.shared.policy.execute(() => {
      scope = 'subgraph';
      return outer.policy.execute(() => {
        if (givenUp) return Promise.resolve(undefined);
        started = true;
        options.observer?.onQueued?.(call.subgraph, (Date.now() - queuedAt) / 1000);
        return next(call);
      });
    });

    const queueDeadline = Math.min(queuedAt + policy.queueTimeoutMs, call.deadline);
    const waitReason = queuedAt + policy.queueTimeoutMs <= call.deadline ? 'QUEUE_TIMEOUT' : 'DEADLINE_EXCEEDED';
    let timer: NodeJS.Timeout | undefined;
    const expiry = new Promise<'expired'>((resolve) => {
      timer = setTimeout(() => resolve('expired'), Math.max(0, queueDeadline - queuedAt));
    });
    try {
      // Once the call has its slots, only its own deadline (in the pool) ends it.
      const first = await Promise.race([run.then((result) => ({ result })), expiry]);
      if (first !== 'expired') return first.result as SubgraphResult;
      if (started) return (await run) as SubgraphResult;
      givenUp = true;
      run.catch(() => undefined);
      options.observer?.onOverload?.(call.subgraph, waitReason, scope);
      throw new PoolUnavailableError(call.subgraph, waitReason, `waited ${queueDeadline - queuedAt} ms for a ${scope === 'caller' ? "caller's" : "subgraph's"} slot`);
    } catch (error) {
      if (error instanceof BulkheadRejectedError) {
        options.observer?.onOverload?.(call.subgraph, 'OVERLOADED', scope);
        throw new PoolUnavailableError(call.subgraph, 'OVERLOADED', `the ${scope === 'caller' ? "caller's" : "subgraph's"} queue is full`);
      }
      throw error;
    } finally {
      clearTimeout(timer);
      // A call given up in the queue still holds its place until its turn comes (and does nothing).
      if (givenUp) void run.finally(caller.release).catch(() => undefined);
      else caller.release();
    }
  };

  return {
    stage,
    describe() {
      return Object.fromEntries(
        [...subgraphs].map(([name, shared]) => {
          const policy = options.policy(name);
          return [
            name,
            {
              inFlight: policy.maxConcurrent - shared.policy.executionSlots,
              queued: policy.queueSize - shared.policy.queueSlots,
              callers: callers.get(name)?.size ?? 0,
            },
          ];
        }),
      );
    },
  };
}
