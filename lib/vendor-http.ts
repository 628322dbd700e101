/**
 * The HTTP layer under every typed vendor client: a per-request timeout, retries of 429 and
 * 502/503/504 that honour Retry-After (cockatiel), and every failure turned into a VendorError
 * with a stable code. Vendor response bodies are never put in messages: they may hold PHI.
 * Each attempt is a client span (lib/tracing) and carries the trace context to the vendor.
 */
import { SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { DelegateBackoff, handleType, retry } from 'cockatiel';
import type { IRetryBackoffContext } from 'cockatiel';
import { inSpan, withTraceHeaders } from './tracing/spans';
import { VendorError, VendorErrorCode, vendorErrorForStatus } from './vendor-error';

export interface VendorHttpOptions {
  /** Vendor name used in errors (`extensions.vendor`), e.g. "hubspot". */
  vendor: string;
  /** Base URL, without a trailing slash; the real vendor's or an emulator's. */
  baseUrl: string;
  /** Headers sent with every request (auth, API version). */
  headers: Record<string, string>;
  /** Abort one attempt after this long. @default 10000 */
  timeoutMs?: number;
  /** Retries after the first attempt for 429/502/503/504 and network errors. @default 2 */
  maxRetries?: number;
  /** Longest Retry-After we are willing to wait, in ms; longer → fail with VENDOR_RATE_LIMITED. @default 5000 */
  maxRetryAfterMs?: number;
  /** Injected for tests; the global fetch otherwise. */
  fetch?: typeof fetch;
}

export interface VendorRequest {
  method?: 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE';
  /** Path (with query string) appended to the base URL. */
  path: string;
  /**
   * The path's template for traces (`/crm/v3/objects/contacts/{id}`), without values that may
   * identify a patient. @default `path` without its query string, each segment that is not a
   * plain word (ids, emails, numbers) shown as `{id}`
   */
  route?: string;
  /** JSON body, or a string body sent as is with `contentType`. */
  body?: unknown;
  contentType?: string;
  headers?: Record<string, string>;
  /** Non-idempotent requests without an idempotency key are never retried. */
  retryable?: boolean;
  /**
   * Whether a 429 or 503 (the vendor asking us to wait, usually with Retry-After) is retried here
   * after the wait. false for a write planned on an earlier read: after a wait of a second or more
   * the plan may be stale, so the caller gets the VendorError at once and re-reads before writing
   * again. Other failures (502/504, network) are still retried when `retryable`.
   * @default true
   */
  retryThrottled?: boolean;
}

/** A retryable failure, carrying how long the vendor asked us to wait. */
class RetryableVendorError extends Error {
  constructor(
    readonly final: VendorError,
    readonly retryAfterMs: number | undefined,
    /** A 429/503: the vendor asked us to wait (VendorRequest.retryThrottled). */
    readonly throttled = false,
  ) {
    super(final.message);
  }
}

function parseRetryAfter(value: string | null): number | undefined {
  if (!value) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now());
}

/** `path` as a route template: no query string, and `{id}` for every segment that is not a plain word. */
export function routeTemplate(path: string): string {
  const [bare = ''] = path.split(/[?#]/, 1);
  return bare
    .split('/')
    .map((segment) => (segment === '' || /^(?:[A-Za-z_-]+|v\d+(?:\.\d+)?)$/.test(segment) ? segment : '{id}'))
    .join('/');
}

export interface VendorHttp {
  request<T>(request: VendorRequest): Promise<T>;
  readonly vendor: string;
}

export function createVendorHttp(options: VendorHttpOptions): VendorHttp {
  const doFetch = options.fetch ?? fetch;
  const timeoutMs = options.timeoutMs ?? 10_000;
  const maxRetryAfterMs = options.maxRetryAfterMs ?? 5_000;
  const baseUrl = options.baseUrl.replace(/\/+$/, '');
  // The vendor's host for spans (never its path or credentials).
  const server: Record<string, string | number> = {};
  try {
    const target = new URL(baseUrl);
    server['server.address'] = target.hostname;
    if (target.port) server['server.port'] = Number(target.port);
  } catch {
    // Not a URL: every request fails as unreachable, and the spans say so.
  }

  const retryOptions = {
    maxAttempts: options.maxRetries ?? 2,
    backoff: new DelegateBackoff((context: IRetryBackoffContext<unknown>) => {
      const error = 'error' in context.result ? context.result.error : undefined;
      const asked = error instanceof RetryableVendorError ? error.retryAfterMs : undefined;
      return asked ?? Math.min(1000, 50 * 2 ** context.attempt) + Math.floor(Math.random() * 25);
    }),
  };
  const policy = retry(handleType(RetryableVendorError), retryOptions);
  // The same, except that a throttled answer (429/503) ends the retries: VendorRequest.retryThrottled.
  const unthrottledPolicy = retry(
    handleType(RetryableVendorError, (error) => !error.throttled),
    retryOptions,
  );

  /** Attempt number `tries` (1 for the first) inside its own client span: vendor, method, route template, status. */
  function tracedAttempt<T>(request: VendorRequest, tries: number): Promise<T> {
    const method = request.method ?? (request.body === undefined ? 'GET' : 'POST');
    const route = request.route ?? routeTemplate(request.path);
    return inSpan(
      `${method} ${route}`,
      {
        kind: SpanKind.CLIENT,
        attributes: {
          'patient_graph.vendor': options.vendor,
          'http.request.method': method,
          'url.template': route,
          ...server,
          ...(tries > 1 ? { 'http.request.resend_count': tries - 1 } : {}),
        },
      },
      async (span) => {
        try {
          return await attempt<T>(request);
        } catch (error) {
          const failure = error instanceof RetryableVendorError ? error.final : error;
          if (failure instanceof VendorError) span.setAttribute('patient_graph.vendor.error_code', failure.code);
          throw error;
        }
      },
    );
  }

  async function attempt<T>(request: VendorRequest): Promise<T> {
    const headers: Record<string, string> = withTraceHeaders({ accept: 'application/json', ...options.headers, ...request.headers });
    let body: string | undefined;
    if (request.body !== undefined) {
      if (typeof request.body === 'string') {
        body = request.body;
        headers['content-type'] = request.contentType ?? 'application/x-www-form-urlencoded';
      } else {
        body = JSON.stringify(request.body);
        headers['content-type'] = 'application/json';
      }
    }
    let response: Response;
    try {
      response = await doFetch(`${baseUrl}${request.path}`, {
        method: request.method ?? (body === undefined ? 'GET' : 'POST'),
        headers,
        body,
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (error) {
      const timedOut = (error as Error).name === 'TimeoutError';
      throw new RetryableVendorError(
        new VendorError(options.vendor, VendorErrorCode.Unavailable, timedOut ? `no answer within ${timeoutMs} ms` : 'could not be reached'),
        undefined,
      );
    }
    trace.getActiveSpan()?.setAttribute('http.response.status_code', response.status);
    if (!response.ok) trace.getActiveSpan()?.setStatus({ code: SpanStatusCode.ERROR, message: `HTTP ${response.status}` });
    if (response.ok) {
      try {
        return (await response.json()) as T;
      } catch {
        throw new VendorError(options.vendor, VendorErrorCode.BadResponse, 'answered with a body that is not JSON', response.status);
      }
    }
    await response.body?.cancel();
    const failure = vendorErrorForStatus(options.vendor, response.status);
    if (response.status === 429 || response.status === 502 || response.status === 503 || response.status === 504) {
      const retryAfterMs = parseRetryAfter(response.headers.get('retry-after'));
      if (retryAfterMs !== undefined && retryAfterMs > maxRetryAfterMs) throw failure;
      throw new RetryableVendorError(failure, retryAfterMs, response.status === 429 || response.status === 503);
    }
    throw failure;
  }

  return {
    vendor: options.vendor,
    async request<T>(request: VendorRequest): Promise<T> {
      let tries = 0;
      const once = () => tracedAttempt<T>(request, ++tries);
      try {
        if (request.retryable === false) return await once();
        return await (request.retryThrottled === false ? unthrottledPolicy : policy).execute(once);
      } catch (error) {
        if (error instanceof RetryableVendorError) throw error.final;
        throw error;
      }
    },
  };
}
