/**
 * The entity cache, as a stage of the subgraph-call pipeline.
 *
 * - An `_entities` fetch is split: each representation is looked up on its own, per (subgraph,
 *   type and key, selection, scopeOf(auth)); only the misses go to the subgraph, and the answer
 *   is put back together in the planner's order (error paths renumbered to match). So a request
 *   for 500 patients of which 480 are cached fetches 20.
 * - A root fetch is cached whole, per (subgraph, document, variables, scope).
 * - What may be cached and for how long is the subgraph's to say (its `Cache-Control`, from
 *   `@cacheControl` hints; cache-policy.ts), capped by configuration. A fetch the subgraph calls
 *   uncacheable is not looked up again for a while.
 * - Never stored: errors (an entity with an error, or everything when an error has no path),
 *   null entities, anything that arrived after the request's deadline. Fetches of a mutation
 *   operation are never served from the cache, and every entity they return is evicted.
 * - Entries are tagged with every entity in them (fetch-shape.ts), for invalidation.ts.
 * - A cache that fails is a miss (lib/cache/store.ts): this stage never fails a call.
 */
import crypto from 'node:crypto';
import type { DocumentNode, GraphQLFormattedError } from 'graphql';
import type { CacheEntry, CacheStore } from '../../../lib/cache/store';
import { stableStringify } from '../../../lib/stable-json';
import type { Logger } from '../../../lib/logger';
import type { CacheTraceEntry } from '../context';
import type { Next, SubgraphCall, SubgraphResult, SubgraphStage } from '../pipeline/call';
import { scopeOf } from '../pipeline/scope';
import { toClientError } from '../pipeline/upstream-errors';
import { UNCACHEABLE, parseCacheControl } from './cache-policy';
import type { CachePolicy } from './cache-policy';
import { ttlCapOf } from './config';
import type { CacheConfig } from './config';
import { analyseFetch, stripMarks } from './fetch-shape';
import type { FetchShape } from './fetch-shape';
import type { SupergraphEntities } from './supergraph-entities';

/** How long a fetch the subgraph called uncacheable goes straight through before it is tried again. */
const UNCACHEABLE_RECHECK_MS = 60_000;
/** Root fetches are counted under this type in metrics and traces. */
const ROOT = 'Query';

export interface CacheObserver {
  /** `count` entities (or root fetches) of `type` from `subgraph` were served from the cache / fetched. */
  onLookup?(subgraph: string, type: string, outcome: 'hit' | 'miss', count: number): void;
}

export interface EntityCacheStageOptions {
  store: CacheStore;
  config: CacheConfig;
  /** The supergraph being served (undefined until it is loaded). */
  entities: () => SupergraphEntities | undefined;
  observer?: CacheObserver;
  logger: Logger;
}

interface CachedRoot {
  data: Record<string, unknown>;
}

/** What the subgraph last said of one fetch document (in an answer without errors). */
interface Learned {
  policy: CachePolicy;
  cacheable: boolean;
  /** When an uncacheable fetch is tried again. */
  recheckAt: number;
}

const fromCache = (body: SubgraphResult['body']): SubgraphResult => ({ status: 200, headers: new Headers(), body });

function digest(...parts: string[]): string {
  const hash = crypto.createHash('sha256');
  for (const part of parts) hash.update(part).update('\u0000');
  return hash.digest('base64url').slice(0, 24);
}

/** Errors of an `_entities` answer about its members, by member index; `whole`: one is about no member. */
function errorsByMember(errors: readonly GraphQLFormattedError[] | undefined): { members: Set<number>; whole: boolean } {
  const members = new Set<number>();
  let whole = false;
  for (const error of errors ?? []) {
    const [head, index] = error.path ?? [];
    if (head === '_entities' && typeof index === 'number') members.add(index);
    else whole = true;
  }
  return { members, whole };
}

export function entityCacheStage(options: EntityCacheStageOptions): SubgraphStage {
  const { store, config, observer } = options;
  const shapes = new WeakMap<DocumentNode, { entities: SupergraphEntities; shape: FetchShape }>();
  const learned = new Map<string, Learned>();

  const shapeOf = (call: SubgraphCall, entities: SupergraphEntities): FetchShape => {
    const known = shapes.get(call.document);
    // A reloaded supergraph may change keys and types: analyse again.
    if (known?.entities === entities) return known.shape;
    const shape = analyseFetch(call.document, call.subgraph, entities);
    shapes.set(call.document, { entities, shape });
    return shape;
  };

  const trace = (call: SubgraphCall, type: string, hits: number, misses: number) => {
    if (hits > 0) observer?.onLookup?.(call.subgraph, type, 'hit', hits);
    if (misses > 0) observer?.onLookup?.(call.subgraph, type, 'miss', misses);
    call.cacheTrace?.push({ subgraph: call.subgraph, type, hits, misses } satisfies CacheTraceEntry);
  };

  /**
   * The policy an answer came with. Apollo Server writes `no-store` on any answer with errors,
   * which says nothing about its members without one: for those, the policy last learned from an
   * answer without errors to the same fetch stands (hints are per type and field, so it is the same).
   */
  const policyOf = (key: string, result: SubgraphResult): CachePolicy => {
    if (!result.body.errors?.length) {
      const policy = parseCacheControl(result.headers.get('cache-control'));
      const cacheable = policy.maxAgeSeconds > 0;
      learned.set(key, { policy, cacheable, recheckAt: cacheable ? 0 : Date.now() + UNCACHEABLE_RECHECK_MS });
      // A bounded memo: documents come from query plans, which the gateway caches (bounded) too.
      if (learned.size > 10_000) learned.delete(learned.keys().next().value!);
      return policy;
    }
    return learned.get(key)?.policy ?? UNCACHEABLE;
  };

  /** The marked document goes upstream; the answer comes back without the marks, and its tags. */
  const fetchMarked = async (call: SubgraphCall, shape: FetchShape, next: Next, variables = call.variables) => {
    const result = await next({ ...call, document: shape.document, query: shape.query, variables });
    return result;
  };

  /** A fetch of a mutation operation: never from the cache, and what it returns is evicted. */
  async function evicting(call: SubgraphCall, shape: FetchShape, next: Next): Promise<SubgraphResult> {
    if (!shape.markable) return next(call);
    const result = await fetchMarked(call, shape, next);
    const tags = new Set<string>();
    stripMarks(result.body.data, tags);
    if (tags.size > 0) await store.invalidate([...tags]);
    return result;
  }

  async function root(call: SubgraphCall, shape: FetchShape, next: Next, policyKey: string, known: Learned | undefined): Promise<SubgraphResult> {
    const cap = ttlCapOf(config, call.subgraph, ROOT);
    if (cap === undefined || cap === 0) return next(call);
    const entry = (isPrivate: boolean) =>
      JSON.stringify(['root', call.subgraph, digest(shape.query, stableStringify(call.variables)), scopeOf(call.auth), isPrivate ? call.auth.subject : null]);
    const [hit] = await store.getMany<CachedRoot>([entry(known?.policy.scope === 'PRIVATE')]);
    if (hit) {
      trace(call, ROOT, 1, 0);
      return fromCache({ data: hit.data });
    }
    const result = await fetchMarked(call, shape, next);
    const tags = new Set<string>();
    stripMarks(result.body.data, tags);
    trace(call, ROOT, 0, 1);
    const policy = policyOf(policyKey, result);
    const ttlSeconds = Math.min(policy.maxAgeSeconds, cap);
    const data = result.body.data;
    if (ttlSeconds > 0 && data && !result.body.errors?.length && Date.now() < call.deadline) {
      await store.setMany<CachedRoot>([
        { key: entry(policy.scope === 'PRIVATE'), value: { data }, ttlMs: ttlSeconds * 1000, tags: [...tags], label: `${call.subgraph}/${ROOT}` },
      ]);
    }
    return result;
  }

  async function entities(call: SubgraphCall, shape: FetchShape, next: Next, policyKey: string, known: Learned | undefined): Promise<SubgraphResult> {
    const { representations, ...rest } = call.variables as { representations?: unknown };
    if (!Array.isArray(representations)) return next(call);
    const reps = representations as Array<Record<string, unknown>>;
    const typeOf = (index: number) => String(reps[index]!.__typename);
    const fetchKey = digest(call.subgraph, shape.query, stableStringify(rest));
    const scope = scopeOf(call.auth);
    const entryKey = (index: number, isPrivate: boolean) =>
      JSON.stringify(['entity', fetchKey, stableStringify(reps[index]), scope, isPrivate ? call.auth.subject : null]);
    const caps = reps.map((_, index) => ttlCapOf(config, call.subgraph, typeOf(index)));
    const lookups = reps.map((_, index) => index).filter((index) => caps[index] !== undefined && caps[index]! > 0);
    const found = await store.getMany<Record<string, unknown>>(lookups.map((index) => entryKey(index, known?.policy.scope === 'PRIVATE')));

    const merged: unknown[] = reps.map(() => null);
    const hitsByType = new Map<string, number>();
    const missesByType = new Map<string, number>();
    const count = (counts: Map<string, number>, index: number) => counts.set(typeOf(index), (counts.get(typeOf(index)) ?? 0) + 1);
    const hit = new Set<number>();
    lookups.forEach((index, position) => {
      const value = found[position];
      if (value === undefined) return;
      merged[index] = value;
      hit.add(index);
      count(hitsByType, index);
    });
    const missing = reps.map((_, index) => index).filter((index) => !hit.has(index));
    for (const index of missing) count(missesByType, index);
    for (const type of new Set([...hitsByType.keys(), ...missesByType.keys()])) trace(call, type, hitsByType.get(type) ?? 0, missesByType.get(type) ?? 0);
    if (missing.length === 0) return fromCache({ data: { _entities: merged } });

    let result: SubgraphResult;
    try {
      result = await fetchMarked(call, shape, next, { ...rest, representations: missing.map((index) => reps[index]) });
    } catch (error) {
      // The subgraph is away: what the cache had is still served, the rest is null with the error.
      if (hit.size === 0) throw error;
      return fromCache({ data: { _entities: merged }, errors: [toClientError(call.subgraph, error).toJSON()] });
    }
    const body = result.body;
    const received = (body.data as { _entities?: unknown } | null | undefined)?._entities;
    // Errors point at members of the smaller request: renumber them to the planner's.
    const errors = body.errors?.map((error) => {
      const [head, index, ...tail] = error.path ?? [];
      return head === '_entities' && typeof index === 'number' && missing[index] !== undefined
        ? { ...error, path: [head, missing[index]!, ...tail] }
        : error;
    });
    if (!Array.isArray(received) || received.length !== missing.length) {
      // Not an answer to put together (the subgraph failed as a whole): pass it on as it is.
      const tags = new Set<string>();
      stripMarks(body.data, tags);
      return hit.size === 0 ? result : { ...result, body: { ...body, data: { _entities: merged }, ...(errors ? { errors } : {}) } };
    }
    const policy = policyOf(policyKey, result);
    const failed = errorsByMember(body.errors);
    const storable = !failed.whole && Date.now() < call.deadline;
    const entries: Array<CacheEntry<Record<string, unknown>>> = [];
    received.forEach((entity, position) => {
      const index = missing[position]!;
      const tags = new Set<string>();
      stripMarks(entity, tags);
      merged[index] = entity;
      const ttlSeconds = Math.min(policy.maxAgeSeconds, caps[index] ?? 0);
      if (storable && ttlSeconds > 0 && entity !== null && typeof entity === 'object' && !failed.members.has(position)) {
        entries.push({
          key: entryKey(index, policy.scope === 'PRIVATE'),
          value: entity as Record<string, unknown>,
          ttlMs: ttlSeconds * 1000,
          tags: [...tags],
          label: `${call.subgraph}/${typeOf(index)}`,
        });
      }
    });
    if (entries.length > 0) await store.setMany(entries);
    return { ...result, body: { ...body, data: { ...body.data, _entities: merged }, ...(errors ? { errors } : {}) } };
  }

  return async (call, next) => {
    if (!config.enabled) return next(call);
    const supergraph = options.entities();
    if (!supergraph) return next(call);
    const shape = shapeOf(call, supergraph);
    if (call.kind === 'mutation' || call.operation === 'mutation') return evicting(call, shape, next);
    if (!shape.markable) return next(call);
    const policyKey = `${call.subgraph}\u0000${shape.query}`;
    const known = learned.get(policyKey);
    if (known && !known.cacheable && Date.now() < known.recheckAt) return next(call);
    return shape.entities ? entities(call, shape, next, policyKey, known) : root(call, shape, next, policyKey, known);
  };
}
