/**
 * The server span of one GraphQL request, for the gateway and every subgraph: an express
 * middleware that continues the caller's W3C trace context (`traceparent`), makes the span
 * active for everything the request does, and ends it when the response is done; and an Apollo
 * plugin that names it after the operation once it is known. Only the operation's type and name
 * are recorded, never its document or variables (they may hold PHI).
 */
import { context, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import type { Span } from '@opentelemetry/api';
import type { ApolloServerPlugin } from '@apollo/server';
import type { RequestHandler } from 'express';
import { contextFromHeaders, tracer } from './spans';

/** The span's name before the operation is known, and for a request that never resolves one. */
export const OPERATION_SPAN = 'graphql.operation';

/** The spans serverSpanMiddleware made: the plugin names these and no other span that happens to be active. */
const serverSpans = new WeakSet<Span>();

export interface ServerSpanOptions {
  /** Attributes every span of this server carries (e.g. `patient_graph.subgraph`). */
  attributes?: Record<string, string>;
}

/**
 * Put it after authentication and body parsing: only an authenticated caller's `traceparent`
 * is continued, and body parsing (stream callbacks) would lose the active context.
 */
export function serverSpanMiddleware(options: ServerSpanOptions = {}): RequestHandler {
  return (req, res, next) => {
    const parent = contextFromHeaders(req.headers);
    const span = tracer().startSpan(
      OPERATION_SPAN,
      {
        kind: SpanKind.SERVER,
        // The path only: a GET's query string holds the document and its variables.
        attributes: { 'http.request.method': req.method, 'url.path': req.baseUrl || req.path, ...options.attributes },
      },
      parent,
    );
    serverSpans.add(span);
    let ended = false;
    const end = () => {
      if (ended) return;
      ended = true;
      span.setAttribute('http.response.status_code', res.statusCode);
      if (res.statusCode >= 500) span.setStatus({ code: SpanStatusCode.ERROR, message: `HTTP ${res.statusCode}` });
      span.end();
    };
    res.once('finish', end);
    res.once('close', end);
    context.with(trace.setSpan(parent, span), next);
  };
}

/** Names the request's server span `graphql.operation <type>` and marks it failed when the response has errors. */
export function operationSpanPlugin<Context extends object>(): ApolloServerPlugin<Context> {
  return {
    async requestDidStart() {
      // The middleware's span: active when Apollo starts the request, whatever is active later. An
      // operation run otherwise (a subscription event's resolution) may find another span active.
      const span: Span | undefined = trace.getActiveSpan();
      if (!span?.isRecording() || !serverSpans.has(span)) return {};
      return {
        async didResolveOperation({ operation, operationName }) {
          if (!operation) return;
          span.updateName(`${OPERATION_SPAN} ${operation.operation}`);
          span.setAttribute('graphql.operation.type', operation.operation);
          if (operationName) span.setAttribute('graphql.operation.name', operationName);
        },
        async willSendResponse({ errors, response }) {
          const body = response.body;
          const failed = Boolean(errors?.length) || (body.kind === 'single' && Boolean(body.singleResult.errors?.length));
          span.setAttribute('patient_graph.outcome', failed ? 'error' : 'success');
          if (failed) {
            const codes = new Set((body.kind === 'single' ? (body.singleResult.errors ?? []) : []).map((error) => String(error.extensions?.code ?? 'UNKNOWN')));
            for (const error of errors ?? []) codes.add(String(error.extensions?.code ?? 'UNKNOWN'));
            span.setAttribute('patient_graph.error_codes', [...codes].sort());
            span.setStatus({ code: SpanStatusCode.ERROR });
          }
        },
      };
    },
  };
}
