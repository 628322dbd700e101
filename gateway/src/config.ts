/**
 * The gateway's configuration: one zod schema, read from the environment (and CLI flags that
 * main.ts folds in). Nothing here knows about patients: subgraph URLs are overrides keyed by
 * whatever subgraph names the supergraph declares (`SUBGRAPH_<NAME>_URL`).
 */
import fs from 'node:fs';
import { z } from 'zod';
import { ConfigError, envInt, parseConfig } from '../../lib/config';
import { INTERNAL_TOKEN_SECRET_ENV, internalTokenSecretSchema } from '../../lib/internal-identity';
import { authConfigSchema, productionAuthProblems, unknownMappedRoles } from './auth/config';
import { auditConfigSchema } from './audit/audit-trail';
import { authorizationConfigSchema } from './authorization/scopes';
import { cacheConfigSchema } from './cache/config';
import { corsConfigSchema } from './cors';
import { ideConfigSchema } from './ide/config';
import { limitsConfigSchema } from './limits/limits';
import { rateLimitConfigSchema } from './rate-limit/config';
import { subgraphUpstreamSchema, upstreamPolicySchema } from './upstream/policy';

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
    /**
     * Per subgraph (by the name the supergraph gives it): endpoints and upstream-policy overrides.
     * URLs come from SUBGRAPH_<NAME>_URL (comma-separated) and SUBGRAPH_<NAME>_REPLICA_URLS, or
     * the config file; a subgraph not listed uses the supergraph's routing URL.
     */
    subgraphs: z.record(z.string(), subgraphUpstreamSchema).default({}),
    /** Upstream policy for every subgraph (per-subgraph overrides above). */
    upstream: upstreamPolicySchema.prefault({}),
    /** A client request's overall deadline across all its subgraph fetches and retries, in ms. @default 30000 */
    requestTimeoutMs: z.number().int().positive().default(30_000),
    /** `production` masks unexpected errors, disables introspection and, by default, the IDE. */
    environment: z.enum(['development', 'production', 'test']).default('development'),
    /** Largest request body accepted. @default "1mb" */
    bodyLimit: z.string().regex(/^\d+(b|kb|mb)$/).default('1mb'),
    /** Authentication (auth/config.ts): OIDC in production, HS256 for development, or none. */
    auth: authConfigSchema,
    /**
     * The secret every subgraph call's internal identity token is signed with (HS256, 32+
     * characters), shared with the subgraphs, which refuse a call without a valid token
     * (lib/internal-identity.ts). Required, whatever AUTH_MODE says: subgraphs answer the gateway only.
     */
    internalTokenSecret: internalTokenSecretSchema,
    /**
     * Subscriptions over graphql-ws on /graphql. Each root Subscription field the supergraph
     * declares maps to a bus topic; every event is resolved through the query planner with a
     * lookup query field (e.g. `syncEvent(id:)`), so selections may reach into any subgraph.
     */
    subscriptions: z
      .object({
        fields: z
          .record(
            z.string(),
            z.object({
              /** Bus topic the field's events arrive on. */
              topic: z.string().min(1),
              /** Query root field taking `id: ID!` that returns the field's type for one event. */
              lookup: z.string().min(1),
              /** Where the lookup id comes from: `cursor` (the bus cursor) or a payload property. @default "cursor" */
              idFrom: z.string().min(1).default('cursor'),
              /** Field argument → payload property it must equal (a list argument: be one of). */
              filters: z.record(z.string(), z.string()).default({}),
            }),
          )
          .default({}),
        /** Close a socket that sends no ConnectionInit within this (graphql-ws 4408). @default 3000 */
        initTimeoutMs: z.number().int().positive().default(3000),
        /** Subscriptions one socket may hold. @default 100 */
        maxPerSocket: z.number().int().positive().default(100),
        /** Largest WebSocket message accepted (bytes); larger closes the socket with 1009. @default 65536 */
        maxMessageBytes: z.number().int().positive().default(65_536),
        /** Results waiting for a slow subscriber before its subscription is ended. @default 1000 */
        maxQueuedEvents: z.number().int().positive().default(1000),
      })
      .prefault({}),
    /** Redis for the event bus, the rate limits' counters and (unless CACHE_REDIS_URL says otherwise) the entity cache; in-process memory when unset. */
    redisUrl: z.url({ protocol: /^rediss?$/ }).optional(),
    /** Key prefix of the bus's streams in Redis. @default "pg:bus:" */
    busKeyPrefix: z.string().min(1).default('pg:bus:'),
    /**
     * Follow a bus served over HTTP by another process (the sync service's in-memory bus, in the
     * embedded default) instead of Redis or an in-process bus; BUS_TOKEN authenticates.
     */
    busUrl: z.url({ protocol: /^https?$/ }).optional(),
    busToken: z.string().min(16).optional(),
    /**
     * Bearer token for the operational details: /metrics and /readyz's per-subgraph report (which
     * names upstream URLs). Unset: open in development, closed in production. /healthz stays open.
     */
    adminToken: z.string().min(16).optional(),
    /** A client that has not sent its request headers by then is disconnected (slow headers). @default 10000 */
    httpHeadersTimeoutMs: z.number().int().positive().default(10_000),
    /** A client that has not sent its whole request by then is disconnected (slow bodies). @default 30000 */
    httpRequestTimeoutMs: z.number().int().positive().default(30_000),
    /**
     * Browser origins allowed to use the gateway, over HTTP (CORS) and WebSocket (`Origin`) alike.
     * A same-origin page is always allowed, and in development any http(s)://localhost or
     * 127.0.0.1 origin; in production no other. @default []
     */
    allowedOrigins: z.array(z.url({ protocol: /^https?$/ })).default([]),
    /** What an allowed origin's page may send and read over HTTP (cors.ts). */
    cors: corsConfigSchema.prefault({}),
    /** The entity cache (cache/config.ts). */
    cache: cacheConfigSchema.prefault({}),
    /** Field-level authorisation: the role → scope table (authorization/scopes.ts); config file only. */
    authorization: authorizationConfigSchema.prefault({}),
    /** The audit trail (audit/audit-trail.ts): its bus topic and data-subject types; config file only. */
    audit: auditConfigSchema.prefault({}),
    /** Operation limits (limits/limits.ts), for HTTP and WebSocket alike. */
    limits: limitsConfigSchema.prefault({}),
    /** Rate limits per caller and per client address (rate-limit/config.ts), for HTTP and WebSocket alike. */
    rateLimit: rateLimitConfigSchema.prefault({}),
    /** The in-browser IDE (GraphiQL) at /graphql (ide/ide.ts). */
    ide: ideConfigSchema.prefault({}),
  })
  .superRefine((config, ctx) => {
    const problems = [
      ...unknownMappedRoles(config.auth, Object.keys(config.authorization.roles)),
      ...(config.environment === 'production' ? productionAuthProblems(config.auth) : []),
    ];
    for (const { path, message } of problems) ctx.addIssue({ code: 'custom', message, path: ['auth', ...path] });
  })
  .refine((config) => !config.busUrl || config.busToken, { message: 'a token of 16+ characters with BUS_URL', path: ['busToken'] })
  .refine((config) => !(config.environment === 'production' && config.cache.enabled && config.cache.redisUrl && !config.cache.secret), {
    message: 'a key with a cache in Redis in production (64 hex characters or base64 of 32+ bytes), or CACHE_ENABLED=false',
    path: ['cache', 'secret'],
  })
  .refine((config) => config.httpHeadersTimeoutMs <= config.httpRequestTimeoutMs, {
    message: 'a value no lower than HTTP_HEADERS_TIMEOUT_MS (the headers are part of the request)',
    path: ['httpRequestTimeoutMs'],
  })
  .refine((config) => config.rateLimit.costPerSubject === 0 || config.rateLimit.costPerSubject >= config.limits.maxCost, {
    message: 'a cost budget of at least LIMIT_MAX_COST (an operation the limits allow must fit in it), or 0 for none',
    path: ['rateLimit', 'costPerSubject'],
  })
  .refine((config) => !config.ide.developmentToken || config.auth.mode === 'jwt', {
    message: 'no token unless AUTH_MODE=jwt (the development auth): the IDE never hands out a token of another mode',
    path: ['ide', 'developmentToken'],
  })
  .refine((config) => config.upstream.tryTimeoutMs < config.requestTimeoutMs, {
    message: 'a per-try timeout lower than REQUEST_TIMEOUT_MS',
    path: ['upstream', 'tryTimeoutMs'],
  });

export type GatewayConfig = z.infer<typeof gatewayConfigSchema>;

const ENV_KEYS: Record<string, string> = {
  port: 'PORT',
  host: 'HOST',
  supergraphPath: 'SUPERGRAPH_PATH',
  watchSupergraph: 'SUPERGRAPH_WATCH',
  environment: 'NODE_ENV',
  bodyLimit: 'BODY_LIMIT',
  requestTimeoutMs: 'REQUEST_TIMEOUT_MS',
  'auth.mode': 'AUTH_MODE',
  'auth.secret': 'AUTH_JWT_SECRET',
  'auth.issuer': 'AUTH_ISSUER',
  'auth.jwksUrl': 'AUTH_JWKS_URL',
  'auth.audience': 'AUTH_AUDIENCE',
  'auth.algorithms': 'AUTH_ALGORITHMS',
  'auth.clockToleranceSeconds': 'AUTH_CLOCK_TOLERANCE_SECONDS',
  'auth.jwksCooldownMs': 'AUTH_JWKS_COOLDOWN_MS',
  'auth.jwksMaxAgeMs': 'AUTH_JWKS_MAX_AGE_MS',
  'auth.rolesClaim': 'AUTH_ROLES_CLAIM',
  'auth.roleMap': 'AUTH_ROLE_MAP',
  'auth.clinicClaim': 'AUTH_CLINIC_CLAIM',
  'auth.clinics': 'AUTH_CLINICS',
  adminToken: 'ADMIN_TOKEN',
  httpHeadersTimeoutMs: 'HTTP_HEADERS_TIMEOUT_MS',
  httpRequestTimeoutMs: 'HTTP_REQUEST_TIMEOUT_MS',
  allowedOrigins: 'CORS_ORIGINS',
  'cors.credentials': 'CORS_CREDENTIALS',
  'cors.maxAgeSeconds': 'CORS_MAX_AGE_SECONDS',
  'cors.allowedHeaders': 'CORS_ALLOWED_HEADERS',
  internalTokenSecret: INTERNAL_TOKEN_SECRET_ENV,
  redisUrl: 'REDIS_URL',
  busKeyPrefix: 'BUS_KEY_PREFIX',
  busUrl: 'BUS_URL',
  busToken: 'BUS_TOKEN',
  'subscriptions.initTimeoutMs': 'WS_INIT_TIMEOUT_MS',
  'subscriptions.maxPerSocket': 'WS_MAX_SUBSCRIPTIONS_PER_SOCKET',
  'subscriptions.maxMessageBytes': 'WS_MAX_MESSAGE_BYTES',
  'cache.enabled': 'CACHE_ENABLED',
  'cache.redisUrl': 'CACHE_REDIS_URL',
  'cache.secret': 'CACHE_ENCRYPTION_KEY',
  'cache.keyPrefix': 'CACHE_KEY_PREFIX',
  'cache.maxTtlSeconds': 'CACHE_MAX_TTL_SECONDS',
  'cache.timeoutMs': 'CACHE_TIMEOUT_MS',
  'cache.memory.maxEntries': 'CACHE_MEMORY_MAX_ENTRIES',
  'cache.memory.maxBytes': 'CACHE_MEMORY_MAX_BYTES',
  'cache.trace': 'CACHE_TRACE',
  'cache.redeleteAfterMs': 'CACHE_REDELETE_AFTER_MS',
  'limits.maxTokens': 'LIMIT_MAX_TOKENS',
  'limits.maxDepth': 'LIMIT_MAX_DEPTH',
  'limits.maxAliases': 'LIMIT_MAX_ALIASES',
  'limits.maxDirectives': 'LIMIT_MAX_DIRECTIVES',
  'limits.maxRootFields': 'LIMIT_MAX_ROOT_FIELDS',
  'limits.maxFragmentSpreads': 'LIMIT_MAX_FRAGMENT_SPREADS',
  'limits.maxCost': 'LIMIT_MAX_COST',
  'limits.defaultListSize': 'LIMIT_DEFAULT_LIST_SIZE',
  'limits.maxVariables': 'LIMIT_MAX_VARIABLES',
  'limits.maxVariableStringLength': 'LIMIT_MAX_VARIABLE_STRING_LENGTH',
  'rateLimit.enabled': 'RATE_LIMIT_ENABLED',
  'rateLimit.perSubject': 'RATE_LIMIT_PER_SUBJECT',
  'rateLimit.costPerSubject': 'RATE_LIMIT_COST_PER_SUBJECT',
  'rateLimit.failedAuthPerIp': 'RATE_LIMIT_FAILED_AUTH_PER_IP',
  'rateLimit.windowSeconds': 'RATE_LIMIT_WINDOW_SECONDS',
  'rateLimit.redisUrl': 'REDIS_URL',
  'rateLimit.keyPrefix': 'RATE_LIMIT_KEY_PREFIX',
  'rateLimit.redisTimeoutMs': 'RATE_LIMIT_REDIS_TIMEOUT_MS',
  'ide.enabled': 'IDE_ENABLED',
  'ide.developmentToken': 'IDE_DEV_TOKEN',
};

/** Upstream defaults settable from the environment: variable → path under `upstream`. */
const UPSTREAM_ENV: Record<string, string[]> = {
  UPSTREAM_TRY_TIMEOUT_MS: ['tryTimeoutMs'],
  UPSTREAM_MAX_RETRIES: ['retry', 'maxRetries'],
  UPSTREAM_RETRY_BUDGET_RATIO: ['retry', 'budgetRatio'],
  UPSTREAM_DEDUPE: ['dedupe'],
  HEALTH_CHECK_INTERVAL_MS: ['health', 'intervalMs'],
  HEALTH_CHECK_PATH: ['health', 'path'],
  HEALTH_CHECK_TIMEOUT_MS: ['health', 'timeoutMs'],
  HEALTH_CHECK_HEALTHY_THRESHOLD: ['health', 'healthyThreshold'],
  HEALTH_CHECK_UNHEALTHY_THRESHOLD: ['health', 'unhealthyThreshold'],
  EJECT_AFTER_FAILURES: ['health', 'ejectAfterFailures'],
  BREAKER_FAILURE_THRESHOLD: ['breaker', 'failureThreshold'],
  BREAKER_WINDOW_MS: ['breaker', 'windowMs'],
  BREAKER_HALF_OPEN_AFTER_MS: ['breaker', 'halfOpenAfterMs'],
  BREAKER_SUCCESSES_TO_CLOSE: ['breaker', 'successesToClose'],
  UPSTREAM_BULKHEAD: ['concurrency', 'enabled'],
  UPSTREAM_MAX_CONCURRENCY: ['concurrency', 'maxConcurrent'],
  UPSTREAM_QUEUE_SIZE: ['concurrency', 'queueSize'],
  UPSTREAM_CALLER_MAX_CONCURRENCY: ['concurrency', 'callerMaxConcurrent'],
  UPSTREAM_CALLER_QUEUE_SIZE: ['concurrency', 'callerQueueSize'],
  UPSTREAM_QUEUE_TIMEOUT_MS: ['concurrency', 'queueTimeoutMs'],
};

const envNameOfSubgraph = (name: string) => name.toUpperCase().replace(/[^A-Z0-9]/g, '_');

/** The variable holding subgraph `name`'s primary URLs, for launchers that configure a gateway. */
export const subgraphUrlEnv = (name: string) => `SUBGRAPH_${envNameOfSubgraph(name)}_URL`;

function keyOf(path: PropertyKey[]): string {
  const parts = path.map(String);
  if (parts[0] === 'allowedOrigins') return 'CORS_ORIGINS';
  if (parts[0] === 'cors') return ENV_KEYS[parts.slice(0, 2).join('.')] ?? parts.join('.');
  if (parts[0] === 'subgraphs' && parts[1] !== undefined) {
    if (parts[2] === 'urls') return subgraphUrlEnv(parts[1]);
    if (parts[2] === 'replicaUrls') return `SUBGRAPH_${envNameOfSubgraph(parts[1])}_REPLICA_URLS`;
    return `config file: ${parts.join('.')}`;
  }
  if (parts[0] === 'subscriptions' && parts[1] === 'fields') return `config file: ${parts.join('.')}`;
  if (parts[0] === 'cache' && (parts[1] === 'subgraphs' || parts[1] === 'invalidation')) return `config file: ${parts.join('.')}`;
  if (parts[0] === 'authorization' || parts[0] === 'audit') return `config file: ${parts.join('.')}`;
  if (parts[0] === 'auth') {
    // A list's entries are reported under the list's variable; a role map's under its IdP value.
    if (parts[1] === 'roleMap' && parts[2] !== undefined) return `AUTH_ROLE_MAP[${JSON.stringify(parts[2])}]`;
    return ENV_KEYS[parts.slice(0, 2).join('.')] ?? parts.join('.');
  }
  if (parts[0] === 'upstream') {
    const rest = parts.slice(1).join('.');
    const variable = Object.entries(UPSTREAM_ENV).find(([, at]) => at.join('.') === rest)?.[0];
    return variable ?? `config file: ${parts.join('.')}`;
  }
  return ENV_KEYS[parts.join('.')] ?? parts.join('.');
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
  /** JSON config file (`--config`, GATEWAY_CONFIG): `{ upstream?, subgraphs?, subscriptions?, cache?, authorization?, audit?, limits?, rateLimit? }`. */
  configPath?: string;
}

function readConfigFile(file: string): Record<string, unknown> {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (error) {
    throw new ConfigError([`GATEWAY_CONFIG: expected a readable JSON file, found ${JSON.stringify(file)} (${(error as NodeJS.ErrnoException).code})`]);
  }
  try {
    const parsed = JSON.parse(text) as unknown;
    if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) return parsed as Record<string, unknown>;
  } catch (error) {
    throw new ConfigError([`GATEWAY_CONFIG: expected JSON, found a syntax error in ${file}: ${(error as Error).message}`]);
  }
  throw new ConfigError([`GATEWAY_CONFIG: expected a JSON object { upstream?, subgraphs?, subscriptions?, cache?, authorization?, audit?, limits?, rateLimit? } in ${file}`]);
}

function setPath(target: Record<string, unknown>, path: string[], value: unknown): void {
  let node = target;
  for (const part of path.slice(0, -1)) {
    if (!node[part] || typeof node[part] !== 'object') node[part] = {};
    node = node[part] as Record<string, unknown>;
  }
  node[path.at(-1)!] = value;
}

const definedOnly = (values: Record<string, unknown>) => Object.fromEntries(Object.entries(values).filter(([, value]) => value !== undefined));

const splitUrls = (value: string) => value.split(',').map((url) => url.trim()).filter(Boolean);

const commaList = (value: string | undefined) => (value ? value.split(',').map((item) => item.trim()).filter(Boolean) : undefined);

/** AUTH_ROLE_MAP is JSON; one role may be given as a string, which the schema takes as a list of one. */
function roleMapFromEnv(value: string | undefined): unknown {
  if (!value) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    // JSON.parse's message quotes the text; the message says where to look instead.
    throw new ConfigError(['AUTH_ROLE_MAP: expected JSON {"<identity provider value>": "<role>" | ["<role>", …]}, found text that is not JSON']);
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) return parsed;
  return Object.fromEntries(Object.entries(parsed).map(([value, roles]) => [value, typeof roles === 'string' ? [roles] : roles]));
}

/**
 * The `auth` settings from the environment. AUTH_MODE defaults to `oidc` in production and to
 * `jwt` elsewhere, so a gateway started without settings fails fast, naming what it needs,
 * instead of serving patient data to anyone.
 */
function authFromEnv(env: NodeJS.ProcessEnv): Record<string, unknown> {
  const mode = env.AUTH_MODE || (env.NODE_ENV === 'production' ? 'oidc' : 'jwt');
  const shared = definedOnly({
    issuer: env.AUTH_ISSUER || undefined,
    audience: env.AUTH_AUDIENCE || undefined,
    clinics: commaList(env.AUTH_CLINICS),
    rolesClaim: env.AUTH_ROLES_CLAIM || undefined,
    roleMap: roleMapFromEnv(env.AUTH_ROLE_MAP),
    clinicClaim: env.AUTH_CLINIC_CLAIM || undefined,
    clockToleranceSeconds: envInt(env.AUTH_CLOCK_TOLERANCE_SECONDS),
  });
  switch (mode) {
    case 'oidc':
      return {
        mode,
        ...shared,
        ...definedOnly({
          jwksUrl: env.AUTH_JWKS_URL || undefined,
          algorithms: commaList(env.AUTH_ALGORITHMS),
          jwksCooldownMs: envInt(env.AUTH_JWKS_COOLDOWN_MS),
          jwksMaxAgeMs: envInt(env.AUTH_JWKS_MAX_AGE_MS),
        }),
      };
    case 'jwt':
      return { mode, secret: env.AUTH_JWT_SECRET, ...shared };
    default:
      return { mode };
  }
}

/** Build the configuration from the environment. */
export function loadGatewayConfig(env: NodeJS.ProcessEnv, flags: GatewayFlags = {}): GatewayConfig {
  const configPath = flags.configPath ?? (env.GATEWAY_CONFIG || undefined);
  const file = configPath ? readConfigFile(configPath) : {};
  const subgraphs = structuredClone((file.subgraphs ?? {}) as Record<string, Record<string, unknown>>);
  for (const [key, value] of Object.entries(env)) {
    if (value === undefined || value === '') continue;
    const replicas = /^SUBGRAPH_([A-Z0-9_]+)_REPLICA_URLS$/.exec(key);
    const primaries = replicas ? null : /^SUBGRAPH_([A-Z0-9_]+)_URL$/.exec(key);
    const match = replicas ?? primaries;
    if (!match) continue;
    // Subgraph names are matched case-insensitively, with `_` standing for any other character.
    const name = Object.keys(subgraphs).find((known) => envNameOfSubgraph(known) === match[1]) ?? match[1]!.toLowerCase();
    subgraphs[name] = { ...subgraphs[name], [replicas ? 'replicaUrls' : 'urls']: splitUrls(value) };
  }
  const upstream = structuredClone((file.upstream ?? {}) as Record<string, unknown>);
  for (const [variable, path] of Object.entries(UPSTREAM_ENV)) {
    const value = env[variable];
    if (value === undefined || value === '') continue;
    setPath(upstream, path, variable === 'HEALTH_CHECK_PATH' ? value : variable === 'UPSTREAM_DEDUPE' || variable === 'UPSTREAM_BULKHEAD' ? envBool(value) : Number.isNaN(Number(value)) ? value : Number(value));
  }
  const input = {
    port: flags.port ?? envInt(env.PORT),
    host: env.HOST || undefined,
    supergraphPath: flags.supergraphPath ?? (env.SUPERGRAPH_PATH || undefined),
    watchSupergraph: envBool(env.SUPERGRAPH_WATCH),
    subgraphs,
    upstream,
    environment: env.NODE_ENV || undefined,
    bodyLimit: env.BODY_LIMIT || undefined,
    requestTimeoutMs: envInt(env.REQUEST_TIMEOUT_MS),
    auth: authFromEnv(env),
    adminToken: env.ADMIN_TOKEN || undefined,
    httpHeadersTimeoutMs: envInt(env.HTTP_HEADERS_TIMEOUT_MS),
    httpRequestTimeoutMs: envInt(env.HTTP_REQUEST_TIMEOUT_MS),
    allowedOrigins: env.CORS_ORIGINS ? splitUrls(env.CORS_ORIGINS) : undefined,
    cors: definedOnly({
      credentials: envBool(env.CORS_CREDENTIALS),
      maxAgeSeconds: envInt(env.CORS_MAX_AGE_SECONDS),
      allowedHeaders: commaList(env.CORS_ALLOWED_HEADERS),
    }),
    internalTokenSecret: env[INTERNAL_TOKEN_SECRET_ENV] || undefined,
    subscriptions: {
      ...(file.subscriptions as Record<string, unknown> | undefined),
      ...definedOnly({
        initTimeoutMs: envInt(env.WS_INIT_TIMEOUT_MS),
        maxPerSocket: envInt(env.WS_MAX_SUBSCRIPTIONS_PER_SOCKET),
        maxMessageBytes: envInt(env.WS_MAX_MESSAGE_BYTES),
      }),
    },
    redisUrl: env.REDIS_URL || undefined,
    cache: {
      ...(file.cache as Record<string, unknown> | undefined),
      ...definedOnly({
        enabled: envBool(env.CACHE_ENABLED),
        redisUrl: env.CACHE_REDIS_URL || env.REDIS_URL || undefined,
        secret: env.CACHE_ENCRYPTION_KEY || undefined,
        keyPrefix: env.CACHE_KEY_PREFIX || undefined,
        maxTtlSeconds: envInt(env.CACHE_MAX_TTL_SECONDS),
        timeoutMs: envInt(env.CACHE_TIMEOUT_MS),
        trace: envBool(env.CACHE_TRACE),
        redeleteAfterMs: envInt(env.CACHE_REDELETE_AFTER_MS),
      }),
      memory: {
        ...((file.cache as { memory?: Record<string, unknown> } | undefined)?.memory ?? {}),
        ...definedOnly({ maxEntries: envInt(env.CACHE_MEMORY_MAX_ENTRIES), maxBytes: envInt(env.CACHE_MEMORY_MAX_BYTES) }),
      },
    },
    busKeyPrefix: env.BUS_KEY_PREFIX || undefined,
    authorization: file.authorization,
    audit: file.audit,
    limits: {
      ...(file.limits as Record<string, unknown> | undefined),
      ...definedOnly(
        Object.fromEntries(
          Object.entries(ENV_KEYS)
            .filter(([path]) => path.startsWith('limits.'))
            .map(([path, variable]) => [path.slice('limits.'.length), envInt(env[variable])]),
        ),
      ),
    },
    rateLimit: {
      ...(file.rateLimit as Record<string, unknown> | undefined),
      ...definedOnly({
        enabled: envBool(env.RATE_LIMIT_ENABLED),
        perSubject: envInt(env.RATE_LIMIT_PER_SUBJECT),
        costPerSubject: envInt(env.RATE_LIMIT_COST_PER_SUBJECT),
        failedAuthPerIp: envInt(env.RATE_LIMIT_FAILED_AUTH_PER_IP),
        windowSeconds: envInt(env.RATE_LIMIT_WINDOW_SECONDS),
        redisUrl: env.REDIS_URL || undefined,
        keyPrefix: env.RATE_LIMIT_KEY_PREFIX || undefined,
        redisTimeoutMs: envInt(env.RATE_LIMIT_REDIS_TIMEOUT_MS),
      }),
    },
    busUrl: env.BUS_URL || undefined,
    busToken: env.BUS_TOKEN || undefined,
    ide: definedOnly({ enabled: envBool(env.IDE_ENABLED), developmentToken: env.IDE_DEV_TOKEN || undefined }),
  };
  return parseConfig(gatewayConfigSchema, input, {
    keyOf,
    secretKeys: ['AUTH_JWT_SECRET', INTERNAL_TOKEN_SECRET_ENV, 'ADMIN_TOKEN', 'BUS_TOKEN', 'CACHE_ENCRYPTION_KEY', 'IDE_DEV_TOKEN'],
  });
}
