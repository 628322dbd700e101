import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadGatewayConfig } from '../src/config';
import { INTERNAL_TOKEN_ENV, problemsOf } from './config-problems';

const SECRET = 'x'.repeat(32);
/** A development gateway's two secrets: its tokens' and its subgraph calls'. */
const DEV = { AUTH_JWT_SECRET: SECRET, ...INTERNAL_TOKEN_ENV };
/** What production needs for authentication (jwt and none are refused there). */
const OIDC_IN_PRODUCTION = {
  ...INTERNAL_TOKEN_ENV,
  NODE_ENV: 'production',
  AUTH_ISSUER: 'https://login.example.org/',
  AUTH_AUDIENCE: 'patient-graph',
  AUTH_CLINICS: 'north',
};

describe('gateway configuration is validated at start-up', () => {
  it('starts on embedded defaults when only its secrets are given', () => {
    const config = loadGatewayConfig(DEV);
    expect(config).toMatchObject({ port: 4000, supergraphPath: 'schema/supergraph.graphql', auth: { mode: 'jwt' }, subgraphs: {}, requestTimeoutMs: 30_000 });
    expect(config.upstream).toEqual({
      tryTimeoutMs: 5000,
      retry: { maxRetries: 2, backoffMs: 25, maxBackoffMs: 2000, budgetRatio: 0.2, budgetMinPerSecond: 5 },
      health: { intervalMs: 5000, timeoutMs: 1000, healthyThreshold: 2, unhealthyThreshold: 2, ejectAfterFailures: 3 },
      breaker: { failureThreshold: 5, windowMs: 60_000, halfOpenAfterMs: 30_000, successesToClose: 3 },
      concurrency: { enabled: true, maxConcurrent: 64, queueSize: 1024, callerMaxConcurrent: 16, callerQueueSize: 256, queueTimeoutMs: 10_000 },
      dedupe: true,
    });
  });

  it("refuses a caller's share larger than the subgraph's, naming the variable", () => {
    expect(() => loadGatewayConfig({ ...DEV, UPSTREAM_MAX_CONCURRENCY: '8', UPSTREAM_CALLER_MAX_CONCURRENCY: '10' })).toThrow(/UPSTREAM_CALLER_MAX_CONCURRENCY: .*callerMaxConcurrent must not exceed maxConcurrent/);
  });

  it('requires authentication by default and a secret to sign subgraph calls with, naming both', () => {
    expect(problemsOf({})).toEqual(['AUTH_JWT_SECRET: expected string, found nothing (unset)', 'INTERNAL_TOKEN_SECRET: expected string, found nothing (unset)']);
    // Whatever the mode: subgraphs answer signed calls only, even when clients need no token.
    expect(problemsOf({ AUTH_MODE: 'none' })).toEqual(['INTERNAL_TOKEN_SECRET: expected string, found nothing (unset)']);
  });

  it('never prints the secrets it rejects', () => {
    const problems = problemsOf({ AUTH_JWT_SECRET: 'hunter2', INTERNAL_TOKEN_SECRET: 'swordfish' });
    expect(problems).toEqual([
      'AUTH_JWT_SECRET: expected at least 32 characters, found a string (hidden)',
      'INTERNAL_TOKEN_SECRET: expected at least 32 characters, found a string (hidden)',
    ]);
    expect(problems.join()).not.toMatch(/hunter2|swordfish/);
    expect(loadGatewayConfig(DEV).internalTokenSecret).toBe(INTERNAL_TOKEN_ENV.INTERNAL_TOKEN_SECRET);
  });

  it('keeps the entity cache in memory by default, and in Redis with REDIS_URL or CACHE_REDIS_URL', () => {
    expect(loadGatewayConfig(DEV).cache).toMatchObject({ enabled: true, maxTtlSeconds: 3600, timeoutMs: 50 });
    expect(loadGatewayConfig(DEV).cache.redisUrl).toBeUndefined();
    expect(loadGatewayConfig({ ...DEV, REDIS_URL: 'redis://bus:6379' }).cache.redisUrl).toBe('redis://bus:6379');
    expect(loadGatewayConfig({ ...DEV, REDIS_URL: 'redis://bus:6379', CACHE_REDIS_URL: 'redis://cache:6379' }).cache.redisUrl).toBe('redis://cache:6379');
    expect(loadGatewayConfig({ ...DEV, CACHE_ENABLED: 'false' }).cache.enabled).toBe(false);
  });

  it('refuses a cache in Redis without a sealing key in production, and never prints a key it rejects', () => {
    const production = { ...OIDC_IN_PRODUCTION, REDIS_URL: 'redis://cache:6379' };
    expect(problemsOf(production)).toEqual([
      'CACHE_ENCRYPTION_KEY: expected a key with a cache in Redis in production (64 hex characters or base64 of 32+ bytes), or CACHE_ENABLED=false, found nothing (unset)',
    ]);
    expect(loadGatewayConfig({ ...production, CACHE_ENABLED: 'false' }).cache.enabled).toBe(false);
    expect(loadGatewayConfig({ ...production, CACHE_ENCRYPTION_KEY: 'ab'.repeat(32) }).cache.secret).toBe('ab'.repeat(32));
    const problems = problemsOf({ ...DEV, CACHE_ENCRYPTION_KEY: 'too-short-key' });
    expect(problems).toEqual(['CACHE_ENCRYPTION_KEY: expected a key of 32+ bytes: 64 hex characters or base64, found a string (hidden)']);
  });

  it('limits request rates by default, counting in memory, and in Redis with REDIS_URL', () => {
    expect(loadGatewayConfig(DEV).rateLimit).toEqual({
      enabled: true,
      perSubject: 600,
      costPerSubject: 2_000_000,
      failedAuthPerIp: 30,
      windowSeconds: 60,
      keyPrefix: 'pg:ratelimit',
      redisTimeoutMs: 100,
    });
    const config = loadGatewayConfig({
      ...DEV,
      REDIS_URL: 'redis://shared:6379',
      RATE_LIMIT_PER_SUBJECT: '120',
      RATE_LIMIT_FAILED_AUTH_PER_IP: '0',
      RATE_LIMIT_WINDOW_SECONDS: '10',
      RATE_LIMIT_KEY_PREFIX: 'east:rl',
      RATE_LIMIT_REDIS_TIMEOUT_MS: '250',
      RATE_LIMIT_COST_PER_SUBJECT: '3000000',
    });
    expect(config.rateLimit).toEqual({
      enabled: true,
      perSubject: 120,
      costPerSubject: 3_000_000,
      failedAuthPerIp: 0,
      windowSeconds: 10,
      redisUrl: 'redis://shared:6379',
      keyPrefix: 'east:rl',
      redisTimeoutMs: 250,
    });
    expect(loadGatewayConfig({ ...DEV, RATE_LIMIT_ENABLED: 'false' }).rateLimit.enabled).toBe(false);
  });

  it('names the rate-limit setting, what was expected and what was found', () => {
    expect(problemsOf({ ...DEV, RATE_LIMIT_ENABLED: 'sometimes', RATE_LIMIT_PER_SUBJECT: '-1', RATE_LIMIT_WINDOW_SECONDS: '0', RATE_LIMIT_FAILED_AUTH_PER_IP: 'ten' })).toEqual([
      'RATE_LIMIT_ENABLED: expected boolean, found "sometimes"',
      'RATE_LIMIT_PER_SUBJECT: expected a value >= 0, found -1',
      'RATE_LIMIT_FAILED_AUTH_PER_IP: expected number, found "ten"',
      'RATE_LIMIT_WINDOW_SECONDS: expected a value > 0, found 0',
    ]);
  });

  it('names the key, what was expected and what was found for a bad port', () => {
    expect(problemsOf({ ...DEV, PORT: 'eighty' })).toEqual(['PORT: expected number, found "eighty"']);
    expect(problemsOf({ ...DEV, PORT: '70000' })).toEqual(['PORT: expected a value <= 65535, found 70000']);
  });

  it('reads subgraph URLs (comma-separated) and replicas from the environment and rejects ones that are not http(s)', () => {
    const config = loadGatewayConfig({
      ...DEV,
      SUBGRAPH_SEMBLE_URL: 'http://10.0.0.5:4001/graphql, http://10.0.0.6:4001/graphql',
      SUBGRAPH_SEMBLE_REPLICA_URLS: 'http://10.0.0.7:4001/graphql',
    });
    expect(config.subgraphs).toEqual({
      semble: { urls: ['http://10.0.0.5:4001/graphql', 'http://10.0.0.6:4001/graphql'], replicaUrls: ['http://10.0.0.7:4001/graphql'] },
    });
    expect(problemsOf({ ...DEV, SUBGRAPH_CRM_URL: 'http://ok/graphql,ftp://crm' })).toEqual([
      'SUBGRAPH_CRM_URL: expected an http(s) URL, found "ftp://crm"',
    ]);
  });

  it('takes upstream defaults from the environment and per-subgraph policy from the config file', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gateway-config-'));
    const file = path.join(dir, 'gateway.json');
    fs.writeFileSync(file, JSON.stringify({ subgraphs: { crm: { urls: ['http://crm-a/graphql'], breaker: { failureThreshold: 2 } } } }));
    const config = loadGatewayConfig({ ...DEV, GATEWAY_CONFIG: file, BREAKER_HALF_OPEN_AFTER_MS: '500', SUBGRAPH_CRM_REPLICA_URLS: 'http://crm-r/graphql' });
    expect(config.upstream.breaker.halfOpenAfterMs).toBe(500);
    expect(config.subgraphs.crm).toEqual({ urls: ['http://crm-a/graphql'], replicaUrls: ['http://crm-r/graphql'], breaker: { failureThreshold: 2 } });

    fs.writeFileSync(file, JSON.stringify({ subgraphs: { crm: { breaker: { failureThreshold: 0 } } } }));
    expect(problemsOf({ ...DEV, GATEWAY_CONFIG: file })).toEqual(['config file: subgraphs.crm.breaker.failureThreshold: expected a value >= 1, found 0']);
    fs.writeFileSync(file, '{ not json');
    expect(problemsOf({ ...DEV, GATEWAY_CONFIG: file })).toEqual([expect.stringMatching(/^GATEWAY_CONFIG: expected JSON, found a syntax error/)]);
  });

  it('requires the per-try timeout to be lower than the request deadline', () => {
    expect(problemsOf({ ...DEV, UPSTREAM_TRY_TIMEOUT_MS: '5000', REQUEST_TIMEOUT_MS: '4000' })).toEqual([
      'UPSTREAM_TRY_TIMEOUT_MS: expected a per-try timeout lower than REQUEST_TIMEOUT_MS, found 5000',
    ]);
    expect(problemsOf({ ...DEV, BREAKER_WINDOW_MS: 'soon' })).toEqual(['BREAKER_WINDOW_MS: expected number, found "soon"']);
  });

  it('refuses to run without authentication in production', () => {
    expect(problemsOf({ ...INTERNAL_TOKEN_ENV, AUTH_MODE: 'none', NODE_ENV: 'production' })).toEqual([
      'AUTH_MODE: expected "oidc" in production (jwt and none are for development), found "none"',
    ]);
    expect(loadGatewayConfig({ ...INTERNAL_TOKEN_ENV, AUTH_MODE: 'none' }).auth).toEqual({ mode: 'none' });
  });

  it('rejects an unknown AUTH_MODE and NODE_ENV with the allowed values', () => {
    expect(problemsOf({ ...INTERNAL_TOKEN_ENV, AUTH_MODE: 'basic' })).toEqual([expect.stringMatching(/^AUTH_MODE: expected .*"jwt".*"none".*, found "basic"$/)]);
    expect(problemsOf({ ...DEV, NODE_ENV: 'staging' })).toEqual([
      'NODE_ENV: expected one of "development", "production", "test", found "staging"',
    ]);
  });

  it('lets command-line flags win over the environment', () => {
    const config = loadGatewayConfig({ ...DEV, PORT: '5000', SUPERGRAPH_PATH: 'a.graphql' }, { port: 6000, supergraphPath: 'b.graphql' });
    expect(config.port).toBe(6000);
    expect(config.supergraphPath).toBe('b.graphql');
  });
});
