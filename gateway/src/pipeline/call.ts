/**
 * The subgraph-call pipeline: every fetch the query planner makes becomes one typed
 * SubgraphCall, passed through an ordered list of stages (entity cache → entity marks →
 * in-flight dedupe → …) to a terminal that sends it (the upstream pool). A stage sees the call, may answer it
 * itself, change what it passes on, or look at what comes back; it knows nothing of the other
 * stages. Stages are chosen and ordered in one place (stages.ts).
 */
import type { DocumentNode, GraphQLFormattedError } from 'graphql';
import type { AuthIdentity } from '../auth';
import type { CacheTraceEntry } from '../context';

export type FetchKind = 'query' | 'mutation';

export interface SubgraphCall {
  /** The subgraph's name in the supergraph. */
  subgraph: string;
  /** What this fetch does: queries may be cached, shared and retried; mutations never. */
  kind: FetchKind;
  /** The kind of the client's operation the fetch serves (an entity fetch after a mutation is 'mutation'). */
  operation: 'query' | 'mutation' | 'subscription';
  /** The fetch's document; `query` is its printed form, what goes on the wire. */
  document: DocumentNode;
  query: string;
  operationName?: string;
  variables: Record<string, unknown>;
  auth: AuthIdentity;
  /** The client request this call serves (GatewayContext.requestId), the same on all its calls. */
  requestId: string;
  /** Epoch ms by which the call must be answered (the client request's deadline). */
  deadline: number;
  /** Where stages note what the response may report about them (the request's own list). */
  cacheTrace?: CacheTraceEntry[];
  /** Tags (`Patient:123`) of the entities this request's fetches returned (the request's own set). */
  seen?: Set<string>;
}

/** A GraphQL answer as a subgraph sends it. */
export interface SubgraphBody {
  data?: Record<string, unknown> | null;
  errors?: GraphQLFormattedError[];
  extensions?: Record<string, unknown>;
}

export interface SubgraphResult {
  /** The subgraph's HTTP status; 200 for an answer no subgraph gave (e.g. from the cache). */
  status: number;
  /** The subgraph's response headers (Cache-Control is read by the cache); empty when not fetched. */
  headers: Headers;
  /** Each caller gets a body of its own: stages may change it in place. */
  body: SubgraphBody;
  /**
   * The entities the answer holds, as tags (entity-marks-stage.ts): all of them, and for an
   * `_entities` fetch each member's. Absent when the fetch could not be marked.
   */
  entityTags?: { all: string[]; members?: string[][] };
}

export type Next = (call: SubgraphCall) => Promise<SubgraphResult>;

/** One stage: answer `call`, or pass it (or a changed copy) to `next`. */
export type SubgraphStage = (call: SubgraphCall, next: Next) => Promise<SubgraphResult>;

const OPERATION_NAME = /^(query|mutation|subscription)\s+[_A-Za-z][_0-9A-Za-z]*/;

/**
 * What a fetch asks, without the name the query planner gave it (`PatientPage__crm__1`, from the
 * client's operation name): two client operations asking a subgraph the same thing make the same
 * fetch, so the cache and the dedupe key on this rather than on `query`.
 */
export function fetchShape(call: Pick<SubgraphCall, 'query'>): string {
  return call.query.replace(OPERATION_NAME, '$1');
}

/** The stages in order, ending in `terminal`. */
export function composeStages(stages: readonly SubgraphStage[], terminal: Next): Next {
  return stages.reduceRight<Next>((next, stage) => (call) => stage(call, next), terminal);
}
