/**
 * The IDE page at /graphql: served to a browser without a token (it holds no data), with its own
 * assets under /graphql/ide and a strict Content-Security-Policy, and carrying the development
 * token only when the gateway runs with its development auth and the browser is on this machine
 * (loopback peer and Host, no proxy between). Off by default in production, and off when told.
 */
import net from 'node:net';
import os from 'node:os';
import { ConfigError } from '../../lib/config';
import { signToken } from '../src/auth';
import { loadGatewayConfig } from '../src/config';
import type { RunningGateway } from '../src/server';
import { TEST_CLINIC, TEST_SECRET, useProductsGateways } from './fixtures';

const DEV_TOKEN = signToken(TEST_SECRET, { subject: 'ide-user', roles: ['admin'], clinic: TEST_CLINIC });

interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** A GET over a plain socket, so the test chooses the address it connects from and the Host it names. */
function get(address: string, port: number, target: string, headers: Record<string, string>): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, address, () => {
      const lines = Object.entries({ Connection: 'close', ...headers }).map(([name, value]) => `${name}: ${value}\r\n`);
      socket.write(`GET ${target} HTTP/1.1\r\n${lines.join('')}\r\n`);
    });
    const chunks: Buffer[] = [];
    socket.on('data', (chunk) => chunks.push(chunk));
    socket.on('error', reject);
    socket.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      const [head = '', ...rest] = text.split('\r\n\r\n');
      const [statusLine = '', ...headerLines] = head.split('\r\n');
      const parsed = Object.fromEntries(headerLines.map((line) => [line.slice(0, line.indexOf(':')).toLowerCase(), line.slice(line.indexOf(':') + 1).trim()]));
      let body = rest.join('\r\n\r\n');
      if (parsed['transfer-encoding'] === 'chunked') body = unchunk(body);
      resolve({ status: Number(statusLine.split(' ')[1]), headers: parsed, body });
    });
  });
}

function unchunk(body: string): string {
  let out = '';
  let rest = body;
  for (;;) {
    const end = rest.indexOf('\r\n');
    const size = parseInt(rest.slice(0, end), 16);
    if (!size) return out;
    out += rest.slice(end + 2, end + 2 + size);
    rest = rest.slice(end + 2 + size + 2);
  }
}

const BROWSER_ACCEPT = 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8';

/** This machine's first address that is not loopback: a peer the gateway must not take for local. */
function outsideAddress(): string {
  const address = Object.values(os.networkInterfaces())
    .flat()
    .find((entry) => entry && entry.family === 'IPv4' && !entry.internal)?.address;
  if (!address) throw new Error('this test needs a non-loopback IPv4 address on this machine, to connect from somewhere that is not loopback; found none');
  return address;
}

describe('the IDE page', () => {
  const start = useProductsGateways();
  const page = (gateway: RunningGateway, headers: Record<string, string> = {}, address = '127.0.0.1') =>
    get(address, gateway.port, '/graphql', { Host: `localhost:${gateway.port}`, Accept: BROWSER_ACCEPT, ...headers });

  it('is GraphiQL, served without a token, loading only the gateway’s own files under a strict policy', async () => {
    const gateway = await start({ environment: 'development' });
    const response = await page(gateway);
    expect(response.status).toBe(200);
    expect(response.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(response.headers['cache-control']).toBe('no-store');
    const policy = response.headers['content-security-policy']!.split(/;\s*/);
    expect(policy).toEqual(
      expect.arrayContaining([
        "default-src 'none'",
        "script-src 'self'",
        `connect-src 'self' ws://localhost:${gateway.port} wss://localhost:${gateway.port}`,
        "frame-ancestors 'none'",
      ]),
    );
    expect(response.body).toContain('<div id="graphiql">');
    // Everything the page links to is the gateway's, but an empty icon (no request for /favicon.ico).
    const links = [...response.body.matchAll(/(?:src|href)="([^"]+)"/g)].map((match) => match[1]!);
    const sources = links.filter((link) => link !== 'data:,');
    expect(links.length - sources.length).toBe(1);
    expect(sources).toHaveLength(7);
    for (const source of sources) {
      expect(source).toMatch(/^\/graphql\/ide\/[0-9a-f]{16}\/[a-z-]+\.(js|css)$/);
      const asset = await get('127.0.0.1', gateway.port, source, { Host: `localhost:${gateway.port}` });
      expect(asset.status).toBe(200);
      expect(asset.headers['cache-control']).toBe('public, max-age=31536000, immutable');
      expect(asset.headers['content-type']).toMatch(source.endsWith('.js') ? /^text\/javascript/ : /^text\/css/);
      expect(asset.body).not.toContain('sourceMappingURL');
    }
    const graphiql = sources.find((source) => source.endsWith('/graphiql.js'))!;
    const stale = await get('127.0.0.1', gateway.port, graphiql.replace(/\/[0-9a-f]{16}\//, '/0123456789abcdef/'), { Host: 'localhost' });
    expect(stale.status).toBe(404);
    // A GraphQL client's GET still gets GraphQL, and needs a token.
    const client = await get('127.0.0.1', gateway.port, '/graphql?query=%7B__typename%7D', { Host: 'localhost', Accept: 'application/json', 'apollo-require-preflight': '1' });
    expect(client.status).toBe(401);
    const smuggled = await get('127.0.0.1', gateway.port, '/graphql?query=%7B__typename%7D', { Host: 'localhost', Accept: BROWSER_ACCEPT, 'apollo-require-preflight': '1' });
    expect(smuggled.status).toBe(401);
  });

  it('carries the development token to a browser on this machine, with the development auth', async () => {
    const gateway = await start({ environment: 'development', host: '0.0.0.0', ide: { developmentToken: DEV_TOKEN } });
    const local = await page(gateway);
    expect(local.status).toBe(200);
    expect(local.body).toContain(`Bearer ${DEV_TOKEN}`);
    expect((await page(gateway, { Host: `127.0.0.1:${gateway.port}` })).body).toContain(DEV_TOKEN);
  });

  it('leaves the token out for a browser elsewhere, behind a proxy, or on a rebound name', async () => {
    const gateway = await start({ environment: 'development', host: '0.0.0.0', ide: { developmentToken: DEV_TOKEN } });
    const outside = outsideAddress();
    const cases = {
      'another machine': await page(gateway, { Host: `${outside}:${gateway.port}` }, outside),
      'another machine naming localhost': await page(gateway, {}, outside),
      'a proxy on this machine': await page(gateway, { 'X-Forwarded-For': '203.0.113.7' }),
      'a standard Forwarded header': await page(gateway, { Forwarded: 'for=203.0.113.7' }),
      'another site resolving to 127.0.0.1': await page(gateway, { Host: `rebound.example:${gateway.port}` }),
    };
    for (const [, response] of Object.entries(cases)) {
      expect(response.status).toBe(200);
      expect(response.body).toContain('<div id="graphiql">');
      expect(response.body).not.toContain(DEV_TOKEN);
      expect(response.body).not.toMatch(/eyJ[\w-]+\./);
    }
  });

  it('leaves out a development token that no longer verifies', async () => {
    const expired = signToken(TEST_SECRET, { subject: 'ide-user', roles: ['admin'], clinic: TEST_CLINIC }, { expiresIn: -120 });
    const gateway = await start({ environment: 'development', ide: { developmentToken: expired } });
    const response = await page(gateway);
    expect(response.status).toBe(200);
    expect(response.body).not.toContain(expired);
  });

  it('never carries a token in production, even one configured', async () => {
    // Production's configuration takes no token (below); one that got past it is still not handed out.
    const gateway = await start({ ide: { enabled: true, developmentToken: DEV_TOKEN } }, (config) => void (config.environment = 'production'));
    const response = await page(gateway);
    expect(response.status).toBe(200);
    expect(response.body).toContain('<div id="graphiql">');
    expect(response.body).not.toContain(DEV_TOKEN);
  });

  it('takes a development token only with the development auth', () => {
    const env = {
      AUTH_MODE: 'oidc',
      AUTH_ISSUER: 'https://login.example.org/',
      AUTH_AUDIENCE: 'api://graph',
      AUTH_CLINICS: 'north',
      INTERNAL_TOKEN_SECRET: 'internal-secret-0123456789abcdef0123',
      IDE_DEV_TOKEN: DEV_TOKEN,
    };
    expect(() => loadGatewayConfig(env)).toThrow(ConfigError);
    expect(() => loadGatewayConfig(env)).toThrow(/IDE_DEV_TOKEN: expected no token unless AUTH_MODE=jwt/);
    expect(() => loadGatewayConfig(env)).not.toThrow(new RegExp(DEV_TOKEN.slice(0, 20)));
    const { IDE_DEV_TOKEN: _, ...withoutToken } = env;
    expect(loadGatewayConfig(withoutToken).ide).toEqual({});
  });

  it('is off in production unless IDE_ENABLED says otherwise, and off anywhere with IDE_ENABLED=false', async () => {
    const production = await start({}, (config) => void (config.environment = 'production'));
    expect((await page(production)).status).toBe(401);
    const off = await start({ environment: 'development', ide: { enabled: false } });
    const response = await page(off);
    expect(response.status).toBe(401);
    expect(response.body).not.toContain('graphiql');
    expect(loadGatewayConfig({ AUTH_JWT_SECRET: TEST_SECRET, INTERNAL_TOKEN_SECRET: 'internal-secret-0123456789abcdef0123', IDE_ENABLED: 'false' }).ide).toEqual({ enabled: false });
  });
});
