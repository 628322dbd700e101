/**
 * Structured JSON logs (pino). Anything that could carry patient data is redacted by path,
 * and services log identifiers of requests and upstreams, never request bodies or variables.
 */
import pino from 'pino';
import type { Logger } from 'pino';

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

export function createLogger(name: string, level = process.env.LOG_LEVEL ?? 'info'): Logger {
  return pino({ name, level, redact: { paths: REDACT, censor: '[redacted]' } });
}
