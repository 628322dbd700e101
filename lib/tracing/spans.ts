/**
 * What the services use to trace: one tracer, a helper that runs a function inside a span, the
 * trace ids of the active span (for log lines and error extensions), and W3C `traceparent` in and
 * out of HTTP headers. All of it goes through the OpenTelemetry API, so with tracing off
 * (setup.ts) every call is the API's no-op.
 */
import { context, propagation, SpanStatusCode, trace } from '@opentelemetry/api';
import type { Context, Span, SpanOptions, Tracer } from '@opentelemetry/api';

/** The instrumentation scope of every span this project makes. */
export const TRACER_NAME = 'patient-graph';

export function tracer(): Tracer {
  return trace.getTracer(TRACER_NAME);
}

/** Marks `span` failed with `error`: its type and message (messages here carry no PHI), never a body. */
export function recordFailure(span: Span, error: unknown): void {
  const failure = error instanceof Error ? error : new Error(String(error));
  span.recordException({ name: failure.name, message: failure.message });
  span.setAttribute('error.type', failure.name || 'Error');
  span.setStatus({ code: SpanStatusCode.ERROR, message: failure.message });
}

/**
 * Runs `body` inside a new active span that ends when it settles; a throw marks the span
 * failed and is rethrown. The span is the child of the active one unless `parent` is given.
 */
export function inSpan<T>(name: string, options: SpanOptions, body: (span: Span) => Promise<T>, parent?: Context): Promise<T> {
  return tracer().startActiveSpan(name, options, parent ?? context.active(), async (span) => {
    try {
      return await body(span);
    } catch (error) {
      recordFailure(span, error);
      throw error;
    } finally {
      span.end();
    }
  });
}

/** The active span's ids, when there is one with a valid context (never with tracing off). */
export function activeTraceIds(): { traceId: string; spanId: string } | undefined {
  const spanContext = trace.getActiveSpan()?.spanContext();
  if (!spanContext || !trace.isSpanContextValid(spanContext)) return undefined;
  return { traceId: spanContext.traceId, spanId: spanContext.spanId };
}

/** `headers` with the active trace context added (`traceparent`, and `tracestate` when there is one). */
export function withTraceHeaders(headers: Record<string, string>): Record<string, string> {
  const carrier = { ...headers };
  propagation.inject(context.active(), carrier);
  return carrier;
}

/** The trace context an incoming request carries (`traceparent`), on top of the active one. */
export function contextFromHeaders(headers: Record<string, string | string[] | undefined>): Context {
  return propagation.extract(context.active(), headers);
}
