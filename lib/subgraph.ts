/**
 * The HTTP shell every subgraph runs in: Apollo Server 5 with a Federation 2 subgraph schema
 * behind express, plus /healthz. The subgraph brings its typeDefs, resolvers and a per-request
 * context factory (where its DataLoaders are created); this module owns nothing else.
 */
import { ApolloServer } from '@apollo/server';
import { ApolloServerPluginInlineTraceDisabled } from '@apollo/server/plugin/disabled';
import { expressMiddleware } from '@as-integrations/express5';
import { buildSubgraphSchema } from '@apollo/subgraph';
import type { GraphQLResolverMap } from '@apollo/subgraph/dist/schema-helper';
import express from 'express';
import type { Express, Request } from 'express';
import type { DocumentNode } from 'graphql';
import { listen } from './listen';
import type { Listening } from './listen';

export interface SubgraphOptions<Context extends object> {
  name: string;
  typeDefs: DocumentNode;
  resolvers: GraphQLResolverMap<Context>;
  /**
   * Builds the context of one request: create DataLoaders here so batches never span requests.
   * `req` is the HTTP request (headers such as a forwarded identity).
   */
  context: (request: { req: Request }) => Context | Promise<Context>;
  port?: number;
  host?: string;
  /**
   * Extra routes on the same port (e.g. webhook receivers), added before /graphql with the app's
   * own body parsing left to them. Thrown errors stop start-up.
   */
  routes?: (app: Express) => void;
}

export interface RunningSubgraph extends Listening {
  /** The GraphQL endpoint, `${url}/graphql`. */
  graphqlUrl: string;
}

export async function startSubgraph<Context extends object>(options: SubgraphOptions<Context>): Promise<RunningSubgraph> {
  const server = new ApolloServer<Context>({
    schema: buildSubgraphSchema([{ typeDefs: options.typeDefs, resolvers: options.resolvers as GraphQLResolverMap<unknown> }]),
    introspection: true,
    // Subgraphs sit behind the gateway; errors carry codes, never stack traces.
    includeStacktraceInErrorResponses: false,
    // Signals belong to the entrypoint (lib/process.ts), which stops HTTP and Apollo in order.
    stopOnTerminationSignals: false,
    // Inline traces are for Apollo's hosted reporting, which this project does not use.
    plugins: [ApolloServerPluginInlineTraceDisabled()],
  });
  await server.start();
  const app = express();
  app.disable('x-powered-by');
  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok', subgraph: options.name });
  });
  try {
    options.routes?.(app);
  } catch (error) {
    await server.stop();
    throw error;
  }
  app.use('/graphql', express.json({ limit: '2mb' }), expressMiddleware(server, { context: async ({ req }) => options.context({ req }) }));
  const listening = await listen(app, options.port ?? 0, options.host);
  return {
    ...listening,
    graphqlUrl: `${listening.url}/graphql`,
    async stop() {
      await listening.stop();
      await server.stop();
    },
  };
}
