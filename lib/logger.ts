/**
 * Structured JSON logs (pino). Anything that could carry patient data is redacted by path,
 * and services log identifiers of requests and upstreams, never request bodies or variables.
 * A line written inside a span carries its `trace_id` and `span_id` (lib/tracing), so logs and
 * traces of one request can be found from each other.
 */
import pino from 'pino';
import type { DestinationStream, Logger } from 'pino';
import { activeTraceIds } from './tracing/spans';

export type { Logger };

const REDACT = [
  'req.headers.authorization',
  'req.headers["x-token"]',
  'req.headers.cookie',
  '*.variables',
  '*.email',
  '*.phone',
  '*.dateOfBirth',
  '*.nhsNumber',
  '*.token',
];

/** The active span's ids on every line written inside one; nothing with tracing off. */
function traceFields(): Record<string, string> {
  const ids = activeTraceIds();
  return ids ? { trace_id: ids.traceId, span_id: ids.spanId } : {};
}

/** A service's logger; `destination` is standard output unless given (tests read lines from a stream of their own). */
export function createLogger(name: string, level = process.env.LOG_LEVEL ?? 'info', destination?: DestinationStream): Logger {
  const options = { name, level, redact: { paths: REDACT, censor: '[redacted]' }, mixin: traceFields };
  return destination ? pino(options, destination) : pino(options);
}
