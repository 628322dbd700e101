/**
 * One endpoint's circuit breaker: cockatiel's CircuitBreakerPolicy owns the open → half-open
 * timing and fast-fails while open; the breaker object plugged into it decides when to open
 * (N failures within a sliding window) and keeps the circuit on probation after the first
 * half-open success until enough consecutive successes arrive (cockatiel 3 closes on one).
 * During probation the breaker reports `half-open`, and any failure reopens it at once.
 */
import { CircuitBreakerPolicy, CircuitState, circuitBreaker, handleWhen } from 'cockatiel';
import type { IBreaker } from 'cockatiel';
import type { BreakerPolicy } from './policy';

export type BreakerState = 'closed' | 'open' | 'half-open';

/** Opens on `threshold` failures within `windowMs`; needs `successesToClose` to leave probation. */
class WindowedBreaker implements IBreaker {
  private failures: number[] = [];
  /** Successes still needed before the circuit counts as closed; 0 when closed. */
  probation = 0;

  constructor(
    private readonly policy: BreakerPolicy,
    private readonly onProbationOver: () => void,
  ) {}

  get state(): unknown {
    return { failures: this.failures, probation: this.probation };
  }
  set state(value: unknown) {
    const restored = value as { failures?: number[]; probation?: number } | undefined;
    this.failures = restored?.failures ?? [];
    this.probation = restored?.probation ?? 0;
  }

  success(state: CircuitState): void {
    if (state === CircuitState.HalfOpen) {
      // The probe passed: cockatiel closes now; we stay on probation for the remaining successes.
      this.failures = [];
      this.probation = this.policy.successesToClose - 1;
      if (this.probation === 0) this.onProbationOver();
      return;
    }
    if (this.probation > 0) {
      this.probation -= 1;
      if (this.probation === 0) this.onProbationOver();
    }
  }

  failure(state: CircuitState): boolean {
    if (state === CircuitState.HalfOpen) return true;
    if (this.probation > 0) {
      this.probation = 0;
      return true;
    }
    const now = Date.now();
    this.failures = this.failures.filter((at) => now - at < this.policy.windowMs);
    this.failures.push(now);
    if (this.failures.length >= this.policy.failureThreshold) {
      this.failures = [];
      return true;
    }
    return false;
  }
}

export interface EndpointBreaker {
  state(): BreakerState;
  /** False while open and not yet due for a probe, or while a half-open probe is in flight. */
  admits(): boolean;
  /** Run `fn` through the breaker; errors for which `countsAsFailure` is true count against it. */
  execute<T>(fn: () => Promise<T>): Promise<T>;
  onChange(listener: (state: BreakerState) => void): void;
}

export function createEndpointBreaker(policy: BreakerPolicy, countsAsFailure: (error: Error) => boolean): EndpointBreaker {
  const listeners: Array<(state: BreakerState) => void> = [];
  let last: BreakerState = 'closed';
  let openedAt = 0;
  const emitIfChanged = () => {
    const now = current();
    if (now === last) return;
    last = now;
    for (const listener of listeners) listener(now);
  };
  const windowed = new WindowedBreaker(policy, () => queueMicrotask(emitIfChanged));
  const policyBreaker: CircuitBreakerPolicy = circuitBreaker(handleWhen(countsAsFailure), {
    halfOpenAfter: policy.halfOpenAfterMs,
    breaker: windowed,
  });
  const current = (): BreakerState => {
    switch (policyBreaker.state) {
      case CircuitState.Open:
      case CircuitState.Isolated:
        return 'open';
      case CircuitState.HalfOpen:
        return 'half-open';
      case CircuitState.Closed:
        return windowed.probation > 0 ? 'half-open' : 'closed';
    }
  };
  policyBreaker.onBreak(() => {
    openedAt = Date.now();
  });
  policyBreaker.onStateChange(() => emitIfChanged());

  return {
    state: current,
    admits() {
      switch (policyBreaker.state) {
        case CircuitState.Closed:
          return true;
        case CircuitState.Open:
          return Date.now() - openedAt >= policy.halfOpenAfterMs;
        case CircuitState.HalfOpen:
        case CircuitState.Isolated:
          return false;
      }
    },
    execute: (fn) => policyBreaker.execute(fn),
    onChange(listener) {
      listeners.push(listener);
    },
  };
}
