/**
 * One URL of a subgraph and everything the gateway knows about it: its role, its health (from
 * active checks and passive ejection), its circuit breaker and any Retry-After it asked for.
 * Every change of health or breaker state is reported once to the listener.
 */
import { withoutCredentials } from '../../../lib/redact-url';
import { createEndpointBreaker } from './breaker';
import type { BreakerState, EndpointBreaker } from './breaker';
import type { UpstreamPolicy } from './policy';

export type EndpointRole = 'primary' | 'replica';

export type EndpointHealth =
  | { phase: 'healthy'; consecutiveFailures: number; failedChecks: number }
  | { phase: 'ejected'; since: number; reason: 'checks' | 'failures'; passedChecks: number };

export type EndpointEvent =
  | { kind: 'health'; state: EndpointHealth['phase']; reason?: string }
  | { kind: 'breaker'; state: BreakerState };

/** An error of one try; `breakerFailure` says whether it counts against the endpoint. */
export class UpstreamAttemptError extends Error {
  constructor(
    message: string,
    readonly options: {
      /** Safe to send again elsewhere: no response byte arrived (or 429/502/503/504). */
      retryable: boolean;
      breakerFailure: boolean;
      retryAfterMs?: number;
      /** A complete response to hand back when the failure is not retried (e.g. a 500). */
      response?: SharedResponse;
    },
  ) {
    super(message);
    this.name = 'UpstreamAttemptError';
  }
}

/** A subgraph response read to the end, so it can be shared and replayed. */
export interface SharedResponse {
  status: number;
  headers: Array<[string, string]>;
  body: string;
}

export class Endpoint {
  health: EndpointHealth = { phase: 'healthy', consecutiveFailures: 0, failedChecks: 0 };
  readonly breaker: EndpointBreaker;
  /** Not before this instant (epoch ms): the endpoint sent 429 with Retry-After. */
  throttledUntil = 0;
  /** The URL as it may be printed (logs, metrics, /readyz): without a password it may carry. */
  readonly shownUrl: string;

  constructor(
    readonly subgraph: string,
    readonly url: string,
    readonly role: EndpointRole,
    private readonly policy: UpstreamPolicy,
    private readonly emit: (endpoint: Endpoint, event: EndpointEvent) => void,
  ) {
    this.shownUrl = withoutCredentials(url);
    this.breaker = createEndpointBreaker(policy.breaker, (error) => error instanceof UpstreamAttemptError && error.options.breakerFailure);
    this.breaker.onChange((state) => this.emit(this, { kind: 'breaker', state }));
  }

  /** Can a request be sent here now? */
  isAvailable(now = Date.now()): boolean {
    return this.health.phase === 'healthy' && now >= this.throttledUntil && this.breaker.admits();
  }

  /** A request succeeded (any complete response that was not a 5xx). */
  recordSuccess(): void {
    if (this.health.phase === 'healthy') this.health.consecutiveFailures = 0;
  }

  /** A request failed in a way that says the endpoint is unwell. */
  recordFailure(reason: string): void {
    if (this.health.phase !== 'healthy') return;
    this.health.consecutiveFailures += 1;
    if (this.health.consecutiveFailures >= this.policy.health.ejectAfterFailures) this.eject('failures', reason);
  }

  /** The outcome of one active health check. */
  recordCheck(passed: boolean): void {
    const { health } = this.policy;
    switch (this.health.phase) {
      case 'healthy':
        if (passed) {
          this.health.failedChecks = 0;
          return;
        }
        this.health.failedChecks += 1;
        if (this.health.failedChecks >= health.unhealthyThreshold) this.eject('checks', 'health checks failed');
        return;
      case 'ejected':
        if (!passed) {
          this.health.passedChecks = 0;
          return;
        }
        this.health.passedChecks += 1;
        if (this.health.passedChecks >= health.healthyThreshold) {
          this.health = { phase: 'healthy', consecutiveFailures: 0, failedChecks: 0 };
          this.emit(this, { kind: 'health', state: 'healthy', reason: 'health checks passed' });
        }
        return;
    }
  }

  private eject(reason: 'checks' | 'failures', detail: string): void {
    this.health = { phase: 'ejected', since: Date.now(), reason, passedChecks: 0 };
    this.emit(this, { kind: 'health', state: 'ejected', reason: detail });
  }

  describe() {
    return {
      url: this.shownUrl,
      role: this.role,
      health: this.health.phase,
      breaker: this.breaker.state(),
      ...(this.throttledUntil > Date.now() ? { throttledUntil: new Date(this.throttledUntil).toISOString() } : {}),
    };
  }
}
