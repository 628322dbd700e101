/**
 * createGateway(config) → a running gateway: Apollo Server 5 + @apollo/gateway over a
 * supergraph file, behind express with /healthz, /readyz and /graphql. Generic: nothing here
 * knows which supergraph it serves.
 */
import crypto from 'node:crypto';
import path from 'node:path';
import http from 'node:http';
import { ApolloGateway } from '@apollo/gateway';
import { ApolloServer } from '@apollo/server';
import type { ApolloServerPlugin } from '@apollo/server';
import { ApolloServerPluginDrainHttpServer } from '@apollo/server/plugin/drainHttpServer';
import {
  ApolloServerPluginLandingPageDisabled,
  ApolloServerPluginSchemaReportingDisabled,
  ApolloServerPluginUsageReportingDisabled,
} from '@apollo/server/plugin/disabled';
import { expressMiddleware } from '@as-integrations/express5';
import express from 'express';
import type { NextFunction, Request, Response } from 'express';
import { GraphQLError } from 'graphql';
import type { ExecutionResult, GraphQLFormattedError, GraphQLSchema } from 'graphql';
import { createEventBus, createRemoteEventBus } from '../../lib/event-bus';
import { createInternalTokenSigner } from '../../lib/internal-identity';
import type { EventBus } from '../../lib/event-bus/types';
import { bearerTokenCheck } from '../../lib/bearer-token';
import { listen } from '../../lib/listen';
import { operationSpanPlugin, serverSpanMiddleware } from '../../lib/tracing/http-server-span';
import { createLogger } from '../../lib/logger';
import type { Logger } from '../../lib/logger';
import { createAuditTrail } from './audit/audit-trail';
import { createAuthenticator } from './auth';
import { corsMiddleware } from './cors';
import { createOriginPolicy } from './origins';
import { createAuthorization } from './authorization/authorizing-gateway';
import { UNAUTHORIZED_CODE } from './authorization/mask';
import { callerOf } from './authorization/scopes';
import type { AuthIdentity } from './auth';
import { createEntityCache } from './cache/entity-cache';
import { readSupergraphEntities } from './entities/supergraph-entities';
import type { SupergraphEntities } from './entities/supergraph-entities';
import type { GatewayConfig } from './config';
import type { GatewayContext } from './context';
import { ErrorCode, errorBody, httpStatusFor, withTraceId } from './errors';
import { createGatewayMetrics } from './metrics';
import { IDE_ASSETS_PATH, createIde } from './ide/ide';
import { LIMIT_CODE, checkVariables, limitErrorOfParse, limitRules, parseOptionsOf } from './limits/limits';
import { cacheTracePlugin } from './plugins/cache-trace';
import { operationLimitsPlugin } from './plugins/operation-limits';
import type { ChargeCost } from './plugins/operation-limits';
import { requestMetricsPlugin } from './plugins/request-metrics';
import { subscriptionTransportPlugin } from './plugins/subscription-transport';
import { clientAddressOf } from './rate-limit/client-address';
import { createRateLimits, rateLimitedError } from './rate-limit/rate-limits';
import { composeStages } from './pipeline/call';
import { PipelineDataSource } from './pipeline/data-source';
import { poolTerminal } from './pipeline/pool-stage';
import { bulkheadStage } from './pipeline/bulkhead-stage';
import { subgraphStages } from './pipeline/stages';
import { startSubscriptionServer } from './subscriptions/server';
import type { SubscriptionServer } from './subscriptions/server';
import { createSseSubscriptionHandler, isEventStreamRequest } from './subscriptions/sse';
import { createFileSupergraph } from './supergraph';
import { policyFor } from './upstream/policy';
import { SubgraphPool } from './upstream/pool';

export type { GatewayContext } from './context';

export interface RunningGateway {
  url: string;
  /** The GraphQL endpoint, `${url}/graphql`. */
  graphqlUrl: string;
  port: number;
  stop(): Promise<void>;
}

export interface GatewayDeps {
  logger?: Logger;
  /** The event bus subscriptions follow; required when subscription fields are configured. */
  bus?: EventBus;
}

/** Mask what we did not mean to say: in production an unexpected error keeps only its code. */
function formatErrorFor(environment: GatewayConfig['environment'], limits: GatewayConfig['limits']) {
  return (formatted: GraphQLFormattedError): GraphQLFormattedError => {
    // A limit is reported as such, not as the parse or validation failure it surfaces through.
    // (A rate limit names its `limit` too, and keeps its own code.)
    if (formatted.extensions?.limit !== undefined && formatted.extensions.code !== ErrorCode.RateLimited) {
      return { ...formatted, extensions: { ...formatted.extensions, code: LIMIT_CODE } };
    }
    const tokens = limitErrorOfParse(formatted.message, limits);
    if (tokens) return { message: tokens.message, extensions: tokens.extensions };
    const code = formatted.extensions?.code;
    if (environment === 'production' && (code === undefined || code === ErrorCode.Internal)) {
      return { message: 'Internal server error', path: formatted.path, extensions: { code: ErrorCode.Internal } };
    }
    return formatted;
  };
}

export async function createGateway(config: GatewayConfig, deps: GatewayDeps = {}): Promise<RunningGateway> {
  const logger = deps.logger ?? createLogger('gateway');
  const supergraphFile = path.resolve(config.supergraphPath);
  const supergraph = createFileSupergraph({ file: supergraphFile, watch: config.watchSupergraph, logger });
  const metrics = createGatewayMetrics(logger);
  const signer = createInternalTokenSigner(config.internalTokenSecret);
  // One pool per subgraph and set of URLs, kept across supergraph reloads (which rebuild data sources).
  const pools = new Map<string, SubgraphPool>();
  const poolFor = (name: string, routingUrl: string | undefined): SubgraphPool => {
    const overrides = config.subgraphs[name];
    const primaries = overrides?.urls ?? (routingUrl ? [routingUrl] : []);
    if (primaries.length === 0) throw new Error(`subgraph "${name}" has no URL: set SUBGRAPH_${name.toUpperCase()}_URL`);
    const replicas = overrides?.replicaUrls ?? [];
    const key = JSON.stringify([name, primaries, replicas]);
    let pool = pools.get(key);
    if (!pool) {
      pool = new SubgraphPool(name, { primaries, replicas }, policyFor(config.upstream, overrides), signer, metrics.upstreamObserver);
      for (const endpoint of pool.endpoints) metrics.trackEndpoint(endpoint);
      pools.set(key, pool);
    }
    return pool;
  };
  const currentPools = new Map<string, SubgraphPool>();

  let entities: SupergraphEntities | undefined;
  const cache = createEntityCache(config.cache, { logger, metrics: metrics.cache });
  const bulkheads = bulkheadStage({ policy: (name) => policyFor(config.upstream, config.subgraphs[name]).concurrency, observer: metrics.bulkheadObserver });
  const stages = subgraphStages({
    ...(cache ? { cache: cache.stage } : {}),
    entities: () => entities,
    dedupe: (name) => policyFor(config.upstream, config.subgraphs[name]).dedupe,
    onDeduplicated: (name) => metrics.countDeduplicated(name),
    bulkhead: bulkheads.stage,
  });

  const gateway = new ApolloGateway({
    supergraphSdl: supergraph,
    // Each fetch's parsed document rides along with it, one object per cached query plan: the
    // pipeline reads its kind from it and the entity cache remembers its analysis by it.
    queryPlannerConfig: { exposeDocumentNodeInFetchNode: true },
    buildService: ({ name, url }) => {
      const pool = poolFor(name, url);
      currentPools.set(name, pool);
      return new PipelineDataSource({ subgraph: name, run: composeStages(stages, poolTerminal(pool, signer)), defaultTimeoutMs: config.requestTimeoutMs, logger });
    },
    logger: {
      debug: (message) => logger.debug(message),
      info: (message) => logger.info(message),
      warn: (message) => logger.warn(message),
      error: (message) => logger.error(message),
    },
  });

  const authorization = createAuthorization(gateway, callerOf(config.authorization, config.auth.mode !== 'none'));

  let apiSchema: GraphQLSchema | undefined;
  gateway.onSchemaLoadOrUpdate(({ apiSchema: schema, coreSupergraphSdl }) => {
    apiSchema = schema;
    entities = readSupergraphEntities(coreSupergraphSdl);
  });

  const app = express();
  app.disable('x-powered-by');
  const httpServer = http.createServer(
    {
      // Slow clients (headers or bodies trickling in) are disconnected instead of holding sockets.
      headersTimeout: config.httpHeadersTimeoutMs,
      requestTimeout: config.httpRequestTimeoutMs,
      connectionsCheckingInterval: Math.max(250, Math.min(config.httpHeadersTimeoutMs, 30_000) / 2),
    },
    app,
  );
  const development = config.environment !== 'production';
  // One origin policy for CORS and the WebSocket upgrade, so a page may use both or neither.
  const isAllowedOrigin = createOriginPolicy({ allowed: config.allowedOrigins, development });

  // The gateway closes a bus it created; one handed in belongs to the caller.
  let ownBus: EventBus | undefined;
  let bus = deps.bus;
  const servesSubscriptions = Object.keys(config.subscriptions.fields).length > 0;
  const followsInvalidations = cache !== undefined && config.cache.invalidation.length > 0;
  const keepsAuditTrail = config.audit.topic !== undefined;
  if ((servesSubscriptions || followsInvalidations || keepsAuditTrail) && !bus) {
    bus = ownBus = config.busUrl
      ? createRemoteEventBus({ url: config.busUrl, token: config.busToken! })
      : await createEventBus({ redisUrl: config.redisUrl, keyPrefix: config.busKeyPrefix });
  }
  const audit = keepsAuditTrail ? createAuditTrail(config.audit, { bus: bus!, logger }) : undefined;

  const authenticate = createAuthenticator(config.auth, { logger, roles: Object.keys(config.authorization.roles) });
  const rateLimits = await createRateLimits(config.rateLimit, {
    authenticate,
    secret: config.internalTokenSecret,
    subjects: config.auth.mode !== 'none',
    logger,
    onLimited: (limit) => metrics.countRateLimited(limit),
  });
  const chargeCost: ChargeCost = (context, cost) => rateLimits.charge(context.auth, context.clientAddress ?? 'unknown', cost);

  const plugins: ApolloServerPlugin<GatewayContext>[] = [ApolloServerPluginDrainHttpServer({ httpServer }), requestMetricsPlugin(metrics), operationSpanPlugin()];
  // Before the limits plugin charges the operation's cost: a misrouted subscription costs nothing.
  plugins.push(subscriptionTransportPlugin());
  if (audit) plugins.push(audit.plugin());
  plugins.push(operationLimitsPlugin(config.limits, () => apiSchema, chargeCost));
  if (cache && (config.cache.trace ?? development)) plugins.push(cacheTracePlugin());
  // Apollo's landing pages load Apollo Sandbox from a CDN: the IDE (ide/ide.ts) is served instead,
  // and nothing reports to Apollo, whatever APOLLO_KEY the environment holds.
  plugins.push(ApolloServerPluginLandingPageDisabled(), ApolloServerPluginUsageReportingDisabled(), ApolloServerPluginSchemaReportingDisabled());

  const formatError = formatErrorFor(config.environment, config.limits);
  const server = new ApolloServer<GatewayContext>({
    gateway: authorization.gateway,
    introspection: development,
    includeStacktraceInErrorResponses: false,
    // Production does not help a caller explore the schema ("Did you mean …?").
    hideSchemaDetailsFromClientErrors: !development,
    // Signals belong to the entrypoint (lib/process.ts), which stops HTTP and Apollo in order.
    stopOnTerminationSignals: false,
    formatError: (formatted) => withTraceId(formatError(formatted)),
    // Limits before any planning: tokens while parsing, the shape while validating, variables and
    // cost once the operation is known (operationLimitsPlugin).
    parseOptions: parseOptionsOf(config.limits),
    validationRules: limitRules(config.limits),
    plugins,
  });
  await server.start();


  let subscriptions: SubscriptionServer | undefined;
  if (followsInvalidations) await cache!.follow(bus!);
  if (servesSubscriptions) {
    subscriptions = startSubscriptionServer({
      httpServer,
      path: '/graphql',
      bus: bus!,
      config: config.subscriptions,
      // An event's entities are evicted before the event is resolved, so no subscriber gets what it replaced.
      beforeEvent: async (topic, event) => cache?.invalidation()?.apply(topic, event),
      schema: () => apiSchema,
      authenticate: rateLimits.authenticate,
      countRequest: rateLimits.consume,
      isAllowedOrigin,
      limits: config.limits,
      // The subscribed field itself must be one the caller may see; what it selects is masked per event.
      authorize: (document, operationName, auth, source, transport) => {
        const masked = authorization.mask(document, operationName, auth);
        if (masked.empty) return [new GraphQLError('Unauthorized field or type', { extensions: { code: UNAUTHORIZED_CODE } })];
        audit?.subscribed({
          auth,
          transport,
          operationName: operationName ?? null,
          // As Apollo hashes an HTTP operation: sha256 of its text.
          operationHash: crypto.createHash('sha256').update(source).digest('hex'),
          categories: masked.categories,
        });
        return [];
      },
      execute: async (query, variables, auth): Promise<ExecutionResult> => {
        const response = await server.executeOperation<Record<string, unknown>>(
          { query, variables },
          { contextValue: { auth, requestId: crypto.randomUUID(), deadline: Date.now() + config.requestTimeoutMs, transport: 'SUBSCRIPTION_EVENT' } },
        );
        if (response.body.kind !== 'single') throw new Error('incremental delivery is not used for subscription events');
        const { data, errors } = response.body.singleResult;
        // graphql-ws serialises GraphQLError instances; Apollo hands back formatted plain objects.
        return {
          data: data as ExecutionResult['data'],
          ...(errors ? { errors: errors.map((e) => new GraphQLError(e.message, { path: e.path, extensions: e.extensions })) } : {}),
        };
      },
      logger,
      onSubscribersChanged: (count) => metrics.setSubscribers(count),
    });
  }
  const sse = subscriptions ? createSseSubscriptionHandler(subscriptions.core) : undefined;
  /** Event-stream requests to graphql-sse, past authentication and the request limits; the rest to Apollo. */
  const eventStreams = (req: Request, res: Response, next: NextFunction) => {
    if (!sse || !isEventStreamRequest(req)) return next();
    sse(req, res).catch((error: Error) => {
      logger.error({ err: error.message }, 'SSE subscription failed');
      if (!res.headersSent) res.status(500).json(errorBody(ErrorCode.Internal, 'Internal server error'));
      else res.end();
    });
  };
  const knownSubgraphs = new Set(currentPools.keys());
  for (const name of Object.keys(config.subgraphs)) {
    if (!knownSubgraphs.has(name)) logger.warn({ subgraph: name }, 'a SUBGRAPH_<NAME>_URL names a subgraph the supergraph does not declare');
  }

  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  /**
   * The operational details name upstream URLs and internals: behind ADMIN_TOKEN when it is set,
   * open in development without it, closed in production without it.
   */
  const carriesAdminToken = config.adminToken ? bearerTokenCheck(config.adminToken) : undefined;
  const mayReadDetails = (req: Request) => (carriesAdminToken ? carriesAdminToken(req) : development);
  app.get('/metrics', async (req, res) => {
    if (!mayReadDetails(req)) {
      res.setHeader('WWW-Authenticate', 'Bearer');
      res.status(401).json(errorBody(ErrorCode.Unauthenticated, config.adminToken ? 'Metrics need the admin token' : 'Metrics are off in production without ADMIN_TOKEN'));
      return;
    }
    res.setHeader('content-type', metrics.registry.contentType);
    res.send(await metrics.registry.metrics());
  });
  app.get('/readyz', async (req, res) => {
    const state = supergraph.state();
    const busState = bus && subscriptions ? { reachable: await bus.ping().catch(() => false) } : undefined;
    // A subgraph none of whose endpoints is usable (all ejected, or breakers open) makes the replica
    // unready: the gateway still tries them (panic), but an orchestrator should know.
    const unavailable = [...currentPools].filter(([, pool]) => !pool.endpoints.some((e) => e.isAvailable())).map(([name]) => name);
    const ready = state.phase === 'loaded' && (busState?.reachable ?? true) && unavailable.length === 0;
    res.status(ready ? 200 : 503);
    // A load balancer needs only the status; the details are the admin's.
    if (!mayReadDetails(req)) {
      res.json({ status: ready ? 'ready' : 'not_ready' });
      return;
    }
    const loads = bulkheads.describe();
    const subgraphs = Object.fromEntries(
      [...currentPools].map(([name, pool]) => [
        name,
        { available: pool.endpoints.some((e) => e.isAvailable()), endpoints: pool.describe(), ...(loads[name] ? { load: loads[name] } : {}) },
      ]),
    );
    // The cache is reported, never a reason to be unready: without it every fetch is a miss.
    res.json({
      status: ready ? 'ready' : 'not_ready',
      ...(unavailable.length > 0 ? { unavailableSubgraphs: unavailable } : {}),
      supergraph: state,
      subgraphs,
      ...(busState ? { bus: busState } : {}),
      ...(cache ? { cache: cache.describe() } : {}),
    });
  });

  const requireAuth = async (req: Request, res: Response, next: NextFunction) => {
    const result = await rateLimits.authenticate(req.headers.authorization, clientAddressOf(req));
    if (!result.ok && 'limited' in result) {
      const { message, extensions } = rateLimitedError(result.limited);
      res.setHeader('Retry-After', String(result.limited.retryAfterSeconds));
      if (result.limited.limit === 'failedAuthIp') res.setHeader('Connection', 'close');
      res.status(httpStatusFor(ErrorCode.RateLimited)).json(errorBody(ErrorCode.RateLimited, message, extensions));
      return;
    }
    if (!result.ok) {
      res.setHeader('WWW-Authenticate', 'Bearer');
      // A client that fails authentication does not keep the connection.
      res.setHeader('Connection', 'close');
      res.status(httpStatusFor(ErrorCode.Unauthenticated)).json(errorBody(ErrorCode.Unauthenticated, `Not authenticated: ${result.reason}`));
      return;
    }
    res.locals.auth = result.identity;
    next();
  };

  const bodyErrors = (error: { type?: string; status?: number }, _req: Request, res: Response, next: NextFunction) => {
    if (error.type === 'entity.parse.failed') {
      res.status(400).json(errorBody(ErrorCode.BadRequest, 'The request body is not valid JSON', { expected: 'a JSON object { query, variables?, operationName? }' }));
      return;
    }
    if (error.type === 'entity.too.large') {
      res.status(413).json(errorBody(ErrorCode.PayloadTooLarge, `The request body is larger than ${config.bodyLimit}`, { limit: config.bodyLimit }));
      return;
    }
    if (error.status && error.status < 500) {
      res.status(error.status).json(errorBody(ErrorCode.BadRequest, 'The request could not be read'));
      return;
    }
    next(error);
  };

  /** The request's variables, within their limits, before anything parses the document. */
  const variableLimits = (req: Request, res: Response, next: NextFunction) => {
    let variables: unknown = (req.body as { variables?: unknown } | undefined)?.variables;
    if (req.method === 'GET' && typeof req.query.variables === 'string') {
      try {
        variables = JSON.parse(req.query.variables);
      } catch {
        return next(); // Apollo says what is wrong with it
      }
    }
    const error = checkVariables(config.limits, variables);
    if (!error) return next();
    res.status(400).json({ errors: [{ message: error.message, extensions: error.extensions }] });
  };

  // The development token only with the development auth, whatever configuration got this far.
  const ideToken = config.auth.mode === 'jwt' && development ? config.ide.developmentToken : undefined;
  const ide = (config.ide.enabled ?? development) ? createIde({ developmentToken: ideToken, authenticate }) : undefined;
  if (ide) app.use(IDE_ASSETS_PATH, ide.assets);
  app.use(
    '/graphql',
    // The IDE's page holds no data: served before authentication, to a browser asking for HTML.
    ...(ide ? [ide.page] : []),
    // Before authentication: a browser's preflight carries no token.
    corsMiddleware(config.cors, isAllowedOrigin),
    requireAuth,
    express.json({ limit: config.bodyLimit }),
    bodyErrors,
    variableLimits,
    eventStreams,
    // The operation's span (continuing a client's `traceparent`), active for the planner and every subgraph fetch.
    serverSpanMiddleware(),
    expressMiddleware(server, {
      context: async ({ req, res }) => ({
        auth: res.locals.auth as AuthIdentity,
        requestId: crypto.randomUUID(),
        deadline: Date.now() + config.requestTimeoutMs,
        clientAddress: clientAddressOf(req),
      }),
    }),
  );

  app.use((_req, res) => {
    res.status(404).json(errorBody(ErrorCode.NotFound, 'No such route: GraphQL is served at /graphql'));
  });

  const listening = await listen(httpServer, config.port, config.host);
  logger.info(
    { url: `${listening.url}/graphql`, subgraphs: Object.fromEntries([...currentPools].map(([name, pool]) => [name, pool.endpoints.map((e) => e.shownUrl)])) },
    'gateway ready',
  );

  return {
    url: listening.url,
    graphqlUrl: `${listening.url}/graphql`,
    port: listening.port,
    async stop() {
      await subscriptions?.stop();
      await server.stop();
      await cache?.stop();
      await rateLimits.stop();
      await ownBus?.close();
      await listening.stop();
      for (const pool of pools.values()) pool.stop();
    },
  };
}
