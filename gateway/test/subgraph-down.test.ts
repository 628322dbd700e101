import path from 'node:path';
import { parse } from 'graphql';
import { createGateway } from '../src/server';
import type { RunningGateway } from '../src/server';
import { upstreamPolicySchema } from '../src/upstream/policy';
import { baseConfig, eventually, composeToFile, graphql, productsSdl, reviewsSdl, startProducts, startReviews, tempDir } from './fixtures';
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
    gateway = await createGateway(
      baseConfig({ supergraphPath: file, upstream: upstreamPolicySchema.parse({ health: { intervalMs: 100, healthyThreshold: 2 }, breaker: { halfOpenAfterMs: 500 } }) }),
    );
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

  it('says not ready, keeps trying the ejected endpoint (panic) without waiting for a timeout, until its breaker opens', async () => {
    const readyz = await fetch(`${gateway.url}/readyz`);
    expect(readyz.status).toBe(503);
    const report = (await readyz.json()) as any;
    expect(report.unavailableSubgraphs).toEqual(['reviews']);
    expect(report.subgraphs.reviews).toEqual(
      expect.objectContaining({
        available: false,
        endpoints: [expect.objectContaining({ url: `http://127.0.0.1:${reviewsPort}/graphql`, health: 'ejected' })],
      }),
    );
    const reasons: string[] = [];
    for (let i = 0; i < 8 && reasons.at(-1) !== 'NO_ENDPOINT_AVAILABLE'; i++) {
      const { body } = await graphql(gateway.graphqlUrl, '{ products { id reviews { stars } } }');
      // One error per field the subgraph was to give, each at its own path.
      const error = (index: number) =>
        expect.objectContaining({ path: ['products', index, 'reviews'], extensions: expect.objectContaining({ code: 'UPSTREAM_UNAVAILABLE', serviceName: 'reviews' }) });
      expect(body.errors).toEqual([error(0), error(1)]);
      reasons.push(body.errors![0].extensions.reason);
    }
    // Refused connections are tried (and fail at once), never waited on; then the breaker answers.
    expect(reasons).toContain('ATTEMPTS_FAILED');
    expect(reasons.at(-1)).toBe('NO_ENDPOINT_AVAILABLE');
    expect(reasons).not.toContain('DEADLINE_EXCEEDED');
  });

  it('serves the subgraph once it comes up and passes its health checks', async () => {
    const reviews = await startReviews(reviewsPort);
    try {
      const recovered = await eventually(async () => (await graphql(gateway.graphqlUrl, '{ products { reviews { stars } } }')).body.errors === undefined);
      expect(recovered).toBe(true);
      const { body } = await graphql(gateway.graphqlUrl, '{ products { id reviews { stars } } }');
      expect(body.errors).toBeUndefined();
      expect(body.data.products[0].reviews).toEqual([{ stars: 5 }, { stars: 4 }]);
    } finally {
      await reviews.stop();
    }
  });
});
