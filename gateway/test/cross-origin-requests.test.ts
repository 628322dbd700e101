/**
 * A browser page of another origin calling the gateway over HTTP (CORS): its preflight is answered
 * before authentication, an allowed origin (CORS_ORIGINS; in development any localhost page) may
 * send the token and read the answer, Retry-After included, and a disallowed one gets no
 * Access-Control-Allow-Origin and is authenticated as before.
 */
import http from 'node:http';
import { loadGatewayConfig } from '../src/config';
import type { GatewayConfig } from '../src/config';
import type { RunningGateway } from '../src/server';
import { baseConfig, testToken, useProductsGateways } from './fixtures';

const APP = 'https://app.example.org';
const OTHER = 'https://elsewhere.example.com';
const LOCAL_PAGE = 'http://localhost:5173';

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** One request to /graphql with exactly these headers (fetch would add its own Origin handling). */
function send(gateway: RunningGateway, method: 'OPTIONS' | 'POST', headers: Record<string, string>, body?: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const request = http.request(`${gateway.url}/graphql`, { method, headers: { ...headers, ...(body ? { 'content-length': String(Buffer.byteLength(body)) } : {}) } }, (response) => {
      let text = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (text += chunk));
      response.on('end', () => resolve({ status: response.statusCode!, headers: response.headers, body: text }));
    });
    request.on('error', reject);
    request.end(body);
  });
}

/** A browser's preflight for a JSON POST carrying a token: no token in it. */
const preflight = (gateway: RunningGateway, origin: string) =>
  send(gateway, 'OPTIONS', { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization,content-type' });

const post = (gateway: RunningGateway, origin: string, token?: string) =>
  send(gateway, 'POST', { origin, 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) }, JSON.stringify({ query: '{ products { id } }' }));

const listOf = (value: string | string[] | undefined) => (typeof value === 'string' ? value.split(',').map((item) => item.trim().toLowerCase()) : []);

describe('cross-origin requests (CORS)', () => {
  const start = useProductsGateways();
  // Production takes single sign-on only; the token check is not what this is about.
  const production = (config: GatewayConfig) => void (config.environment = 'production');

  it("answers an allowed origin's preflight without a token: 204, the origin, the headers it may send, and for how long", async () => {
    const gateway = await start({ allowedOrigins: [APP] });
    const answer = await preflight(gateway, APP);
    expect(answer.status).toBe(204);
    expect(answer.headers['access-control-allow-origin']).toBe(APP);
    expect(listOf(answer.headers['access-control-allow-headers'])).toEqual(
      expect.arrayContaining(['authorization', 'content-type', 'apollo-require-preflight', 'x-apollo-operation-name']),
    );
    expect(listOf(answer.headers['access-control-allow-methods'])).toEqual(expect.arrayContaining(['get', 'post']));
    expect(answer.headers['access-control-max-age']).toBe('600');
    expect(answer.headers['access-control-allow-credentials']).toBeUndefined();
    expect(answer.headers['www-authenticate']).toBeUndefined();
  });

  it('lets an allowed page read the answer to its request, Retry-After included, and a 401 or 429 as well', async () => {
    const gateway = await start({ allowedOrigins: [APP], rateLimit: { ...baseConfig({}).rateLimit, perSubject: 1, windowSeconds: 60 } });
    const token = testToken();
    const served = await post(gateway, APP, token);
    expect(served.status).toBe(200);
    expect(JSON.parse(served.body).data.products).toHaveLength(2);
    expect(served.headers['access-control-allow-origin']).toBe(APP);
    expect(listOf(served.headers['access-control-expose-headers'])).toContain('retry-after');
    expect(listOf(served.headers.vary)).toContain('origin');

    const limited = await post(gateway, APP, token);
    expect(limited.status).toBe(429);
    expect(limited.headers['retry-after']).toMatch(/^\d+$/);
    expect(limited.headers['access-control-allow-origin']).toBe(APP);
    expect(listOf(limited.headers['access-control-expose-headers'])).toContain('retry-after');

    const unauthenticated = await post(gateway, APP);
    expect(unauthenticated.status).toBe(401);
    expect(unauthenticated.headers['access-control-allow-origin']).toBe(APP);
  });

  it('gives a disallowed origin no Access-Control-Allow-Origin, answers its preflight without authentication, and still requires a token', async () => {
    const gateway = await start({ allowedOrigins: [APP] });
    const refused = await preflight(gateway, OTHER);
    expect(refused.status).toBe(204);
    expect(refused.headers['access-control-allow-origin']).toBeUndefined();
    expect(refused.headers['access-control-allow-headers']).toBeUndefined();
    expect(refused.headers['www-authenticate']).toBeUndefined();
    expect(listOf(refused.headers.vary)).toContain('origin');

    const anonymous = await post(gateway, OTHER);
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers['access-control-allow-origin']).toBeUndefined();
    const withToken = await post(gateway, OTHER, testToken());
    expect(withToken.headers['access-control-allow-origin']).toBeUndefined();
    expect(withToken.headers['access-control-expose-headers']).toBeUndefined();
  });

  it('allows a localhost page by default in development, not in production unless listed', async () => {
    const development = await start({ environment: 'development' });
    expect((await preflight(development, LOCAL_PAGE)).headers['access-control-allow-origin']).toBe(LOCAL_PAGE);
    expect((await preflight(development, OTHER)).headers['access-control-allow-origin']).toBeUndefined();

    const closed = await start({}, production);
    const unlisted = await preflight(closed, LOCAL_PAGE);
    expect(unlisted.status).toBe(204);
    expect(unlisted.headers['access-control-allow-origin']).toBeUndefined();
    expect((await preflight(closed, APP)).headers['access-control-allow-origin']).toBeUndefined();

    const listed = await start({ allowedOrigins: [APP, LOCAL_PAGE] }, production);
    expect((await preflight(listed, LOCAL_PAGE)).headers['access-control-allow-origin']).toBe(LOCAL_PAGE);
    expect((await preflight(listed, APP)).headers['access-control-allow-origin']).toBe(APP);
  });

  it('sends Access-Control-Allow-Credentials, extra request headers and the preflight lifetime only as configured', async () => {
    const gateway = await start({ allowedOrigins: [APP], cors: { credentials: true, maxAgeSeconds: 30, allowedHeaders: ['traceparent'] } });
    const answer = await preflight(gateway, APP);
    expect(answer.headers['access-control-allow-credentials']).toBe('true');
    expect(answer.headers['access-control-allow-origin']).toBe(APP);
    expect(answer.headers['access-control-max-age']).toBe('30');
    expect(listOf(answer.headers['access-control-allow-headers'])).toEqual(expect.arrayContaining(['authorization', 'traceparent']));
    expect((await post(gateway, APP, testToken())).headers['access-control-allow-credentials']).toBe('true');
  });

  it('reads its settings from CORS_* and names the variable of a bad one', () => {
    const env = { INTERNAL_TOKEN_SECRET: 'i'.repeat(32), AUTH_JWT_SECRET: 's'.repeat(32) };
    const config = loadGatewayConfig({
      ...env,
      CORS_ORIGINS: `${APP}, ${LOCAL_PAGE}`,
      CORS_CREDENTIALS: 'true',
      CORS_MAX_AGE_SECONDS: '120',
      CORS_ALLOWED_HEADERS: 'traceparent, x-client-version',
    });
    expect(config.allowedOrigins).toEqual([APP, LOCAL_PAGE]);
    expect(config.cors).toEqual({ credentials: true, maxAgeSeconds: 120, allowedHeaders: ['traceparent', 'x-client-version'] });
    expect(loadGatewayConfig(env).cors).toEqual({ credentials: false, maxAgeSeconds: 600, allowedHeaders: [] });
    expect(() => loadGatewayConfig({ ...env, CORS_MAX_AGE_SECONDS: 'soon' })).toThrow(/CORS_MAX_AGE_SECONDS/);
    expect(() => loadGatewayConfig({ ...env, CORS_CREDENTIALS: 'maybe' })).toThrow(/CORS_CREDENTIALS/);
    expect(() => loadGatewayConfig({ ...env, CORS_ALLOWED_HEADERS: 'bad header' })).toThrow(/CORS_ALLOWED_HEADERS/);
  });
});
