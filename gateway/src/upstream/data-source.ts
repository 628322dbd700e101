/**
 * How the gateway talks to one subgraph: Apollo's RemoteGraphQLDataSource builds the request
 * and reads the response; the subgraph's pool (pool.ts) decides where it goes and what happens
 * when an endpoint fails. A subgraph that cannot answer becomes an error with
 * `extensions: { code: UPSTREAM_UNAVAILABLE, serviceName }` on its fields only; the query
 * planner still serves everything else.
 */
import { RemoteGraphQLDataSource } from '@apollo/gateway';
import type { GraphQLDataSourceProcessOptions } from '@apollo/gateway';
import { GraphQLError } from 'graphql';
import type { Logger } from '../../../lib/logger';
import { ErrorCode } from '../errors';
import { PoolUnavailableError } from './pool';
import type { OperationKind, SubgraphPool, UnavailableCause } from './pool';

type Response = Awaited<ReturnType<RemoteGraphQLDataSource['process']>>;

/** Internal headers: how willSendRequest tells the fetcher what it needs; never sent upstream. */
const KIND_HEADER = 'x-gateway-operation-kind';
const DEADLINE_HEADER = 'x-gateway-deadline';

const CAUSE_MESSAGES: Record<UnavailableCause, string> = {
  NO_ENDPOINT_AVAILABLE: 'no endpoint is available',
  ATTEMPTS_FAILED: 'every attempt failed',
  DEADLINE_EXCEEDED: 'no answer within the request deadline',
};

export interface PooledDataSourceOptions {
  pool: SubgraphPool;
  /** Used when the request context carries no deadline (e.g. subscriptions resolving later). */
  defaultTimeoutMs: number;
  logger: Logger;
}

/**
 * Who is asking, for subgraphs that record it (the sync subgraph's resolvedBy). A user id, not
 * PHI; subgraphs sit on the internal network behind the gateway.
 */
export const SUBJECT_HEADER = 'x-user-subject';

export class PooledDataSource extends RemoteGraphQLDataSource<{ deadline?: number; auth?: { subject: string } }> {
  readonly serviceName: string;
  private readonly logger: Logger;

  constructor(private readonly options: PooledDataSourceOptions) {
    super({ url: options.pool.endpoints[0]?.url ?? 'http://invalid.invalid' });
    this.serviceName = options.pool.name;
    this.logger = options.logger;
    this.fetcher = (async (_url: string, init: { headers?: Record<string, string>; body?: string }) => {
      const headers = { ...init.headers };
      const kind = (headers[KIND_HEADER] === 'mutation' ? 'mutation' : 'query') as OperationKind;
      const deadline = Number(headers[DEADLINE_HEADER]) || Date.now() + this.options.defaultTimeoutMs;
      delete headers[KIND_HEADER];
      delete headers[DEADLINE_HEADER];
      const shared = await this.options.pool.send({ kind, headers, body: init.body ?? '', deadline });
      return new globalThis.Response(shared.body, { status: shared.status, headers: shared.headers });
    }) as unknown as typeof this.fetcher;
  }

  override willSendRequest(options: GraphQLDataSourceProcessOptions<{ deadline?: number; auth?: { subject: string } }>): void {
    const headers = options.request.http!.headers;
    const subject = options.context?.auth?.subject;
    if (subject) headers.set(SUBJECT_HEADER, subject);
    headers.set(KIND_HEADER, /^\s*mutation\b/.test(options.request.query ?? '') ? 'mutation' : 'query');
    const deadline = options.context?.deadline;
    if (deadline) headers.set(DEADLINE_HEADER, String(deadline));
  }

  override async process(options: GraphQLDataSourceProcessOptions<{ deadline?: number; auth?: { subject: string } }>): Promise<Response> {
    try {
      return await super.process(options);
    } catch (error) {
      if (error instanceof PoolUnavailableError) {
        this.logger.warn({ subgraph: this.serviceName, cause: error.unavailableCause, reason: error.reason }, 'subgraph unavailable');
        throw new GraphQLError(`Subgraph "${this.serviceName}" is unavailable: ${CAUSE_MESSAGES[error.unavailableCause]}`, {
          extensions: { code: ErrorCode.UpstreamUnavailable, serviceName: this.serviceName, reason: error.unavailableCause },
        });
      }
      throw error;
    }
  }
}
