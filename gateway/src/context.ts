/**
 * The one shape of a GraphQL request's context in the gateway: who is asking, which request
 * this is, by when the answer is due, and what the request's subgraph calls noted for the response. HTTP requests,
 * subscription events and every stage of the subgraph-call pipeline read this type and no other.
 */
import type { AuthIdentity } from './auth';

/** One subgraph fetch as the cache saw it (the development response extension lists them). */
export interface CacheTraceEntry {
  subgraph: string;
  /** The entity type, or `Query` for a root fetch. */
  type: string;
  /** Entities (or the root fetch) served from the cache. */
  hits: number;
  /** Entities (or the root fetch) fetched from the subgraph. */
  misses: number;
}

export interface GatewayContext {
  auth: AuthIdentity;
  /** Made where the context is: one per client request (or subscription event), on every subgraph call it makes (the internal token's `rid`). */
  requestId: string;
  /** Epoch ms by which every subgraph fetch of this request must be done. */
  deadline: number;
  /** Filled by the entity cache stage when the response is to say what the cache served. */
  cacheTrace?: CacheTraceEntry[];
  /** Tags (`Patient:123`) of the entities the request's subgraph fetches returned (for the audit trail). */
  seen?: Set<string>;
  /** The scopes the operation's fields were shown under (set by authorisation, for the audit trail). */
  categories?: ReadonlySet<string>;
  /** The client's address as the rate limits count it (HTTP requests only). */
  clientAddress?: string;
  /** How the operation arrived: over HTTP, or as a subscription event's resolution. @default 'HTTP' */
  transport?: 'HTTP' | 'SUBSCRIPTION_EVENT';
}
