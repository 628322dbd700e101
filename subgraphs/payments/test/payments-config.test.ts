import { ConfigError } from '../../../lib/config';
import { TEST_INTERNAL_TOKEN_SECRET } from '../../../lib/test/as-gateway';
import { loadPaymentsConfig } from '../src/config';

/** The subgraph's configuration from `env` and the secret every subgraph needs (test/trusted-subgraphs.test.ts checks it). */
const load = (env: NodeJS.ProcessEnv) => loadPaymentsConfig({ INTERNAL_TOKEN_SECRET: TEST_INTERNAL_TOKEN_SECRET, ...env });

describe('loadPaymentsConfig', () => {
  it('has working defaults', () => {
    expect(load({})).toEqual({
      port: 4003,
      host: '127.0.0.1',
      stripeBaseUrl: 'http://127.0.0.1:4103',
      stripeSecretKey: 'sk_test_patientgraph',
      timeoutMs: 10_000,
      searchMaxClauses: 10,
      goCardlessBaseUrl: 'http://127.0.0.1:4106',
      goCardlessAccessToken: 'gocardless-dev-token',
      goCardlessTimeoutMs: 10_000,
      environment: 'development',
      vendorCacheEnabled: true,
      vendorCacheTtlMs: 30_000,
      vendorCacheTimeoutMs: 100,
      vendorCacheKeyPrefix: 'pg:cache:payments',
      busKeyPrefix: 'pg:bus:',
      internalTokenSecret: TEST_INTERNAL_TOKEN_SECRET,
    });
  });

  it('reads the environment', () => {
    const config = load({ PORT: '5003', STRIPE_BASE_URL: 'https://api.stripe.com', STRIPE_SECRET_KEY: 'sk_live_x', STRIPE_TIMEOUT_MS: '2500', STRIPE_SEARCH_MAX_CLAUSES: '5' });
    expect(config).toMatchObject({ port: 5003, stripeBaseUrl: 'https://api.stripe.com', stripeSecretKey: 'sk_live_x', timeoutMs: 2500, searchMaxClauses: 5 });
  });

  it('reads the GoCardless settings', () => {
    const config = load({ GOCARDLESS_BASE_URL: 'https://api.gocardless.com', GOCARDLESS_ACCESS_TOKEN: 'live_x', GOCARDLESS_TIMEOUT_MS: '3000' });
    expect(config).toMatchObject({ goCardlessBaseUrl: 'https://api.gocardless.com', goCardlessAccessToken: 'live_x', goCardlessTimeoutMs: 3000 });
    expect(() => load({ GOCARDLESS_BASE_URL: 'not a url', GOCARDLESS_ACCESS_TOKEN: 'live_secret' })).toThrow(/GOCARDLESS_BASE_URL/);
  });

  it('names the variable, what was expected and what was found', () => {
    expect(() => load({ STRIPE_SEARCH_MAX_CLAUSES: 'many', PORT: '70000', STRIPE_BASE_URL: 'ftp://x' })).toThrow(ConfigError);
    try {
      load({ STRIPE_SEARCH_MAX_CLAUSES: 'many', PORT: '70000', STRIPE_BASE_URL: 'ftp://x' });
    } catch (error) {
      const message = (error as Error).message;
      expect(message).toContain('STRIPE_SEARCH_MAX_CLAUSES: expected number, found "many"');
      expect(message).toContain('PORT: expected a value <= 65535, found 70000');
      expect(message).toContain('STRIPE_BASE_URL: expected an http(s) URL');
    }
  });

  describe('the vendor cache and the bus', () => {
    const HEX_KEY = 'ab'.repeat(32);
    const problemsOf = (env: NodeJS.ProcessEnv): string[] => {
      try {
        load(env);
      } catch (error) {
        expect(error).toBeInstanceOf(ConfigError);
        return (error as ConfigError).problems;
      }
      throw new Error('expected a ConfigError');
    };

    it('reads them', () => {
      const base64Key = Buffer.alloc(32, 7).toString('base64');
      expect(
        load({
          VENDOR_CACHE_ENABLED: 'false',
          VENDOR_CACHE_TTL_MS: '5000',
          VENDOR_CACHE_TIMEOUT_MS: '250',
          VENDOR_CACHE_KEY: base64Key,
          VENDOR_CACHE_KEY_PREFIX: 'pg:cache:payments-eu',
          REDIS_URL: 'rediss://cache.internal:6380',
          BUS_KEY_PREFIX: 'eu:bus:',
          NODE_ENV: 'production',
        }),
      ).toMatchObject({
        vendorCacheEnabled: false,
        vendorCacheTtlMs: 5000,
        vendorCacheTimeoutMs: 250,
        vendorCacheKey: base64Key,
        vendorCacheKeyPrefix: 'pg:cache:payments-eu',
        redisUrl: 'rediss://cache.internal:6380',
        busKeyPrefix: 'eu:bus:',
        environment: 'production',
      });
      expect(load({ VENDOR_CACHE_ENABLED: '0', VENDOR_CACHE_KEY: HEX_KEY })).toMatchObject({ vendorCacheEnabled: false, vendorCacheKey: HEX_KEY });
      expect(load({ BUS_URL: 'http://127.0.0.1:4005/bus', BUS_TOKEN: 'a-bus-token-of-24-chars!' })).toMatchObject({
        busUrl: 'http://127.0.0.1:4005/bus',
        busToken: 'a-bus-token-of-24-chars!',
      });
    });

    it('names each bad value, what was expected and what was found, never printing a key or token', () => {
      expect(problemsOf({ VENDOR_CACHE_ENABLED: 'maybe', VENDOR_CACHE_TTL_MS: '0', VENDOR_CACHE_TIMEOUT_MS: 'soon', REDIS_URL: 'http://cache:6379', BUS_URL: 'redis://cache:6379' })).toEqual([
        'VENDOR_CACHE_ENABLED: expected boolean, found "maybe"',
        'VENDOR_CACHE_TTL_MS: expected a value >= 1, found 0',
        'VENDOR_CACHE_TIMEOUT_MS: expected number, found "soon"',
        'REDIS_URL: expected a redis(s) URL, found "http://cache:6379"',
        'BUS_URL: expected an http(s) URL, found "redis://cache:6379"',
      ]);
      const shortKey = 'ab'.repeat(16);
      const problems = problemsOf({ VENDOR_CACHE_KEY: shortKey, BUS_TOKEN: 'short-token' });
      expect(problems).toEqual([
        'VENDOR_CACHE_KEY: expected a key of 32+ bytes: 64 hex characters or base64, found a string (hidden)',
        'BUS_TOKEN: expected at least 16 characters, found a string (hidden)',
      ]);
      expect(problems.join('\n')).not.toContain(shortKey);
    });

    it('wants BUS_TOKEN with BUS_URL', () => {
      expect(problemsOf({ BUS_URL: 'http://127.0.0.1:4005/bus' })).toEqual(['BUS_TOKEN: expected a token of 16+ characters with BUS_URL, found nothing (unset)']);
    });

    it('wants VENDOR_CACHE_KEY with a cache in Redis in production, where instances must share it', () => {
      expect(problemsOf({ NODE_ENV: 'production', REDIS_URL: 'redis://cache:6379' })).toEqual([
        'VENDOR_CACHE_KEY: expected a key with the vendor cache in Redis in production (64 hex characters or base64 of 32+ bytes), or VENDOR_CACHE_ENABLED=false, found nothing (unset)',
      ]);
      // Not in development, nor in production with memory or with the cache off.
      expect(load({ REDIS_URL: 'redis://cache:6379' }).vendorCacheKey).toBeUndefined();
      expect(load({ NODE_ENV: 'production' }).redisUrl).toBeUndefined();
      expect(load({ NODE_ENV: 'production', REDIS_URL: 'redis://cache:6379', VENDOR_CACHE_ENABLED: 'false' }).vendorCacheEnabled).toBe(false);
    });
  });
});
