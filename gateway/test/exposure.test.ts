/**
 * What the gateway gives away besides data, and to whom: the IDE page (no token in it unless
 * ide-page.test.ts's conditions hold), schema hints in production errors, the operational
 * endpoints, slow or unauthenticated connections, browser pages of other sites opening
 * WebSockets, sockets outliving their token, and credentials inside configured URLs.
 */
import net from 'node:net';
import WebSocket from 'ws';
import { ConfigError } from '../../lib/config';
import { waitFor } from '../../lib/event-bus/test/wait-for';
import { signToken } from '../src/auth';
import { loadGatewayConfig } from '../src/config';
import type { RunningGateway } from '../src/server';
import { TEST_SECRET, graphql, useProductsGateways } from './fixtures';

const ADMIN_TOKEN = 'admin-token-0123456789abcdef';

describe('what the gateway exposes', () => {
  const start = useProductsGateways();

  it('serves the IDE page to any Host without a token in it, and no data without a token', async () => {
    const gateway = await start({ environment: 'development' });
    const page = async (host: string, target = '/graphql') => {
      const response = await new Promise<{ status: number; body: string }>((resolve, reject) => {
        const socket = net.connect(gateway.port, '127.0.0.1', () => {
          socket.write(`GET ${target} HTTP/1.1\r\nHost: ${host}\r\nAccept: text/html\r\nConnection: close\r\n\r\n`);
        });
        let text = '';
        socket.on('data', (chunk) => (text += chunk.toString('utf8')));
        socket.on('end', () => resolve({ status: Number(text.slice(9, 12)), body: text }));
        socket.on('error', reject);
      });
      return response;
    };
    for (const host of [`localhost:${gateway.port}`, `127.0.0.1:${gateway.port}`, 'patient-graph.example.org']) {
      const response = await page(host);
      expect(response.status).toBe(200);
      expect(response.body).toContain('<div id="graphiql">');
      // No IDE_DEV_TOKEN: the headers editor asks for one.
      expect(response.body).not.toMatch(/eyJ[\w-]+\./);
    }
    expect((await page('localhost', '/graphql?query=%7B__typename%7D')).status).toBe(401);
  });

  it('suggests no field names in production errors', async () => {
    const development = await start({ environment: 'development' });
    const hinted = await graphql(development.graphqlUrl, '{ products { nam } }');
    expect(hinted.body.errors?.[0].message).toContain('Did you mean');
    // Production takes single sign-on only; the token check is not what this is about.
    const production = await start({}, (config) => void (config.environment = 'production'));
    const { body } = await graphql(production.graphqlUrl, '{ products { nam } }');
    expect(body.errors?.[0].extensions.code).toBe('GRAPHQL_VALIDATION_FAILED');
    expect(body.errors?.[0].message).not.toContain('Did you mean');
    expect(body.errors?.[0].message).not.toContain('name');
  });

  it('keeps /metrics and the details of /readyz behind the admin token, and /healthz open', async () => {
    const gateway = await start({ adminToken: ADMIN_TOKEN });
    const get = (route: string, token?: string) => fetch(`${gateway.url}${route}`, token ? { headers: { authorization: `Bearer ${token}` } } : {});
    expect((await get('/healthz')).status).toBe(200);
    expect((await get('/metrics')).status).toBe(401);
    expect((await get('/metrics', 'wrong-token-0123456789')).status).toBe(401);
    expect(await (await get('/metrics', ADMIN_TOKEN)).text()).toContain('gateway_graphql_request_duration_seconds');
    const anonymous = await get('/readyz');
    expect(anonymous.status).toBe(200);
    expect(await anonymous.json()).toEqual({ status: 'ready' });
    const admin = (await (await get('/readyz', ADMIN_TOKEN)).json()) as { subgraphs: Record<string, unknown> };
    expect(Object.keys(admin.subgraphs)).toEqual(['products']);
  });

  it('closes the operational details in production when no admin token is set', async () => {
    const gateway = await start({}, (config) => void (config.environment = 'production'));
    expect((await fetch(`${gateway.url}/metrics`)).status).toBe(401);
    expect(await (await fetch(`${gateway.url}/readyz`)).json()).toEqual({ status: 'ready' });
  });

  it('disconnects a client that trickles its request headers', async () => {
    const gateway = await start({ httpHeadersTimeoutMs: 500, httpRequestTimeoutMs: 1000 });
    const socket = net.connect(gateway.port, '127.0.0.1');
    let answer = '';
    let closed = false;
    socket.on('data', (chunk) => (answer += chunk.toString('utf8')));
    socket.on('close', () => (closed = true));
    socket.on('error', () => undefined);
    socket.write('POST /graphql HTTP/1.1\r\nHost: localhost\r\n');
    await waitFor('the gateway to drop the slow client', () => closed, 10_000);
    expect(answer).toMatch(/^HTTP\/1\.1 408/);
  });

  it('closes the connection of a request that fails authentication', async () => {
    const gateway = await start({});
    const response = await fetch(gateway.graphqlUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"query":"{ products { id } }"}' });
    expect(response.status).toBe(401);
    expect(response.headers.get('connection')).toBe('close');
  });

  describe('WebSockets', () => {
    let gateway: RunningGateway;
    beforeAll(async () => {
      gateway = await start({
        environment: 'development',
        allowedOrigins: ['https://app.example.org'],
        subscriptions: { fields: { ticks: { topic: 'ticks', lookup: 'products', idFrom: 'cursor', filters: {} } } } as never,
      });
    });
    const wsUrl = () => gateway.graphqlUrl.replace('http://', 'ws://');
    const opens = (origin?: string) =>
      new Promise<number | 'open'>((resolve) => {
        const socket = new WebSocket(wsUrl(), 'graphql-transport-ws', origin ? { origin } : {});
        socket.on('open', () => {
          socket.close();
          resolve('open');
        });
        socket.on('unexpected-response', (_request, response) => resolve(response.statusCode ?? 0));
        socket.on('error', () => undefined);
      });

    it("refuses a page of another site, and takes the gateway's own, configured and local ones", async () => {
      expect(await opens('https://evil.example')).toBe(403);
      expect(await opens('https://app.example.org')).toBe('open');
      expect(await opens(new URL(gateway.url).origin)).toBe('open');
      expect(await opens('http://localhost:3000')).toBe('open');
      expect(await opens()).toBe('open'); // not a browser page
    });

    it('closes a socket when its token expires', async () => {
      const token = signToken(TEST_SECRET, { subject: 'brief', roles: [], clinic: 'test' }, { expiresIn: '2s' });
      const socket = new WebSocket(wsUrl(), 'graphql-transport-ws');
      const closedWith = new Promise<number>((resolve) => socket.on('close', (code) => resolve(code)));
      socket.on('open', () => socket.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${token}` } })));
      const acknowledged = await new Promise<boolean>((resolve) => socket.once('message', (data) => resolve(JSON.parse(String(data)).type === 'connection_ack')));
      expect(acknowledged).toBe(true);
      expect(await closedWith).toBe(4401);
    });
  });

  it('never prints the password of a configured URL', async () => {
    const gateway = await start({ subgraphs: { products: { urls: ['http://svc:s3cret-pass@127.0.0.1:9/graphql'] } } });
    const readyz = await (await fetch(`${gateway.url}/readyz`)).text();
    expect(readyz).toContain('svc:***@127.0.0.1:9');
    expect(readyz).not.toContain('s3cret-pass');
    expect(await (await fetch(`${gateway.url}/metrics`)).text()).not.toContain('s3cret-pass');
    let message = '';
    try {
      loadGatewayConfig({ AUTH_JWT_SECRET: TEST_SECRET, BUS_URL: 'ftp://svc:s3cret-pass@bus.internal/bus' });
    } catch (error) {
      message = (error as ConfigError).message;
    }
    expect(message).toContain('BUS_URL');
    expect(message).not.toContain('s3cret-pass');
  });
});
