/**
 * Rate limits per caller, for HTTP and WebSocket alike (rate-limiter-flexible, fixed windows):
 *
 *   subject        requests per token subject (AUTH_MODE=none: per client address), counted
 *                  after the token verified: an HTTP operation, a WebSocket connection, a
 *                  subscribe message
 *   cost           the estimated cost (limits/limits.ts) of the operations one subject runs per
 *                  window, charged once the operation is known and before it is planned: a
 *                  client of heavy queries runs out long before one of light ones; an operation
 *                  refused by it is not charged
 *   failedAuthIp   failed authentications per client address; once over it, the address's
 *                  requests are refused before their token is verified, valid ones too, until the
 *                  window ends (verifying is the work a flood of bad tokens wants us to do, and a
 *                  refusal that depended on the token would tell a guesser which one is good)
 *
 * With Redis the counters are shared by every replica (RateLimiterRedis); a Redis that is down or
 * slower than `redisTimeoutMs` is not waited for: the replica's own memory counter (the insurance)
 * counts instead, so an outage loosens the limits to one per replica and never fails a request.
 * Counters are keyed by a keyed hash of the subject or address, never the value itself (a subject
 * can be an email address), and nothing here logs either.
 */
import crypto from 'node:crypto';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import type { Logger } from '../../../lib/logger';
import type { AuthIdentity, AuthResult, Authenticate } from '../auth';
import { ErrorCode } from '../errors';
import type { RateLimitConfig } from './config';
import { connectRateLimitRedis } from './redis-client';
import type { RateLimitRedis } from './redis-client';

export type RateLimitName = 'subject' | 'cost' | 'failedAuthIp';

/** A request refused by a rate limit. */
export interface RateLimited {
  limit: RateLimitName;
  /** Whole seconds until the window ends (at least 1): the `Retry-After`. */
  retryAfterSeconds: number;
}

/** An authentication as the rate limits let it happen: a verdict, a refusal, or a limit. */
export type LimitedAuthResult = AuthResult | { ok: false; limited: RateLimited };

export interface RateLimits {
  /**
   * Authenticates `authorization` from client `address` within the limits: refused at once when the
   * address is over its failed-authentication budget; a failure counts against the address; a
   * success counts one request for its subject.
   */
  authenticate(authorization: string | undefined, address: string): Promise<LimitedAuthResult>;
  /** One more request by an authenticated caller (a subscribe message on its socket). */
  consume(auth: AuthIdentity, address: string): Promise<RateLimited | undefined>;
  /** An operation's estimated cost, charged to its caller's cost budget; refused (and not charged) once the budget is spent. */
  charge(auth: AuthIdentity, address: string, cost: number): Promise<RateLimited | undefined>;
  stop(): Promise<void>;
}

export interface RateLimitsDeps {
  authenticate: Authenticate;
  /** Secret the keys' hash is derived from; replicas sharing a Redis must share it (INTERNAL_TOKEN_SECRET). */
  secret: string;
  /** False with AUTH_MODE=none: every caller is the same anonymous subject, so the address stands in for it. */
  subjects: boolean;
  logger: Logger;
  /** A request was refused by `limit`. */
  onLimited?: (limit: RateLimitName) => void;
}

/** One fixed-window counter per key: in memory, or in Redis with memory as its insurance. */
interface Counter {
  /** Resolves while the window has points left; rejects with a RateLimiterRes once they are spent. */
  consume(key: string, points?: number): Promise<RateLimiterRes>;
  get(key: string): Promise<RateLimiterRes | null>;
  /** Gives `points` back (a charge that was refused). */
  reward(key: string, points: number): Promise<unknown>;
}

/** The error a rate-limited request is answered with (the HTTP body's, a subscribe message's). */
export function rateLimitedError(limited: RateLimited): { message: string; extensions: Record<string, unknown> } {
  const what =
    limited.limit === 'subject'
      ? 'Too many requests from this caller'
      : limited.limit === 'cost'
        ? "This caller's operations have used up their cost budget"
        : 'Too many failed authentications from this address';
  return {
    message: `${what}: retry after ${limited.retryAfterSeconds} s`,
    extensions: { code: ErrorCode.RateLimited, limit: limited.limit, retryAfterSeconds: limited.retryAfterSeconds },
  };
}

export async function createRateLimits(config: RateLimitConfig, deps: RateLimitsDeps): Promise<RateLimits> {
  const { authenticate, logger } = deps;
  if (!config.enabled || (config.perSubject === 0 && config.failedAuthPerIp === 0 && config.costPerSubject === 0)) {
    return {
      authenticate: (authorization) => authenticate(authorization),
      consume: async () => undefined,
      charge: async () => undefined,
      stop: async () => undefined,
    };
  }

  // Replicas must hash alike to share counters, so the key comes from a secret they all have.
  const hashKey = crypto.createSecretKey(Buffer.from(crypto.hkdfSync('sha256', deps.secret, '', 'patient-graph rate-limit keys v1', 32)));
  const keyOf = (kind: 'subject' | 'address', value: string) => crypto.createHmac('sha256', hashKey).update(`${kind}\0${value}`).digest('base64url').slice(0, 32);

  const redis = config.redisUrl ? await connectRateLimitRedis(config.redisUrl, logger) : undefined;
  const limiter = (name: string, points: number): Counter | undefined => {
    if (points === 0) return undefined;
    const options = { keyPrefix: `${config.keyPrefix}:${name}`, points, duration: config.windowSeconds };
    const memory = new RateLimiterMemory(options);
    if (!redis) return memory;
    return insured(new RateLimiterRedis({ ...options, storeClient: redis.store, useRedisPackage: true, rejectIfRedisNotReady: true }), memory, config.redisTimeoutMs, redis);
  };
  const perSubject = limiter('subject', config.perSubject);
  const failedAuth = limiter('failed-auth-ip', config.failedAuthPerIp);
  const costBudget = limiter('cost', config.costPerSubject);

  const refuse = (limit: RateLimitName, msBeforeNext: number): RateLimited => {
    deps.onLimited?.(limit);
    return { limit, retryAfterSeconds: Math.max(1, Math.ceil(msBeforeNext / 1000)) };
  };

  /** Takes one point of `key`'s window; `spent`, with the time left, when it had none left. */
  const take = async (from: Counter, limit: RateLimitName, key: string, points = 1): Promise<{ spent: false } | { spent: true; msBeforeNext: number }> => {
    try {
      await from.consume(key, points);
    } catch (refusal) {
      if (refusal instanceof RateLimiterRes) return { spent: true, msBeforeNext: refusal.msBeforeNext };
      // Redis failed and so did the memory counter, which it cannot: count nothing rather than fail the request.
      logger.error({ err: (refusal as Error).message, limit }, 'rate limits: a request could not be counted');
    }
    return { spent: false };
  };

  const consume = async (auth: AuthIdentity, address: string): Promise<RateLimited | undefined> => {
    if (!perSubject) return undefined;
    const taken = await take(perSubject, 'subject', callerKey(auth, address));
    return taken.spent ? refuse('subject', taken.msBeforeNext) : undefined;
  };

  const callerKey = (auth: AuthIdentity, address: string) => (deps.subjects ? keyOf('subject', auth.subject) : keyOf('address', address));

  const charge = async (auth: AuthIdentity, address: string, cost: number): Promise<RateLimited | undefined> => {
    if (!costBudget || cost <= 0) return undefined;
    const key = callerKey(auth, address);
    const taken = await take(costBudget, 'cost', key, cost);
    if (!taken.spent) return undefined;
    // Refused work is not charged: the budget counts what ran.
    await costBudget.reward(key, cost).catch(() => undefined);
    return refuse('cost', taken.msBeforeNext);
  };

  return {
    charge,
    async authenticate(authorization, address) {
      const addressKey = keyOf('address', address);
      if (failedAuth) {
        const spent = await failedAuth.get(addressKey).catch(() => null);
        // A memory counter whose window has ended lingers until its timer runs: it counts no more.
        if (spent && spent.msBeforeNext > 0 && spent.consumedPoints >= config.failedAuthPerIp) return { ok: false, limited: refuse('failedAuthIp', spent.msBeforeNext) };
      }
      const result = await authenticate(authorization);
      if (!result.ok) {
        // The failure that spends the last point is still told why; the next request is refused.
        if (failedAuth && !result.unavailable) await take(failedAuth, 'failedAuthIp', addressKey);
        return result;
      }
      const refused = await consume(result.identity, address);
      return refused ? { ok: false, limited: refused } : result;
    },
    consume,
    async stop() {
      redis?.stop();
    },
  };
}

/**
 * `shared` answering within `timeoutMs`, else `memory`. The insurance is applied here rather than as
 * the library's `insuranceLimiter` option, which would count a request in memory a second time
 * when a command that timed out fails later (as every command left on a replaced connection does).
 */
function insured(shared: RateLimiterRedis, memory: RateLimiterMemory, timeoutMs: number, redis: RateLimitRedis): Counter {
  const orMemory = async <T>(attempt: Promise<T>, fallback: () => Promise<T>): Promise<T> => {
    let timer: NodeJS.Timeout | undefined;
    let timedOut = false;
    // The losing side of the race must not become an unhandled rejection.
    attempt.catch(() => undefined);
    try {
      return await Promise.race([
        attempt,
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => {
            timedOut = true;
            reject(new Error(`Redis did not answer within ${timeoutMs} ms`));
          }, timeoutMs);
        }),
      ]);
    } catch (error) {
      // Over the limit is Redis's answer, not its failure.
      if (error instanceof RateLimiterRes) throw error;
      if (timedOut) redis.stalled();
      return fallback();
    } finally {
      clearTimeout(timer);
    }
  };
  return {
    consume: (key, points = 1) => orMemory(shared.consume(key, points), () => memory.consume(key, points)),
    get: (key) => orMemory(shared.get(key), () => memory.get(key)),
    reward: (key, points) => orMemory(shared.reward(key, points), () => memory.reward(key, points)),
  };
}
