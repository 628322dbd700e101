/**
 * Where the query planner hands over: @apollo/gateway calls process() for every fetch of a
 * query plan; this turns it into a typed SubgraphCall (who is asking comes from the request's
 * GatewayContext, the kind from the fetch's own document) and runs it through the subgraph's
 * pipeline. A failure becomes an error on that subgraph's fields only (upstream-errors.ts).
 * Each fetch is a span (`subgraph.fetch <name>`): the subgraph, what the entity cache served,
 * the outcome; the pool's tries are its children (upstream/pool.ts).
 */
import { SpanStatusCode } from '@opentelemetry/api';
import type { Span } from '@opentelemetry/api';
import type { GraphQLDataSource, GraphQLDataSourceProcessOptions } from '@apollo/gateway';
// The enum is not re-exported from the package root.
import { GraphQLDataSourceRequestKind } from '@apollo/gateway/dist/datasources/types';
import { GraphQLError, getOperationAST, parse } from 'graphql';
import type { Logger } from '../../../lib/logger';
import { inSpan } from '../../../lib/tracing/spans';
import type { CacheTraceEntry, GatewayContext } from '../context';
import { PoolUnavailableError } from '../upstream/pool';
import type { Next, SubgraphCall } from './call';
import { failedCallBody } from './failed-call';
import { toClientError } from './upstream-errors';

type GatewayResponse = Awaited<ReturnType<GraphQLDataSource['process']>>;

export interface PipelineDataSourceOptions {
  subgraph: string;
  /** The subgraph's stages and terminal, composed. */
  run: Next;
  /** A deadline for calls whose context has none. */
  defaultTimeoutMs: number;
  logger: Logger;
}

export class PipelineDataSource implements GraphQLDataSource<GatewayContext> {
  constructor(private readonly options: PipelineDataSourceOptions) {}

  async process(options: GraphQLDataSourceProcessOptions<GatewayContext>): Promise<GatewayResponse> {
    if (options.kind !== GraphQLDataSourceRequestKind.INCOMING_OPERATION) {
      // The supergraph comes from a file: the gateway never introspects or health-checks through here.
      throw new Error(`${options.kind} requests are not sent through the subgraph pipeline`);
    }
    const { subgraph } = this.options;
    const query = options.request.query!;
    const document = options.document ?? parse(query);
    const context = options.context;
    const call: SubgraphCall = {
      subgraph,
      kind: getOperationAST(document)?.operation === 'mutation' ? 'mutation' : 'query',
      operation: options.incomingRequestContext.operation?.operation ?? 'query',
      document,
      query,
      ...(options.request.operationName ? { operationName: options.request.operationName } : {}),
      variables: (options.request.variables ?? {}) as Record<string, unknown>,
      auth: context.auth,
      requestId: context.requestId,
      deadline: context.deadline ?? Date.now() + this.options.defaultTimeoutMs,
      cacheTrace: context.cacheTrace,
      seen: context.seen,
    };
    return inSpan(`subgraph.fetch ${subgraph}`, { attributes: { 'patient_graph.subgraph': subgraph, 'patient_graph.fetch.kind': call.kind } }, (span) =>
      this.traced(call, span, context.cacheTrace),
    );
  }

  /** Runs `call`, noting on `span` what the cache served and how it ended. */
  private async traced(call: SubgraphCall, span: Span, requestTrace: CacheTraceEntry[] | undefined): Promise<GatewayResponse> {
    const { subgraph } = this.options;
    // The entity cache notes hits and misses per call: kept for the span, then added to the request's list.
    const fetchTrace: CacheTraceEntry[] | undefined = span.isRecording() ? [] : undefined;
    if (fetchTrace) call.cacheTrace = fetchTrace;
    try {
      const result = await this.options.run(call);
      span.setAttribute('patient_graph.outcome', result.body.errors?.length ? 'errors' : 'success');
      return result.body;
    } catch (error) {
      span.setAttribute('patient_graph.outcome', error instanceof PoolUnavailableError ? error.unavailableCause : 'failed');
      span.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof Error ? error.message : 'failed' });
      if (error instanceof PoolUnavailableError) {
        this.options.logger.warn({ subgraph, cause: error.unavailableCause, reason: error.reason }, 'subgraph unavailable');
      } else if (!(error instanceof GraphQLError)) {
        this.options.logger.error({ subgraph, err: (error as Error)?.message }, 'subgraph call failed unexpectedly');
      }
      // Every field the call was to return is null, each with the error at its own path.
      return failedCallBody(call, toClientError(subgraph, error));
    } finally {
      if (fetchTrace) {
        requestTrace?.push(...fetchTrace);
        const hits = fetchTrace.reduce((sum, entry) => sum + entry.hits, 0);
        const misses = fetchTrace.reduce((sum, entry) => sum + entry.misses, 0);
        // No entry: the cache did not look (off, or not cacheable).
        if (fetchTrace.length > 0) span.setAttributes({ 'patient_graph.cache.hits': hits, 'patient_graph.cache.misses': misses, 'patient_graph.cache': misses === 0 ? 'hit' : hits === 0 ? 'miss' : 'partial' });
      }
    }
  }
}
