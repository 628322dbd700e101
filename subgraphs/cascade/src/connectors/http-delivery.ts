/**
 * The HTTP attempt every connector makes, and the one mapping from a vendor's answer to a
 * DeliveryOutcome: 2xx sent; 408, 429, 5xx, a timeout or a refused connection retry (with the
 * vendor's Retry-After); any other answer failed. One attempt only: the engine owns retries.
 * Reasons name the connector and the HTTP status, never a body (it may echo field values).
 */
import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { inSpan } from '../../../../lib/tracing/spans';
import type { DeliveryOutcome } from './types';
import { parseRetryAfter } from './retry-after';

export interface HttpAttempt {
  method: 'POST' | 'PUT';
  url: string;
  headers: Record<string, string>;
  body: string;
}

/** A 2xx answer, read in full so the connector can take the vendor's id from it. */
export interface HttpSuccess {
  ok: true;
  status: number;
  text: string;
}

export type HttpResult = HttpSuccess | { ok: false; outcome: DeliveryOutcome };

export interface AttemptContext {
  /** e.g. `slack "front-desk"`: how reasons name the connector. */
  label: string;
  /** The engine's signal (timeout of the whole step, shutdown). */
  signal: AbortSignal;
  /** This connector's own limit on one request. */
  timeoutMs: number;
  /** Injected by tests that need a broken network; the global fetch otherwise. */
  fetch?: typeof fetch;
}

/** Whether an answer with this status is worth sending again later. */
export function isRetryableStatus(status: number): boolean {
  return status === 408 || status === 429 || status >= 500;
}

/**
 * One attempt, as a client span (`<METHOD> connector`): the connector, the vendor's host, the
 * status and the outcome; never the URL's path or query (webhook URLs hold their secret there).
 */
export function attemptHttp(request: HttpAttempt, context: AttemptContext): Promise<HttpResult> {
  let host: string | undefined;
  try {
    host = new URL(request.url).hostname;
  } catch {
    host = undefined;
  }
  return inSpan(
    `${request.method} connector`,
    { kind: SpanKind.CLIENT, attributes: { 'patient_graph.connector': context.label, 'http.request.method': request.method, ...(host ? { 'server.address': host } : {}) } },
    async (span) => {
      const result = await attempt(request, context);
      const status = result.ok ? result.status : result.outcome.httpStatus;
      if (status !== undefined) span.setAttribute('http.response.status_code', status);
      span.setAttribute('patient_graph.outcome', result.ok ? 'sent' : result.outcome.status);
      if (!result.ok && result.outcome.status !== 'sent') span.setStatus({ code: SpanStatusCode.ERROR, message: result.outcome.reason });
      return result;
    },
  );
}

async function attempt(request: HttpAttempt, context: AttemptContext): Promise<HttpResult> {
  const timeout = AbortSignal.timeout(context.timeoutMs);
  let response: Response;
  try {
    response = await (context.fetch ?? fetch)(request.url, {
      method: request.method,
      headers: request.headers,
      body: request.body,
      signal: AbortSignal.any([context.signal, timeout]),
      redirect: 'manual',
    });
  } catch {
    const why = context.signal.aborted ? 'was aborted' : timeout.aborted ? `got no answer within ${context.timeoutMs} ms` : 'could not reach the vendor';
    return { ok: false, outcome: { status: 'retry', reason: `${context.label} ${why}` } };
  }
  let text: string;
  try {
    text = await response.text();
  } catch {
    return { ok: false, outcome: { status: 'retry', reason: `${context.label} lost the connection while reading the answer`, httpStatus: response.status } };
  }
  if (response.status >= 200 && response.status < 300) return { ok: true, status: response.status, text };
  const httpStatus = response.status;
  if (isRetryableStatus(httpStatus)) {
    const retryAfterMs = parseRetryAfter(response.headers.get('retry-after'));
    return {
      ok: false,
      outcome: { status: 'retry', reason: `${context.label} answered HTTP ${httpStatus}`, httpStatus, ...(retryAfterMs === undefined ? {} : { retryAfterMs }) },
    };
  }
  return { ok: false, outcome: { status: 'failed', reason: `${context.label} answered HTTP ${httpStatus}`, httpStatus } };
}

/** A JSON answer's property, or undefined when the answer is not JSON or lacks it. */
export function jsonProperty(text: string, ...path: string[]): string | undefined {
  try {
    let value: unknown = JSON.parse(text);
    for (const key of path) value = value && typeof value === 'object' ? (value as Record<string, unknown>)[key] : undefined;
    return typeof value === 'string' || typeof value === 'number' ? String(value) : undefined;
  } catch {
    return undefined;
  }
}
