/**
 * Configuration loading shared by every service: one zod schema per service, read from
 * environment variables (and, where a service allows it, a JSON config file), validated
 * once at start-up. A failure names the key, what was expected and what was found, and is
 * thrown as a ConfigError so entrypoints can print it and exit without a stack trace.
 */
import type { z } from 'zod';
import { withoutCredentials } from './redact-url';

export class ConfigError extends Error {
  override name = 'ConfigError';
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n  - ${problems.join('\n  - ')}`);
  }
}

/** What a value looked like, for messages: never the value itself when it may be a secret. */
function describeFound(value: unknown, secret: boolean): string {
  if (value === undefined) return 'nothing (unset)';
  if (secret) return `a ${typeof value} (hidden)`;
  // A URL may carry a password (redis://:secret@host): shown without it.
  return JSON.stringify(typeof value === 'string' ? withoutCredentials(value) : value);
}

/**
 * Parse `input` with `schema`. `keyOf` maps a path in the parsed object to the name the user
 * set (usually the environment variable), so a message says `PORT`, not `port`.
 */
export function parseConfig<S extends z.ZodType>(
  schema: S,
  input: Record<string, unknown>,
  options: { keyOf?: (path: PropertyKey[]) => string; secretKeys?: string[] } = {},
): z.infer<S> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => {
    const key = options.keyOf ? options.keyOf(issue.path) : issue.path.join('.');
    const found = issue.path.reduce<unknown>(
      (value, part) => (value && typeof value === 'object' ? (value as Record<PropertyKey, unknown>)[part] : undefined),
      input,
    );
    const secret = options.secretKeys?.includes(key) ?? false;
    return `${key}: expected ${expectedOf(issue)}, found ${describeFound(found, secret)}`;
  });
  throw new ConfigError(problems);
}

function expectedOf(issue: z.core.$ZodIssue): string {
  switch (issue.code) {
    case 'invalid_type':
      return issue.expected;
    case 'too_small':
      if (issue.origin === 'string') return `at least ${String(issue.minimum)} characters`;
      return `a value ${issue.inclusive === false ? '>' : '>='} ${String(issue.minimum)}`;
    case 'too_big':
      if (issue.origin === 'string') return `at most ${String(issue.maximum)} characters`;
      return `a value ${issue.inclusive === false ? '<' : '<='} ${String(issue.maximum)}`;
    case 'invalid_value':
      return `one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`;
    case 'invalid_format': {
      if (issue.format !== 'url') return `a ${issue.format}`;
      // The scheme a `z.url({ protocol: /^xs?$/ })` wants: REDIS_URL is not an http(s) URL.
      const scheme = /^\^([a-z]+)s\?\$$/.exec(issue.pattern ?? '')?.[1] ?? 'http';
      return scheme === 'http' ? 'an http(s) URL' : `a ${scheme}(s) URL`;
    }
    default:
      return issue.message;
  }
}

/** Environment strings to the types a schema wants: numbers and booleans arrive as text. */
export function envInt(value: string | undefined): number | string | undefined {
  if (value === undefined || value === '') return undefined;
  return /^-?\d+$/.test(value.trim()) ? Number(value) : value;
}

/** "true"/"false" (also 1/0, yes/no, on/off); anything else is passed on for zod to reject by name. */
export function envBool(value: string | undefined): boolean | string | undefined {
  if (value === undefined || value === '') return undefined;
  const text = value.trim();
  if (/^(1|true|yes|on)$/i.test(text)) return true;
  if (/^(0|false|no|off)$/i.test(text)) return false;
  return value;
}
