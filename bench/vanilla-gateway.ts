/**
 * The comparison for `npm run bench:cache`: plain @apollo/gateway (RemoteGraphQLDataSource,
 * no pool, no cache, no authentication or authorisation) over the same supergraph and subgraphs, in a process of
 * its own like ours. Subgraph URLs come from SUBGRAPH_<NAME>_URL, as for our gateway.
 */
import fs from 'node:fs';
import { ApolloGateway, RemoteGraphQLDataSource } from '@apollo/gateway';
import { ApolloServer } from '@apollo/server';
import { startStandaloneServer } from '@apollo/server/standalone';
import { markEnforcedSecurityFeatures } from '../gateway/src/authorization/enforced-features';
import { subgraphUrlEnv } from '../gateway/src/config';
import { fromRoot } from '../lib/root';
import { reportReady, runMain, stopOnSignals } from '../lib/process';

runMain(async () => {
  const gateway = new ApolloGateway({
    // Plain @apollo/gateway refuses a supergraph with security features it cannot enforce; for this
    // comparison it is handed the supergraph as ours is, and serves it without authorisation.
    supergraphSdl: markEnforcedSecurityFeatures(fs.readFileSync(process.env.SUPERGRAPH_PATH ?? fromRoot('schema', 'supergraph.graphql'), 'utf8')),
    buildService: ({ name, url }) => new RemoteGraphQLDataSource({ url: process.env[subgraphUrlEnv(name)]?.split(',')[0] ?? url }),
  });
  const server = new ApolloServer({ gateway });
  const { url } = await startStandaloneServer(server, { listen: { port: Number(process.env.PORT ?? 0), host: '127.0.0.1' } });
  reportReady('vanilla-gateway', url.replace(/\/$/, ''));
  stopOnSignals(() => server.stop());
});
