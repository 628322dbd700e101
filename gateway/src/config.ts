/**
 * The gateway's configuration: one zod schema, read from the environment (and CLI flags that
 * main.ts folds in). Nothing here knows about patients: subgraph URLs are overrides keyed by
 * whatever subgraph names the supergraph declares (`SUBGRAPH_<NAME>_URL`).
 */
import { z } from 'zod';
import { envInt, parseConfig } from '../../lib/config';

const url = z.url({ protocol: /^https?$/ });

export const gatewayConfigSchema = z
  .object({
    /** Port to listen on; 0 picks a free one. @default 4000 */
    port: z.number().int().min(0).max(65535).default(4000),
    /** Interface to bind. @default 127.0.0.1 (0.0.0.0 in containers) */
    host: z.string().min(1).default('127.0.0.1'),
    /** Supergraph SDL file; relative paths resolve from the working directory. @default schema/supergraph.graphql */
    supergraphPath: z.string().min(1).default('schema/supergraph.graphql'),
    /** Reload the supergraph when the file changes, without dropping in-flight requests. @default true */
    watchSupergraph: z.boolean().default(true),
    /** Routing URL overrides by subgraph name (from SUBGRAPH_<NAME>_URL). */
    subgraphUrls: z.record(z.string(), url).default({}),
    /** `production` masks unexpected errors, disables introspection and the Sandbox. */
    environment: z.enum(['development', 'production', 'test']).default('development'),
    /** Largest request body accepted. @default "1mb" */
    bodyLimit: z.string().regex(/^\d+(b|kb|mb)$/).default('1mb'),
    /** Per-try timeout for a subgraph fetch, in ms. @default 15000 */
    subgraphTimeoutMs: z.number().int().positive().default(15_000),
    auth: z
      .discriminatedUnion('mode', [
        z.object({
          /** Verify `Authorization: Bearer <JWT>` (HS256) on every GraphQL request. */
          mode: z.literal('jwt'),
          /** HMAC secret, at least 32 characters. */
          secret: z.string().min(32),
          issuer: z.string().optional(),
          audience: z.string().optional(),
        }),
        z.object({
          /** No authentication. Only for local experiments: refused when environment is production. */
          mode: z.literal('none'),
        }),
      ], { error: 'one of "jwt", "none"' }),
    /** A token the Sandbox pre-fills in development (the launcher's dev token). */
    sandboxToken: z.string().optional(),
  })
  .refine((config) => !(config.environment === 'production' && config.auth.mode === 'none'), {
    message: 'authentication in production (AUTH_MODE=jwt)',
    path: ['auth', 'mode'],
  });

export type GatewayConfig = z.infer<typeof gatewayConfigSchema>;

const ENV_KEYS: Record<string, string> = {
  port: 'PORT',
  host: 'HOST',
  supergraphPath: 'SUPERGRAPH_PATH',
  watchSupergraph: 'SUPERGRAPH_WATCH',
  environment: 'NODE_ENV',
  bodyLimit: 'BODY_LIMIT',
  subgraphTimeoutMs: 'SUBGRAPH_TIMEOUT_MS',
  'auth.mode': 'AUTH_MODE',
  'auth.secret': 'AUTH_JWT_SECRET',
  'auth.issuer': 'AUTH_JWT_ISSUER',
  'auth.audience': 'AUTH_JWT_AUDIENCE',
  sandboxToken: 'SANDBOX_TOKEN',
};

function keyOf(path: PropertyKey[]): string {
  if (path[0] === 'subgraphUrls' && typeof path[1] === 'string') return `SUBGRAPH_${path[1].toUpperCase().replace(/[^A-Z0-9]/g, '_')}_URL`;
  return ENV_KEYS[path.map(String).join('.')] ?? path.map(String).join('.');
}

function envBool(value: string | undefined): boolean | string | undefined {
  if (value === undefined || value === '') return undefined;
  if (/^(1|true|yes|on)$/i.test(value)) return true;
  if (/^(0|false|no|off)$/i.test(value)) return false;
  return value;
}

/** Overrides from the command line win over the environment. */
export interface GatewayFlags {
  port?: number;
  supergraphPath?: string;
}

/**
 * Build the configuration from the environment. `AUTH_MODE` defaults to `jwt`, so a gateway
 * started without a secret fails fast instead of serving patient data to anyone.
 */
export function loadGatewayConfig(env: NodeJS.ProcessEnv, flags: GatewayFlags = {}): GatewayConfig {
  const subgraphUrls: Record<string, string> = {};
  for (const [key, value] of Object.entries(env)) {
    const match = /^SUBGRAPH_([A-Z0-9_]+)_URL$/.exec(key);
    if (match && value !== undefined) subgraphUrls[match[1]!.toLowerCase()] = value;
  }
  const mode = env.AUTH_MODE ?? 'jwt';
  const input = {
    port: flags.port ?? envInt(env.PORT),
    host: env.HOST || undefined,
    supergraphPath: flags.supergraphPath ?? (env.SUPERGRAPH_PATH || undefined),
    watchSupergraph: envBool(env.SUPERGRAPH_WATCH),
    subgraphUrls,
    environment: env.NODE_ENV || undefined,
    bodyLimit: env.BODY_LIMIT || undefined,
    subgraphTimeoutMs: envInt(env.SUBGRAPH_TIMEOUT_MS),
    auth:
      mode === 'jwt'
        ? { mode, secret: env.AUTH_JWT_SECRET, issuer: env.AUTH_JWT_ISSUER || undefined, audience: env.AUTH_JWT_AUDIENCE || undefined }
        : { mode },
    sandboxToken: env.SANDBOX_TOKEN || undefined,
  };
  return parseConfig(gatewayConfigSchema, input, { keyOf, secretKeys: ['AUTH_JWT_SECRET', 'SANDBOX_TOKEN'] });
}
