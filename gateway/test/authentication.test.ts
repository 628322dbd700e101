import path from 'node:path';
import jwt from 'jsonwebtoken';
import { parse } from 'graphql';
import { createGateway } from '../src/server';
import type { RunningGateway } from '../src/server';
import { signToken } from '../src/auth';
import { baseConfig, composeToFile, graphql, productsSdl, startProducts, tempDir, TEST_SECRET } from './fixtures';
import type { RunningSubgraph } from '../../lib/subgraph';

describe('every GraphQL request is authenticated', () => {
  let products: RunningSubgraph;
  let gateway: RunningGateway;

  beforeAll(async () => {
    products = await startProducts();
    const file = path.join(tempDir(), 'supergraph.graphql');
    composeToFile(file, [{ name: 'products', url: products.graphqlUrl, typeDefs: parse(productsSdl()) }]);
    gateway = await createGateway(baseConfig({ supergraphPath: file, environment: 'development' }));
  });

  afterAll(async () => {
    await gateway?.stop();
    await products?.stop();
  });

  const query = '{ products { id } }';

  it('answers a request without a token with 401 UNAUTHENTICATED and nothing else', async () => {
    const { status, body } = await graphql(gateway.graphqlUrl, query, { token: null });
    expect(status).toBe(401);
    expect(body.data).toBeUndefined();
    expect(body.errors).toEqual([{ message: expect.stringContaining('missing Authorization header'), extensions: { code: 'UNAUTHENTICATED' } }]);
  });

  it('rejects a token signed with another secret, an expired one and a non-HS256 one', async () => {
    const forged = signToken('another-secret-0123456789abcdef01234', { subject: 'x', roles: ['admin'] });
    const expired = jwt.sign({ roles: ['admin'], exp: Math.floor(Date.now() / 1000) - 60 }, TEST_SECRET, { algorithm: 'HS256' });
    const unsigned = jwt.sign({ roles: ['admin'] }, '', { algorithm: 'none' });
    for (const [token, reason] of [
      [forged, 'invalid signature'],
      [expired, 'jwt expired'],
      [unsigned, 'jwt signature is required'],
    ] as const) {
      const { status, body } = await graphql(gateway.graphqlUrl, query, { token });
      expect(status).toBe(401);
      expect(body.errors?.[0]).toEqual({ message: `Not authenticated: invalid token: ${reason}`, extensions: { code: 'UNAUTHENTICATED' } });
    }
  });

  it('rejects an Authorization header that is not a bearer token', async () => {
    const response = await fetch(gateway.graphqlUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Basic dXNlcjpwYXNz' },
      body: JSON.stringify({ query }),
    });
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toBe('Bearer');
  });

  it('serves a request with a valid token', async () => {
    const { status, body } = await graphql(gateway.graphqlUrl, query);
    expect(status).toBe(200);
    expect(body.data.products).toHaveLength(2);
  });

  it('serves the IDE page in development without a token, and no data with it', async () => {
    const response = await fetch(gateway.graphqlUrl, { headers: { accept: 'text/html' } });
    expect(response.status).toBe(200);
    expect(await response.text()).toContain('<div id="graphiql">');
    const smuggled = await fetch(`${gateway.graphqlUrl}?query=${encodeURIComponent(query)}`, { headers: { accept: 'text/html', 'apollo-require-preflight': '1' } });
    expect(smuggled.status).toBe(401);
  });

  it('leaves /healthz open for orchestrators', async () => {
    const response = await fetch(`${gateway.url}/healthz`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ status: 'ok' });
  });
});
