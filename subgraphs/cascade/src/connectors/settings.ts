/**
 * What the connector schemas share: the base every HTTP connector extends, reading a secret
 * from the variable a configuration entry names, and turning a zod failure into a
 * ConfigError that names the connector and the key ("connectors.n8n.secretEnv: expected
 * string, found nothing (unset)"). Secrets' values never appear in messages.
 */
import { z } from 'zod';
import { ConfigError, parseConfig } from '../../../../lib/config';
import { connectorBaseSchema } from './types';

/** Settings of every connector that speaks HTTP. */
export const httpConnectorSchema = connectorBaseSchema.extend({
  /** Abort one request after this long; the attempt is then a `retry`. @default 10000 */
  timeoutMs: z.number().int().positive().max(120_000).default(10_000),
});

/** A string matching `pattern`; a mismatch says `expected <what>` (zod's own message would say "a regex"). */
export function matching(pattern: RegExp, what: string) {
  return z.string().refine((value) => pattern.test(value), what);
}

/** An environment variable's name, as the settings give the secrets (never the secret itself). */
export const envName = matching(/^[A-Z_][A-Z0-9_]*$/, 'an environment variable name (A-Z, 0-9, _)');

/** Parse one entry's settings with its kind's schema; throws a ConfigError naming `connectors.<name>.<key>`. */
export function parseSettings<S extends z.ZodType>(schema: S, name: string, settings: Record<string, unknown>): z.infer<S> {
  return parseConfig(schema, settings, { keyOf: (path) => ['connectors', name, ...path.map(String)].join('.') });
}

/** The value of the variable `variable` that `connectors.<name>.<key>` names; throws a ConfigError when it is unset. */
export function readSecret(env: Readonly<Record<string, string | undefined>>, name: string, key: string, variable: string): string {
  const value = env[variable];
  if (!value) throw new ConfigError([`connectors.${name}.${key}: expected the variable ${variable} to be set, found nothing (unset)`]);
  return value;
}

/** A value of `message.fields` as text, or undefined when absent, null or empty. */
export function fieldText(fields: Readonly<Record<string, unknown>>, field: string): string | undefined {
  const value = fields[field];
  if (value === undefined || value === null || value === '') return undefined;
  return String(value);
}

/**
 * `fields` cut down to the connector's own allow-list. The engine already does this; doing it
 * again here means a connector never sends a field it was not configured for, even if called
 * directly.
 */
export function allowedFields<V>(fields: Readonly<Record<string, V>>, allowed: readonly string[]): Record<string, V> {
  const out: Record<string, V> = {};
  for (const field of allowed) if (Object.prototype.hasOwnProperty.call(fields, field)) out[field] = fields[field];
  return out;
}

/** What tests may replace under a connector. */
export interface ConnectorDeps {
  /** The clock signatures' timestamps are taken from. @default Date.now */
  now?: () => number;
  /** @default the global fetch */
  fetch?: typeof fetch;
}

export type ConnectorEnv = Readonly<Record<string, string | undefined>>;

/** One kind's factory: validates its entry (a ConfigError naming the key) and reads its secrets. */
export type KindFactory = (name: string, settings: Record<string, unknown>, env: ConnectorEnv, deps?: ConnectorDeps) => import('./types').Connector;

/** A secret URL (Slack's and Teams' webhook URLs are their own credential); the message never shows it. */
export function readSecretUrl(env: ConnectorEnv, name: string, key: string, variable: string): string {
  const value = readSecret(env, name, key, variable);
  let url: URL | undefined;
  try {
    url = new URL(value);
  } catch {
    url = undefined;
  }
  if (!url || (url.protocol !== 'https:' && url.protocol !== 'http:')) {
    throw new ConfigError([`connectors.${name}.${key}: expected the variable ${variable} to hold an http(s) URL, found a string (hidden)`]);
  }
  return value;
}

/** The text a chat or task connector posts when the step has no template: what happened, no field values. */
export function fallbackText(message: { eventType: string; step: string }): string {
  return `${message.eventType} (${message.step})`;
}

/** A ConfigError when a setting names a field that is not among the entry's `fields`. */
export function requireListedField(name: string, key: string, field: string, fields: readonly string[]): void {
  if (!fields.includes(field)) {
    throw new ConfigError([`connectors.${name}.${key}: expected one of the entry's fields (${fields.map((f) => JSON.stringify(f)).join(', ') || 'none'}), found ${JSON.stringify(field)}`]);
  }
}
