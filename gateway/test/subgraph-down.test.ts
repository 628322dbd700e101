import path from 'node:path';
import { parse } from 'graphql';
import { createGateway } from '../src/server';
import type { RunningGateway } from '../src/server';
import { baseConfig, composeToFile, graphql, productsSdl, reviewsSdl, startProducts, startReviews, tempDir } from './fixtures';
import type { RunningSubgraph } from '../../lib/subgraph';
import { listen } from '../../lib/listen';

describe('a subgraph that is down', () => {
  let products: RunningSubgraph;
  let gateway: RunningGateway;
  let reviewsPort: number;

  beforeAll(async () => {
    products = await startProducts();
    // Reserve a port, then free it: nothing listens there while the gateway starts.
    const placeholder = await listen((_req, res) => res.end());
    reviewsPort = placeholder.port;
    await placeholder.stop();
    const file = path.join(tempDir(), 'supergraph.graphql');
    composeToFile(file, [
      { name: 'products', url: products.graphqlUrl, typeDefs: parse(productsSdl()) },
      { name: 'reviews', url: `http://127.0.0.1:${reviewsPort}/graphql`, typeDefs: parse(reviewsSdl) },
    ]);
    gateway = await createGateway(baseConfig({ supergraphPath: file }));
  });

  afterAll(async () => {
    await gateway?.stop();
    await products?.stop();
  });

  it('does not stop the gateway from starting, and only its fields fail', async () => {
    const { status, body } = await graphql(gateway.graphqlUrl, '{ products { id name reviews { stars } } }');
    expect(status).toBe(200);
    // Product.reviews is non-null, so the failure nulls each product's reviews up to the nullable parent…
    expect(body.errors).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ extensions: expect.objectContaining({ code: 'UPSTREAM_UNAVAILABLE', serviceName: 'reviews' }) }),
      ]),
    );
    // …while a query that does not touch the reviews subgraph is served in full.
    const unaffected = await graphql(gateway.graphqlUrl, '{ products { id name } }');
    expect(unaffected.body.errors).toBeUndefined();
    expect(unaffected.body.data.products.map((p: { name: string }) => p.name)).toEqual(['Stethoscope', 'Otoscope']);
  });

  it('serves the subgraph once it comes up', async () => {
    const reviews = await startReviews(reviewsPort);
    try {
      const { body } = await graphql(gateway.graphqlUrl, '{ products { id reviews { stars } } }');
      expect(body.errors).toBeUndefined();
      expect(body.data.products[0].reviews).toEqual([{ stars: 5 }, { stars: 4 }]);
    } finally {
      await reviews.stop();
    }
  });
});
