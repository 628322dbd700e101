/**
 * How the gateway talks to one subgraph. A subgraph that cannot be reached (connection refused
 * or reset, no answer in time, 502/503/504) becomes an error with
 * `extensions: { code: UPSTREAM_UNAVAILABLE, serviceName }` on that subgraph's fields only; the
 * query planner still serves everything else. Issue #3's pools and breakers slot in here.
 */
import { RemoteGraphQLDataSource } from '@apollo/gateway';
import type { GraphQLDataSourceProcessOptions } from '@apollo/gateway';
import { GraphQLError } from 'graphql';
import { ErrorCode } from '../errors';

type Response = Awaited<ReturnType<RemoteGraphQLDataSource['process']>>;

export interface SubgraphDataSourceOptions {
  name: string;
  url: string;
  /** Abort a fetch after this long. */
  timeoutMs: number;
}

export class SubgraphDataSource extends RemoteGraphQLDataSource {
  readonly serviceName: string;

  constructor(options: SubgraphDataSourceOptions) {
    super({ url: options.url });
    this.serviceName = options.name;
    // Node's own fetch (undici: keep-alive pooling) with a per-try deadline.
    this.fetcher = ((url: string, init: RequestInit) =>
      fetch(url, { ...init, signal: AbortSignal.timeout(options.timeoutMs) })) as unknown as typeof this.fetcher;
  }

  override async process(options: GraphQLDataSourceProcessOptions): Promise<Response> {
    try {
      return await super.process(options);
    } catch (error) {
      if (isUnavailable(error)) {
        throw new GraphQLError(`Subgraph "${this.serviceName}" is unavailable`, {
          extensions: { code: ErrorCode.UpstreamUnavailable, serviceName: this.serviceName },
        });
      }
      throw error;
    }
  }
}

const UNAVAILABLE_STATUSES = new Set([502, 503, 504]);

// Duck-typed rather than `instanceof Error`: fetch's errors may come from another realm.
function isUnavailable(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const response = (error as GraphQLError).extensions?.response as { status?: number } | undefined;
  if (response?.status && UNAVAILABLE_STATUSES.has(response.status)) return true;
  const { name, code: ownCode, cause } = error as { name?: string; code?: string; cause?: { code?: string } };
  const code = ownCode ?? cause?.code;
  return (
    name === 'FetchError' ||
    name === 'AbortError' ||
    name === 'TimeoutError' ||
    (code !== undefined && ['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'UND_ERR_SOCKET', 'UND_ERR_CONNECT_TIMEOUT'].includes(code))
  );
}
