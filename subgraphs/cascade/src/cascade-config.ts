/**
 * The cascade configuration file (subgraphs/cascade/cascade.json by default, CASCADE_CONFIG to
 * choose another): which connectors exist and which fields each may receive (its PHI policy),
 * which steps run on which event, through which connector, when, with which template, and how
 * delivery retries. Validated once at start; every problem is reported with its path (e.g.
 * `steps[3].template`), what was expected and what was found.
 *
 * Any string may name environment variables, `${NAME}` or `${NAME:-default}` (e.g. a connector's
 * URL, `${CONNECTORS_BASE_URL:-http://127.0.0.1:4107}/hooks/n8n`), filled in before validation:
 * one file serves a laptop, a test stack on free ports and production. Secrets are never written
 * in the file: a connector names the variable holding each one (`secretEnv`).
 */
import fs from 'node:fs';
import { z } from 'zod';
import { ConfigError, parseConfig } from '../../../lib/config';
import { connectorBaseSchema } from './connectors/types';
import { ALL_FIELDS, EVENT_FIELDS, EVENT_TYPES } from './events';
import { placeholdersOf } from './template';

/** A whole number of at least `min`; digits in a string count too (a `${NAME:-900000}` fills in text). */
const count = (min: number) => z.union([z.number(), z.string().regex(/^\d+$/, 'digits').transform(Number)]).pipe(z.number().int().min(min));

const stepSchema = z.object({
  /** Unique; part of every idempotency key, so renaming a step re-sends it for new events only. */
  name: z.string().regex(/^[a-z0-9][a-z0-9-]*$/, 'lower-case letters, digits and dashes'),
  /** The event type that triggers it. */
  on: z.enum(EVENT_TYPES as [string, ...string[]]),
  /** The connector (a key of `connectors`) it delivers through. */
  connector: z.string().min(1),
  /** immediate: due at once; short-term: due `delayMs` after the event. @default immediate */
  stage: z.enum(['immediate', 'short-term']).default('immediate'),
  /** How long after the event a short-term step is due. @default 0 */
  delayMs: count(0).default(0),
  /** Text with {{field}} placeholders; only fields the connector may receive. */
  template: z.string().optional(),
  /** Connector options for this step (a Mailchimp tag, a Jira project, an SMS sender…). @default {} */
  options: z.record(z.string(), z.unknown()).default({}),
  /** Consent-gated: sent only when the patient's CRM marketing consent allows it. @default false */
  marketing: z.boolean().default(false),
  /** Off: recorded as SKIPPED, nothing sent. @default true */
  enabled: z.boolean().default(true),
});

const deliverySchema = z.object({
  /** Attempts before a step that keeps failing goes to the dead letters. @default 8 */
  maxAttempts: count(1).default(8),
  /** First retry delay; doubled per attempt, with full jitter. @default 1000 */
  baseDelayMs: count(1).default(1000),
  /** Longest retry delay (a longer Retry-After is honoured as given). @default 300000 */
  maxDelayMs: count(1).default(300_000),
  /** Per-attempt timeout. @default 10000 */
  timeoutMs: count(1).default(10_000),
  /** Consecutive failed attempts that open a connector's breaker. @default 5 */
  breakerThreshold: count(1).default(5),
  /** How long an open breaker waits before letting one attempt through (half-open). @default 30000 */
  breakerHalfOpenAfterMs: count(1).default(30_000),
  /** How long a marketing step waits for the patient's CRM contact before it is skipped (NO_CRM_CONTACT). @default 600000 */
  consentWaitMs: count(0).default(600_000),
  /** Delay between consent checks while the contact is missing. @default 5000 */
  consentRetryMs: count(1).default(5000),
});

export const cascadeFileSchema = z
  .object({
    /** Connector name → settings: `kind`, `fields` (the only event fields it receives), `enabled`, and the kind's own settings. */
    connectors: z.record(z.string().regex(/^[a-z0-9][a-z0-9-]*$/, 'lower-case letters, digits and dashes'), connectorBaseSchema.loose()),
    steps: z.array(stepSchema),
    delivery: deliverySchema.default(deliverySchema.parse({})),
  })
  .superRefine((file, ctx) => {
    for (const [name, connector] of Object.entries(file.connectors)) {
      connector.fields.forEach((field, i) => {
        if (!ALL_FIELDS.has(field)) {
          ctx.addIssue({ code: 'custom', path: ['connectors', name, 'fields', i], message: `one of the event fields (${[...ALL_FIELDS].join(', ')})` });
        }
      });
    }
    const seen = new Set<string>();
    file.steps.forEach((step, i) => {
      if (seen.has(step.name)) ctx.addIssue({ code: 'custom', path: ['steps', i, 'name'], message: 'a step name not used by an earlier step' });
      seen.add(step.name);
      const connector = file.connectors[step.connector];
      if (!connector) {
        ctx.addIssue({ code: 'custom', path: ['steps', i, 'connector'], message: `one of the connectors (${Object.keys(file.connectors).join(', ')})` });
        return;
      }
      if (step.stage === 'immediate' && step.delayMs > 0) {
        ctx.addIssue({ code: 'custom', path: ['steps', i, 'delayMs'], message: 'no delay on an immediate step (use stage "short-term")' });
      }
      const eventFields = EVENT_FIELDS[step.on as keyof typeof EVENT_FIELDS] as readonly string[];
      for (const field of placeholdersOf(step.template ?? '')) {
        if (!connector.fields.includes(field)) {
          ctx.addIssue({ code: 'custom', path: ['steps', i, 'template'], message: `placeholders among connector ${step.connector}'s fields (${connector.fields.join(', ')}), not {{${field}}}` });
        } else if (!eventFields.includes(field)) {
          ctx.addIssue({ code: 'custom', path: ['steps', i, 'template'], message: `placeholders among ${step.on}'s fields (${eventFields.join(', ')}), not {{${field}}}` });
        }
      }
    });
  });

export type CascadeFile = z.infer<typeof cascadeFileSchema>;
export type StepConfig = CascadeFile['steps'][number];
export type DeliverySettings = CascadeFile['delivery'];

/** Parses a configuration object; throws a ConfigError listing every problem by path (`steps[3].template`), what was expected and what was found. */
export function parseCascadeFile(input: unknown, source = 'cascade configuration'): CascadeFile {
  const keyOf = (path: PropertyKey[]) => `${source}: ${path.map((part, i) => (typeof part === 'number' ? `[${part}]` : `${i === 0 ? '' : '.'}${String(part)}`)).join('') || '(root)'}`;
  return parseConfig(cascadeFileSchema, (input && typeof input === 'object' ? input : {}) as Record<string, unknown>, { keyOf });
}

const VARIABLE = /\$\{([A-Z_][A-Z0-9_]*)(?::-([^}]*))?\}/g;

/** `value` with every `${NAME}` / `${NAME:-default}` in its strings filled from `env`; problems name the path. */
export function interpolateEnv(value: unknown, env: Readonly<Record<string, string | undefined>>, problems: string[], path = ''): unknown {
  if (typeof value === 'string') {
    return value.replace(VARIABLE, (_, name: string, fallback: string | undefined) => {
      const found = env[name];
      if (found !== undefined && found !== '') return found;
      if (fallback !== undefined) return fallback;
      problems.push(`${path || '(root)'}: expected the variable ${name} to be set (or a default, \${${name}:-…}), found nothing (unset)`);
      return '';
    });
  }
  if (Array.isArray(value)) return value.map((item, i) => interpolateEnv(item, env, problems, `${path}[${i}]`));
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, interpolateEnv(item, env, problems, path ? `${path}.${key}` : key)]));
  }
  return value;
}

/** Reads the file at `file`, fills in its variables from `env`, and validates it. */
export function loadCascadeFile(file: string, env: Readonly<Record<string, string | undefined>> = {}): CascadeFile {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (error) {
    throw new ConfigError([`CASCADE_CONFIG: expected a readable file, found ${JSON.stringify(file)} (${(error as NodeJS.ErrnoException).code ?? 'unreadable'})`]);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new ConfigError([`${file}: expected JSON, found a parse error (${(error as Error).message})`]);
  }
  const problems: string[] = [];
  const filled = interpolateEnv(json, env, problems);
  if (problems.length > 0) throw new ConfigError(problems.map((problem) => `${file}: ${problem}`));
  return parseCascadeFile(filled, file);
}
