/**
 * The HTTP shell every subgraph runs in: Apollo Server 5 with a Federation 2 subgraph schema
 * behind express, plus /healthz. /graphql answers only the gateway: a call without a valid
 * internal identity token for this subgraph (lib/internal-identity.ts) is refused with 401 before
 * Apollo runs, and the verified identity is in every request's context. The subgraph brings its
 * typeDefs, resolvers and a per-request context factory (where its DataLoaders are created); this
 * module owns nothing else, apart from `reportFieldError`: partial results, where a field returns
 * what it has and an error says what is missing (graphql-js lets a resolver return a value or
 * throw, not both). Each /graphql call is a server span continuing the gateway's trace
 * (lib/tracing/http-server-span.ts).
 */
import { ApolloServer } from '@apollo/server';
import type { ApolloServerPlugin } from '@apollo/server';
import { ApolloServerPluginInlineTraceDisabled } from '@apollo/server/plugin/disabled';
import { expressMiddleware } from '@as-integrations/express5';
import { buildSubgraphSchema } from '@apollo/subgraph';
import type { GraphQLResolverMap } from '@apollo/subgraph/dist/schema-helper';
import express from 'express';
import type { Express, Request, RequestHandler } from 'express';
import { responsePathAsArray } from 'graphql';
import type { DocumentNode, GraphQLError, GraphQLFormattedError, GraphQLResolveInfo } from 'graphql';
import { createInternalTokenVerifier, INTERNAL_IDENTITY_HEADER } from './internal-identity';
import type { InternalIdentity, InternalTokenVerifier } from './internal-identity';
import { listen } from './listen';
import type { Listening } from './listen';
import { operationSpanPlugin, serverSpanMiddleware } from './tracing/http-server-span';

/** What every request's context holds besides the subgraph's own: the caller, as the gateway vouched for it. */
export interface VerifiedCaller {
  identity: InternalIdentity;
}

export interface SubgraphOptions<Context extends object> {
  /** The subgraph's name in the supergraph: the audience its internal identity tokens must be for. */
  name: string;
  typeDefs: DocumentNode;
  resolvers: GraphQLResolverMap<Context & VerifiedCaller>;
  /**
   * Builds the context of one request: create DataLoaders here so batches never span requests.
   * `req` is the HTTP request, `identity` the caller the gateway vouched for, which is also
   * added to what this returns.
   */
  context: (request: { req: Request; identity: InternalIdentity }) => Context | Promise<Context>;
  /**
   * INTERNAL_TOKEN_SECRET, shared with the gateway: a /graphql call whose token it did not sign,
   * or that is for another subgraph, expired or missing, is refused (401 UNAUTHENTICATED).
   * Throws at start-up when shorter than 32 characters.
   */
  internalTokenSecret: string;
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

/** Errors reported alongside data, per request (keyed by the request's context object). */
const reportedErrors = new WeakMap<object, GraphQLFormattedError[]>();

/**
 * Adds `error` to the response at the path of the field being resolved, while the resolver
 * still returns a value: e.g. a list merged from two vendors returns one vendor's items and
 * reports the other vendor's failure. The gateway maps the path like any subgraph error.
 * `context` must be the request's context object, as the resolver received it.
 */
export function reportFieldError(context: object, info: GraphQLResolveInfo, error: GraphQLError): void {
  const formatted: GraphQLFormattedError = {
    message: error.message,
    path: responsePathAsArray(info.path),
    ...(error.extensions && Object.keys(error.extensions).length > 0 ? { extensions: { ...error.extensions } } : {}),
  };
  const list = reportedErrors.get(context);
  if (list) list.push(formatted);
  else reportedErrors.set(context, [formatted]);
}

/** Appends the errors reported with reportFieldError to the response. */
const reportedErrorsPlugin: ApolloServerPlugin<object> = {
  async requestDidStart() {
    return {
      async willSendResponse({ contextValue, response }) {
        const extra = reportedErrors.get(contextValue);
        if (!extra || response.body.kind !== 'single') return;
        const result = response.body.singleResult;
        result.errors = [...(result.errors ?? []), ...extra];
      },
    };
  },
};

/**
 * Lets through only calls carrying a valid internal identity token, kept in `res.locals.identity`.
 * A refusal is a GraphQL-shaped 401 and reads no body: nothing of the call reaches Apollo.
 */
function requireInternalIdentity(verify: InternalTokenVerifier): RequestHandler {
  return async (req, res, next) => {
    const result = await verify(req.headers[INTERNAL_IDENTITY_HEADER]);
    if (!result.ok) {
      res.status(401).json({ errors: [{ message: `Not authenticated: ${result.reason}`, extensions: { code: 'UNAUTHENTICATED' } }] });
      return;
    }
    res.locals.identity = result.identity;
    next();
  };
}

export async function startSubgraph<Context extends object>(options: SubgraphOptions<Context>): Promise<RunningSubgraph> {
  // Made before anything starts: a bad secret stops start-up, not the first request.
  const verify = createInternalTokenVerifier(options.internalTokenSecret, options.name);
  const server = new ApolloServer<Context & VerifiedCaller>({
    schema: buildSubgraphSchema([{ typeDefs: options.typeDefs, resolvers: options.resolvers as GraphQLResolverMap<unknown> }]),
    introspection: true,
    // Subgraphs sit behind the gateway; errors carry codes, never stack traces.
    includeStacktraceInErrorResponses: false,
    // Signals belong to the entrypoint (lib/process.ts), which stops HTTP and Apollo in order.
    stopOnTerminationSignals: false,
    // Inline traces are for Apollo's hosted reporting, which this project does not use.
    plugins: [
      ApolloServerPluginInlineTraceDisabled(),
      reportedErrorsPlugin as ApolloServerPlugin<Context & VerifiedCaller>,
      operationSpanPlugin<Context & VerifiedCaller>(),
    ],
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
  app.use(
    '/graphql',
    requireInternalIdentity(verify),
    express.json({ limit: '2mb' }),
    // The gateway's trace continues here (its `traceparent`), past the identity check.
    serverSpanMiddleware({ attributes: { 'patient_graph.subgraph': options.name } }),
    expressMiddleware(server, {
      context: async ({ req, res }) => {
        const identity = res.locals.identity as InternalIdentity;
        return { ...(await options.context({ req, identity })), identity };
      },
    }),
  );
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
