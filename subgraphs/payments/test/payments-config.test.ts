import { ConfigError } from '../../../lib/config';
import { loadPaymentsConfig } from '../src/config';

describe('loadPaymentsConfig', () => {
  it('has working defaults', () => {
    expect(loadPaymentsConfig({})).toEqual({
      port: 4003,
      host: '127.0.0.1',
      stripeBaseUrl: 'http://127.0.0.1:4103',
      stripeSecretKey: 'sk_test_patientgraph',
      timeoutMs: 10_000,
      searchMaxClauses: 10,
      goCardlessBaseUrl: 'http://127.0.0.1:4106',
      goCardlessAccessToken: 'gocardless-dev-token',
      goCardlessTimeoutMs: 10_000,
    });
  });

  it('reads the environment', () => {
    const config = loadPaymentsConfig({ PORT: '5003', STRIPE_BASE_URL: 'https://api.stripe.com', STRIPE_SECRET_KEY: 'sk_live_x', STRIPE_TIMEOUT_MS: '2500', STRIPE_SEARCH_MAX_CLAUSES: '5' });
    expect(config).toMatchObject({ port: 5003, stripeBaseUrl: 'https://api.stripe.com', stripeSecretKey: 'sk_live_x', timeoutMs: 2500, searchMaxClauses: 5 });
  });

  it('reads the GoCardless settings', () => {
    const config = loadPaymentsConfig({ GOCARDLESS_BASE_URL: 'https://api.gocardless.com', GOCARDLESS_ACCESS_TOKEN: 'live_x', GOCARDLESS_TIMEOUT_MS: '3000' });
    expect(config).toMatchObject({ goCardlessBaseUrl: 'https://api.gocardless.com', goCardlessAccessToken: 'live_x', goCardlessTimeoutMs: 3000 });
    expect(() => loadPaymentsConfig({ GOCARDLESS_BASE_URL: 'not a url', GOCARDLESS_ACCESS_TOKEN: 'live_secret' })).toThrow(/GOCARDLESS_BASE_URL/);
  });

  it('names the variable, what was expected and what was found', () => {
    expect(() => loadPaymentsConfig({ STRIPE_SEARCH_MAX_CLAUSES: 'many', PORT: '70000', STRIPE_BASE_URL: 'ftp://x' })).toThrow(ConfigError);
    try {
      loadPaymentsConfig({ STRIPE_SEARCH_MAX_CLAUSES: 'many', PORT: '70000', STRIPE_BASE_URL: 'ftp://x' });
    } catch (error) {
      const message = (error as Error).message;
      expect(message).toContain('STRIPE_SEARCH_MAX_CLAUSES: expected number, found "many"');
      expect(message).toContain('PORT: expected a value <= 65535, found 70000');
      expect(message).toContain('STRIPE_BASE_URL: expected an http(s) URL');
    }
  });
});
