/**
 * The comparison for `npm run bench:cache`: plain @apollo/gateway (RemoteGraphQLDataSource,
 * no pool, no cache, no authentication or authorisation) over the same supergraph and subgraphs, in a process of
 * its own like ours. Subgraph URLs come from SUBGRAPH_<NAME>_URL, as for our gateway. The
 * subgraphs answer only signed calls, so it signs each one as ours does (INTERNAL_TOKEN_SECRET).
 */
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import { ApolloGateway, RemoteGraphQLDataSource } from '@apollo/gateway';
import type { GraphQLDataSourceProcessOptions } from '@apollo/gateway';
import { ApolloServer } from '@apollo/server';
import { startStandaloneServer } from '@apollo/server/standalone';
import { markEnforcedSecurityFeatures } from '../gateway/src/authorization/enforced-features';
import { subgraphUrlEnv } from '../gateway/src/config';
import { createInternalTokenSigner, INTERNAL_TOKEN_SECRET_ENV } from '../lib/internal-identity';
import type { InternalTokenSigner } from '../lib/internal-identity';
import { fromRoot } from '../lib/root';
import { reportReady, runMain, stopOnSignals } from '../lib/process';

/** Signs each call for its subgraph: one caller with no roles (this gateway serves without authorisation). */
class SignedDataSource extends RemoteGraphQLDataSource {
  constructor(
    url: string | undefined,
    private readonly subgraph: string,
    private readonly signer: InternalTokenSigner,
  ) {
    super({ url });
  }

  override async willSendRequest({ request }: GraphQLDataSourceProcessOptions) {
    const headers = await this.signer.headers(this.subgraph, { subject: 'vanilla-gateway', roles: [], requestId: randomUUID() });
    for (const [name, value] of Object.entries(headers)) request.http?.headers.set(name, value);
  }
}

runMain(async () => {
  const signer = createInternalTokenSigner(process.env[INTERNAL_TOKEN_SECRET_ENV] ?? '');
  const gateway = new ApolloGateway({
    // Plain @apollo/gateway refuses a supergraph with security features it cannot enforce; for this
    // comparison it is handed the supergraph as ours is, and serves it without authorisation.
    supergraphSdl: markEnforcedSecurityFeatures(fs.readFileSync(process.env.SUPERGRAPH_PATH ?? fromRoot('schema', 'supergraph.graphql'), 'utf8')),
    buildService: ({ name, url }) => new SignedDataSource(process.env[subgraphUrlEnv(name)]?.split(',')[0] ?? url, name, signer),
  });
  const server = new ApolloServer({ gateway });
  const { url } = await startStandaloneServer(server, { listen: { port: Number(process.env.PORT ?? 0), host: '127.0.0.1' } });
  reportReady('vanilla-gateway', url.replace(/\/$/, ''));
  stopOnSignals(() => server.stop());
});
