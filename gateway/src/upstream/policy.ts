/**
 * How the gateway treats a subgraph's endpoints: timeouts, retries, health checks, passive
 * ejection and the circuit breaker. One schema, a default for every field; each subgraph may
 * override any part of it in the config file.
 */
import { z } from 'zod';

const retryFields = {
  /** Retries after the first try, for queries only. @default 2 */
  maxRetries: z.number().int().min(0).max(10),
  /** First backoff between tries; doubles each retry, with jitter. @default 25 */
  backoffMs: z.number().int().min(0),
  /** Cap on one backoff, and on how long a Retry-After is honoured. @default 2000 */
  maxBackoffMs: z.number().int().min(0),
  /** Retries may add at most this share of requests (per subgraph, over 10 s) … @default 0.2 */
  budgetRatio: z.number().min(0).max(1),
  /** … plus this many retries per second, so a quiet gateway can still retry. @default 5 */
  budgetMinPerSecond: z.number().min(0),
};

const healthFields = {
  /** Milliseconds between active checks; 0 turns them off. @default 5000 */
  intervalMs: z.number().int().min(0),
  /**
   * Path (on the endpoint's origin) answered with 2xx when healthy. Unset: POST `{ __typename }`
   * to the GraphQL URL itself, which works for any subgraph. @default unset
   */
  path: z.string().startsWith('/').optional(),
  /** A check that takes longer than this fails. @default 1000 */
  timeoutMs: z.number().int().min(1),
  /** Consecutive passing checks that bring an ejected endpoint back. @default 2 */
  healthyThreshold: z.number().int().min(1),
  /** Consecutive failing checks that eject an endpoint. @default 2 */
  unhealthyThreshold: z.number().int().min(1),
  /** Consecutive failed requests that eject an endpoint (passive). @default 3 */
  ejectAfterFailures: z.number().int().min(1),
};

const breakerFields = {
  /** Failures within `windowMs` that open the breaker. @default 5 */
  failureThreshold: z.number().int().min(1),
  /** @default 60000 */
  windowMs: z.number().int().min(1),
  /** How long an open breaker fast-fails before it lets a probe through (half-open). @default 30000 */
  halfOpenAfterMs: z.number().int().min(1),
  /** Consecutive successes in half-open that close it. @default 3 */
  successesToClose: z.number().int().min(1),
};

const concurrencyFields = {
  /** Whether calls to the subgraph go through its bulkhead at all. @default true */
  enabled: z.boolean(),
  /** Calls in flight to the subgraph at once (all callers). @default 64 */
  maxConcurrent: z.number().int().min(1),
  /** Calls that may wait for a slot beyond those; more are refused at once (OVERLOADED). @default 1024 */
  queueSize: z.number().int().min(0),
  /** Calls in flight to the subgraph at once for one caller (token subject). @default 16 */
  callerMaxConcurrent: z.number().int().min(1),
  /** One caller's calls that may wait for its share; more are refused at once (OVERLOADED). @default 256 */
  callerQueueSize: z.number().int().min(0),
  /** Longest wait in the queues before the call gives up (QUEUE_TIMEOUT); the request's deadline also ends it. @default 10000 */
  queueTimeoutMs: z.number().int().min(1),
};

const RETRY_DEFAULTS = { maxRetries: 2, backoffMs: 25, maxBackoffMs: 2000, budgetRatio: 0.2, budgetMinPerSecond: 5 };
const HEALTH_DEFAULTS = { intervalMs: 5000, timeoutMs: 1000, healthyThreshold: 2, unhealthyThreshold: 2, ejectAfterFailures: 3 };
const BREAKER_DEFAULTS = { failureThreshold: 5, windowMs: 60_000, halfOpenAfterMs: 30_000, successesToClose: 3 };
const CONCURRENCY_DEFAULTS = { enabled: true, maxConcurrent: 64, queueSize: 1024, callerMaxConcurrent: 16, callerQueueSize: 256, queueTimeoutMs: 10_000 };

// Overrides are partial objects *without* defaults, so a subgraph's override never drags the
// built-in defaults over what the environment set; defaults are filled in afterwards.
const retryOverrides = z.object(retryFields).partial();
const healthOverrides = z.object(healthFields).partial();
const breakerOverrides = z.object(breakerFields).partial();
const concurrencyOverrides = z.object(concurrencyFields).partial();

export const upstreamPolicySchema = z.object({
  /** Abort one try when no response headers arrived within this. @default 5000 */
  tryTimeoutMs: z.number().int().min(1).default(5000),
  retry: retryOverrides.prefault({}).transform((value) => ({ ...RETRY_DEFAULTS, ...value })),
  health: healthOverrides.prefault({}).transform((value) => ({ ...HEALTH_DEFAULTS, ...value })),
  breaker: breakerOverrides.prefault({}).transform((value) => ({ ...BREAKER_DEFAULTS, ...value })),
  concurrency: concurrencyOverrides
    .prefault({})
    .transform((value) => ({ ...CONCURRENCY_DEFAULTS, ...value }))
    .refine((value) => value.callerMaxConcurrent <= value.maxConcurrent, {
      message: 'callerMaxConcurrent must not exceed maxConcurrent (a caller\'s share is part of the subgraph\'s)',
      path: ['callerMaxConcurrent'],
    }),
  /** Share one upstream call among identical in-flight queries. @default true */
  dedupe: z.boolean().default(true),
});

export type UpstreamPolicy = z.infer<typeof upstreamPolicySchema>;
export type RetryPolicy = UpstreamPolicy['retry'];
export type HealthPolicy = UpstreamPolicy['health'];
export type BreakerPolicy = UpstreamPolicy['breaker'];
export type ConcurrencyPolicy = UpstreamPolicy['concurrency'];

/** A subgraph's overrides: any part of the policy, plus its endpoints. */
export const subgraphUpstreamSchema = z.object({
  /** Primary endpoints; queries are spread round-robin over the healthy ones, mutations go only here. */
  urls: z.array(z.url({ protocol: /^https?$/ })).min(1).optional(),
  /** Read-only replicas: serve queries only when no primary is available; never mutations. */
  replicaUrls: z.array(z.url({ protocol: /^https?$/ })).optional(),
  tryTimeoutMs: z.number().int().min(1).optional(),
  retry: retryOverrides.optional(),
  health: healthOverrides.optional(),
  breaker: breakerOverrides.optional(),
  concurrency: concurrencyOverrides.optional(),
  dedupe: z.boolean().optional(),
});

export type SubgraphUpstream = z.infer<typeof subgraphUpstreamSchema>;

/** The defaults with one subgraph's overrides on top. */
export function policyFor(defaults: UpstreamPolicy, overrides: SubgraphUpstream | undefined): UpstreamPolicy {
  if (!overrides) return defaults;
  return {
    tryTimeoutMs: overrides.tryTimeoutMs ?? defaults.tryTimeoutMs,
    retry: { ...defaults.retry, ...overrides.retry },
    health: { ...defaults.health, ...overrides.health },
    breaker: { ...defaults.breaker, ...overrides.breaker },
    concurrency: { ...defaults.concurrency, ...overrides.concurrency },
    dedupe: overrides.dedupe ?? defaults.dedupe,
  };
}
