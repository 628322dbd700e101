import fs from 'node:fs';
import path from 'node:path';
import { parse } from 'graphql';
import pino from 'pino';
import { createGateway } from '../src/server';
import type { RunningGateway } from '../src/server';
import { baseConfig, composeToFile, eventually, graphql, productsSdl, reviewsSdl, startProducts, startReviews, tempDir } from './fixtures';
import type { RunningSubgraph } from '../../lib/subgraph';

describe('the gateway serves any Federation 2 supergraph', () => {
  let products: RunningSubgraph;
  let reviews: RunningSubgraph;
  let gateway: RunningGateway;
  let supergraphFile: string;
  const logs: Array<{ msg: string }> = [];

  beforeAll(async () => {
    products = await startProducts();
    reviews = await startReviews();
    supergraphFile = path.join(tempDir(), 'supergraph.graphql');
    // Routing URLs in the file point nowhere; configuration supplies the real ones.
    composeToFile(supergraphFile, [
      { name: 'products', url: 'http://127.0.0.1:9/graphql', typeDefs: parse(productsSdl()) },
      { name: 'reviews', url: 'http://127.0.0.1:9/graphql', typeDefs: parse(reviewsSdl) },
    ]);
    gateway = await createGateway(
      baseConfig({
        supergraphPath: supergraphFile,
        watchSupergraph: true,
        subgraphs: { products: { urls: [products.graphqlUrl] }, reviews: { urls: [reviews.graphqlUrl] } },
      }),
      { logger: pino({ level: 'info' }, { write: (line: string) => void logs.push(JSON.parse(line) as { msg: string }) }) },
    );
  });

  afterAll(async () => {
    await gateway?.stop();
    await products?.stop();
    await reviews?.stop();
  });

  it('joins entities across subgraphs of a graph that is not the patient graph', async () => {
    const { status, body } = await graphql(gateway.graphqlUrl, '{ products { id name reviews { stars } } }');
    expect(status).toBe(200);
    expect(body.errors).toBeUndefined();
    expect(body.data.products).toEqual([
      { id: 'p1', name: 'Stethoscope', reviews: [{ stars: 5 }, { stars: 4 }] },
      { id: 'p2', name: 'Otoscope', reviews: [] },
    ]);
  });

  it('reports the loaded supergraph and each subgraph on /readyz', async () => {
    const response = await fetch(`${gateway.url}/readyz`);
    const body = (await response.json()) as any;
    expect(response.status).toBe(200);
    expect(body.supergraph.phase).toBe('loaded');
    expect(body.supergraph.subgraphs.sort()).toEqual(['products', 'reviews']);
    expect(body.subgraphs.products).toEqual(expect.objectContaining({
      available: true,
      endpoints: [{ url: products.graphqlUrl, role: 'primary', health: 'healthy', breaker: 'closed' }],
    }));
  });

  it('picks up a changed supergraph file without a restart', async () => {
    const before = await graphql(gateway.graphqlUrl, '{ products { colour } }');
    expect(before.status).toBe(400);
    composeToFile(supergraphFile, [
      { name: 'products', url: 'http://127.0.0.1:9/graphql', typeDefs: parse(productsSdl('colour: String')) },
      { name: 'reviews', url: 'http://127.0.0.1:9/graphql', typeDefs: parse(reviewsSdl) },
    ]);
    const served = await eventually(async () => (await graphql(gateway.graphqlUrl, '{ products { colour } }')).status === 200);
    expect(served).toBe(true);
    const after = await graphql(gateway.graphqlUrl, '{ products { id colour } }');
    expect(after.body.data.products).toEqual([
      { id: 'p1', colour: 'blue' },
      { id: 'p2', colour: 'black' },
    ]);
  });

  it('keeps serving the last good supergraph when the file is broken', async () => {
    fs.writeFileSync(supergraphFile, 'type Query { broken: String }');
    expect(await eventually(async () => logs.some((line) => line.msg === 'supergraph reload failed; keeping the current one'))).toBe(true);
    const { status, body } = await graphql(gateway.graphqlUrl, '{ products { id colour } }');
    expect(status).toBe(200);
    expect(body.data.products).toHaveLength(2);
  });
});
