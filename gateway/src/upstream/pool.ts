/**
 * A subgraph's pool of endpoints and the one way requests reach them: pick a healthy primary
 * round-robin (a replica only when no primary is available, and never for a mutation), send
 * through that endpoint's breaker with a per-try timeout, retry a query elsewhere when no
 * response byte arrived (or on 429/502/503/504) within the retry budget and the request's
 * deadline. (Sharing one call among identical queries is the dedupe stage's work, in front.)
 * Each try is a client span carrying the trace context to the subgraph (`traceparent`).
 */
import { SpanKind } from '@opentelemetry/api';
import type { Span } from '@opentelemetry/api';
import { DelegateBackoff, handleWhen, retry } from 'cockatiel';
import type { InternalTokenSigner } from '../../../lib/internal-identity';
import { inSpan, withTraceHeaders } from '../../../lib/tracing/spans';
import type { IRetryBackoffContext } from 'cockatiel';
import { BrokenCircuitError } from 'cockatiel';
import { Endpoint, UpstreamAttemptError } from './endpoint';
import type { EndpointEvent, EndpointRole, SharedResponse } from './endpoint';
import { startHealthChecks } from './health';
import type { UpstreamPolicy } from './policy';
import { RetryBudget } from './retry-budget';

export type OperationKind = 'query' | 'mutation';

export interface PoolRequest {
  kind: OperationKind;
  headers: Record<string, string>;
  body: string;
  /** Epoch ms after which the whole request gives up. */
  deadline: number;
  /**
   * Headers made afresh for each try, on top of `headers`: a signed internal identity is good for
   * 60 s, and a request's tries may span longer (its deadline is REQUEST_TIMEOUT_MS).
   */
  perTryHeaders?: () => Promise<Record<string, string>>;
}

/** Why a subgraph could not answer, in words a client may see (no URLs, no internals). */
/** Why a subgraph call got no answer; OVERLOADED and QUEUE_TIMEOUT come from its bulkhead (bulkhead-stage.ts). */
export type UnavailableCause = 'NO_ENDPOINT_AVAILABLE' | 'ATTEMPTS_FAILED' | 'DEADLINE_EXCEEDED' | 'OVERLOADED' | 'QUEUE_TIMEOUT';

/** No endpoint could answer; `reason` is the detail for logs, `cause` the part for clients. */
export class PoolUnavailableError extends Error {
  constructor(
    readonly subgraph: string,
    readonly unavailableCause: UnavailableCause,
    readonly reason: string,
  ) {
    super(`Subgraph "${subgraph}" is unavailable: ${reason}`);
    this.name = 'PoolUnavailableError';
  }
}

export interface PoolObserver {
  onEndpointEvent?(endpoint: Endpoint, event: EndpointEvent): void;
  onAttempt?(endpoint: Endpoint, outcome: 'success' | 'failure' | 'rejected', seconds: number): void;
  onRetry?(subgraph: string, reason: string): void;
  /** Every endpoint was ejected and one was tried anyway. */
  onPanic?(subgraph: string): void;
}

const RETRYABLE_STATUSES = new Set([429, 502, 503, 504]);

function parseRetryAfter(value: string | null): number | undefined {
  if (!value) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}

export class SubgraphPool {
  readonly endpoints: Endpoint[];
  private next = 0;
  private readonly budget: RetryBudget;
  private readonly stopChecks: () => void;

  constructor(
    readonly name: string,
    urls: { primaries: string[]; replicas: string[] },
    readonly policy: UpstreamPolicy,
    /** Signs the active health checks, which subgraphs refuse unsigned like any call. */
    signer: InternalTokenSigner,
    private readonly observer: PoolObserver = {},
  ) {
    const make = (url: string, role: EndpointRole) =>
      new Endpoint(name, url, role, policy, (endpoint, event) => observer.onEndpointEvent?.(endpoint, event));
    this.endpoints = [...urls.primaries.map((url) => make(url, 'primary')), ...urls.replicas.map((url) => make(url, 'replica'))];
    this.budget = new RetryBudget(policy.retry.budgetRatio, policy.retry.budgetMinPerSecond);
    this.stopChecks = startHealthChecks(this.endpoints, policy.health, signer);
  }

  stop(): void {
    this.stopChecks();
  }

  /** Round-robin over available primaries not yet tried; replicas only for queries, only when no primary is available. */
  pick(kind: OperationKind, tried: ReadonlySet<Endpoint>): Endpoint | undefined {
    const now = Date.now();
    const choose = (role: EndpointRole, allowTried: boolean) => {
      const candidates = this.endpoints.filter((e) => e.role === role && e.isAvailable(now) && (allowTried || !tried.has(e)));
      if (candidates.length === 0) return undefined;
      this.next = (this.next + 1) % 1_000_000;
      return candidates[this.next % candidates.length];
    };
    // A retry prefers an endpoint not tried yet, but may come back to one (it may have been a blip).
    const healthy =
      choose('primary', false) ??
      (kind === 'query' ? choose('replica', false) : undefined) ??
      choose('primary', true) ??
      (kind === 'query' ? choose('replica', true) : undefined);
    if (healthy || tried.size > 0) return healthy;
    // Panic, as Envoy calls it: with every endpoint ejected by health, failing everyone is worse
    // than trying them anyway (an ejection can be wrong; a breaker that is open is not overruled).
    const panic = this.endpoints.filter((e) => (kind === 'query' || e.role === 'primary') && e.breaker.admits() && e.throttledUntil <= now);
    if (panic.length === 0) return undefined;
    this.observer.onPanic?.(this.name);
    this.next = (this.next + 1) % 1_000_000;
    const primaries = panic.filter((e) => e.role === 'primary');
    const among = primaries.length > 0 ? primaries : panic;
    return among[this.next % among.length];
  }

  /** Another endpoint than `endpoint` could take a retry of a `kind` call now. */
  private hasAlternative(endpoint: Endpoint, kind: OperationKind): boolean {
    const now = Date.now();
    return this.endpoints.some((e) => e !== endpoint && (kind === 'query' || e.role === 'primary') && e.isAvailable(now));
  }

  /** Earliest instant a throttled endpoint accepts requests again, for waiting out a Retry-After. */
  private earliestUnthrottled(kind: OperationKind): number | undefined {
    const candidates = this.endpoints.filter(
      (e) => (kind === 'query' || e.role === 'primary') && e.health.phase === 'healthy' && e.breaker.admits() && e.throttledUntil > Date.now(),
    );
    return candidates.length ? Math.min(...candidates.map((e) => e.throttledUntil)) : undefined;
  }

  async send(request: PoolRequest): Promise<SharedResponse> {
    this.budget.recordRequest();
    const tried = new Set<Endpoint>();
    const deadlineSignal = AbortSignal.timeout(Math.max(0, request.deadline - Date.now()));
    const { retry: retryPolicy } = this.policy;
    let lastReason = 'no endpoint is available';
    let attempts = 0;

    const policy = retry(
      handleWhen((error) => {
        if (request.kind === 'mutation' || !(error instanceof UpstreamAttemptError) || !error.options.retryable) return false;
        // cockatiel asks before it checks its attempt count: the last failure must not spend budget.
        if (attempts > retryPolicy.maxRetries || Date.now() >= request.deadline) return false;
        if (!this.budget.tryRetry()) {
          lastReason = `${error.message}; retry budget spent`;
          return false;
        }
        this.observer.onRetry?.(this.name, error.message);
        return true;
      }),
      {
        maxAttempts: request.kind === 'mutation' ? 0 : retryPolicy.maxRetries,
        backoff: new DelegateBackoff((context: IRetryBackoffContext<unknown>) => {
          const exponential = Math.min(retryPolicy.maxBackoffMs, retryPolicy.backoffMs * 2 ** (context.attempt - 1));
          const jittered = exponential / 2 + Math.random() * (exponential / 2);
          // A Retry-After only delays us when no other endpoint can take the retry.
          const waitFor = this.pick(request.kind, tried) ? 0 : (this.earliestUnthrottled(request.kind) ?? 0) - Date.now();
          return Math.min(retryPolicy.maxBackoffMs, Math.max(jittered, waitFor));
        }),
      },
    );

    try {
      return await policy.execute(async () => {
        attempts += 1;
        const endpoint = this.pick(request.kind, tried);
        if (!endpoint) {
          throw new PoolUnavailableError(this.name, tried.size === 0 ? 'NO_ENDPOINT_AVAILABLE' : 'ATTEMPTS_FAILED', lastReason);
        }
        tried.add(endpoint);
        try {
          return await this.tracedTry(endpoint, request, deadlineSignal, attempts);
        } catch (error) {
          if (error instanceof BrokenCircuitError) {
            // Lost a race with the breaker opening: nothing was sent, so another endpoint may try.
            throw new UpstreamAttemptError('circuit open', { retryable: true, breakerFailure: false });
          }
          if (error instanceof UpstreamAttemptError) lastReason = error.message;
          throw error;
        }
      }, deadlineSignal);
    } catch (error) {
      if (error instanceof UpstreamAttemptError) {
        if (error.options.response) return error.options.response;
        throw new PoolUnavailableError(this.name, deadlineSignal.aborted ? 'DEADLINE_EXCEEDED' : 'ATTEMPTS_FAILED', lastReason);
      }
      if (error instanceof PoolUnavailableError) throw error;
      if (deadlineSignal.aborted) throw new PoolUnavailableError(this.name, 'DEADLINE_EXCEEDED', 'request deadline exceeded');
      throw error;
    }
  }

  /** Try number `attempt` (1 for the first) in its own client span: endpoint (without credentials), status, outcome. */
  private tracedTry(endpoint: Endpoint, request: PoolRequest, deadlineSignal: AbortSignal, attempt: number): Promise<SharedResponse> {
    const attributes = {
      'patient_graph.subgraph': this.name,
      'patient_graph.endpoint.role': endpoint.role,
      'http.request.method': 'POST',
      'url.full': endpoint.shownUrl,
      'patient_graph.attempt': attempt,
      ...(attempt > 1 ? { 'http.request.resend_count': attempt - 1 } : {}),
    };
    return inSpan(`POST ${this.name}`, { kind: SpanKind.CLIENT, attributes }, async (span) => {
      try {
        const response = await this.tryOnce(endpoint, request, deadlineSignal, span);
        span.setAttributes({ 'http.response.status_code': response.status, 'patient_graph.outcome': 'success' });
        return response;
      } catch (error) {
        if (error instanceof UpstreamAttemptError) {
          span.setAttributes({
            'patient_graph.outcome': error.options.retryable ? 'retryable_failure' : 'failure',
            ...(error.options.response ? { 'http.response.status_code': error.options.response.status } : {}),
          });
        } else if (error instanceof BrokenCircuitError) {
          span.setAttribute('patient_graph.outcome', 'circuit_open');
        }
        throw error;
      }
    });
  }

  /** One try against one endpoint, through its breaker. */
  private async tryOnce(endpoint: Endpoint, request: PoolRequest, deadlineSignal: AbortSignal, span?: Span): Promise<SharedResponse> {
    const started = process.hrtime.bigint();
    const seconds = () => Number(process.hrtime.bigint() - started) / 1e9;
    try {
      const response = await endpoint.breaker.execute(() => this.exchange(endpoint, request, deadlineSignal, span));
      endpoint.recordSuccess();
      this.observer.onAttempt?.(endpoint, 'success', seconds());
      return response;
    } catch (error) {
      if (error instanceof UpstreamAttemptError) {
        if (error.options.breakerFailure) endpoint.recordFailure(error.message);
        if (error.options.retryAfterMs !== undefined) endpoint.throttledUntil = Date.now() + error.options.retryAfterMs;
        this.observer.onAttempt?.(endpoint, error.options.breakerFailure ? 'failure' : 'rejected', seconds());
      }
      throw error;
    }
  }

  /** The HTTP exchange: classifies every outcome for retries and the breaker. */
  private async exchange(endpoint: Endpoint, request: PoolRequest, deadlineSignal: AbortSignal, span?: Span): Promise<SharedResponse> {
    // The try's span is the subgraph's parent: its `traceparent` goes with the request.
    const headers = withTraceHeaders(request.perTryHeaders ? { ...request.headers, ...(await request.perTryHeaders()) } : request.headers);
    const tryController = new AbortController();
    // The per-try timeout is for moving on to another endpoint; with none to move to, the request's
    // own deadline decides (a slow answer to a heavy query is not an endpoint that is down).
    const tryTimer = this.hasAlternative(endpoint, request.kind) ? setTimeout(() => tryController.abort(), this.policy.tryTimeoutMs) : undefined;
    let response: Response;
    try {
      response = await fetch(endpoint.url, {
        method: 'POST',
        headers,
        body: request.body,
        signal: AbortSignal.any([tryController.signal, deadlineSignal]),
      });
    } catch (error) {
      const timedOut = tryController.signal.aborted;
      const detail = timedOut
        ? `no response from ${endpoint.shownUrl} within ${this.policy.tryTimeoutMs} ms`
        : deadlineSignal.aborted
          ? 'request deadline exceeded'
          : `${endpoint.shownUrl} could not be reached (${causeOf(error)})`;
      // Slowness (a try timeout, the deadline) never counts against the endpoint: only failing to
      // connect or a broken exchange does.
      throw new UpstreamAttemptError(detail, { retryable: !deadlineSignal.aborted, breakerFailure: !deadlineSignal.aborted && !timedOut });
    } finally {
      // Headers arrived (or the try ended): the body is read under the request's deadline only.
      clearTimeout(tryTimer);
    }

    span?.setAttribute('http.response.status_code', response.status);
    if (RETRYABLE_STATUSES.has(response.status)) {
      await response.body?.cancel();
      const retryAfterMs = response.status === 429 || response.status === 503 ? parseRetryAfter(response.headers.get('retry-after')) : undefined;
      throw new UpstreamAttemptError(`${endpoint.shownUrl} answered ${response.status}`, {
        retryable: true,
        breakerFailure: response.status !== 429,
        retryAfterMs,
      });
    }
    let body: string;
    try {
      body = await response.text();
    } catch (error) {
      // Bytes had arrived: the subgraph may have acted on it, so this is not retried.
      throw new UpstreamAttemptError(`${endpoint.shownUrl} broke off its response (${causeOf(error)})`, { retryable: false, breakerFailure: true });
    }
    const shared: SharedResponse = { status: response.status, headers: [...response.headers], body };
    if (response.status >= 500) {
      throw new UpstreamAttemptError(`${endpoint.shownUrl} answered ${response.status}`, { retryable: false, breakerFailure: true, response: shared });
    }
    return shared;
  }

  describe() {
    return this.endpoints.map((endpoint) => endpoint.describe());
  }
}

function causeOf(error: unknown): string {
  const { code, cause } = (error ?? {}) as { code?: string; cause?: { code?: string; message?: string } };
  return code ?? cause?.code ?? cause?.message ?? (error as Error)?.message ?? 'unknown error';
}
