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
 * - Entries are tagged with every entity in them (the tags the entity-marks stage, after this one,
 *   attaches to each answer), for invalidation.ts; a fetch without tags is not stored.
 * - A cache that fails is a miss (lib/cache/store.ts): this stage never fails a call.
 */
import crypto from 'node:crypto';
import { Kind } from 'graphql';
import type { DocumentNode, GraphQLFormattedError } from 'graphql';
import type { CacheEntry, CacheStore } from '../../../lib/cache/store';
import { stableStringify } from '../../../lib/stable-json';
import type { Logger } from '../../../lib/logger';
import type { CacheTraceEntry } from '../context';
import { fetchShape } from '../pipeline/call';
import type { Next, SubgraphCall, SubgraphResult, SubgraphStage } from '../pipeline/call';
import { scopeOf } from '../pipeline/scope';
import { failedCallBody } from '../pipeline/failed-call';
import { toClientError } from '../pipeline/upstream-errors';
import { UNCACHEABLE, parseCacheControl } from './cache-policy';
import type { CachePolicy } from './cache-policy';
import { ttlCapOf } from './config';
import type { CacheConfig } from './config';

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
  observer?: CacheObserver;
  logger: Logger;
}

/** What an entry holds: the answer (or entity), and the tags of the entities in it (for `seen`). */
interface Cached<V> {
  v: V;
  t: string[];
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
  const learned = new Map<string, Learned>();
  /** Whether a fetch document is an `_entities` fetch, remembered per document (one per query plan). */
  const entityFetches = new WeakMap<DocumentNode, boolean>();
  const isEntitiesFetch = (document: DocumentNode): boolean => {
    let known = entityFetches.get(document);
    if (known === undefined) {
      const operation = document.definitions.find((definition) => definition.kind === Kind.OPERATION_DEFINITION);
      const [first, ...rest] = operation?.selectionSet.selections ?? [];
      known = rest.length === 0 && first?.kind === Kind.FIELD && first.name.value === '_entities';
      entityFetches.set(document, known);
    }
    return known;
  };
  const see = (call: SubgraphCall, tags: readonly string[]) => {
    for (const tag of tags) call.seen?.add(tag);
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

  /** A fetch of a mutation operation: never from the cache, and what it returns is evicted. */
  async function evicting(call: SubgraphCall, next: Next): Promise<SubgraphResult> {
    const result = await next(call);
    if (result.entityTags && result.entityTags.all.length > 0) await store.invalidate(result.entityTags.all);
    return result;
  }

  async function root(call: SubgraphCall, next: Next, policyKey: string, known: Learned | undefined): Promise<SubgraphResult> {
    const cap = ttlCapOf(config, call.subgraph, ROOT);
    if (cap === undefined || cap === 0) return next(call);
    const entry = (isPrivate: boolean) =>
      JSON.stringify(['root', call.subgraph, digest(fetchShape(call), stableStringify(call.variables)), scopeOf(call.auth), isPrivate ? call.auth.subject : null]);
    const [hit] = await store.getMany<Cached<Record<string, unknown>>>([entry(known?.policy.scope === 'PRIVATE')]);
    if (hit) {
      trace(call, ROOT, 1, 0);
      see(call, hit.t);
      return fromCache({ data: hit.v });
    }
    const result = await next(call);
    const tags = result.entityTags?.all;
    trace(call, ROOT, 0, 1);
    const policy = policyOf(policyKey, result);
    const ttlSeconds = Math.min(policy.maxAgeSeconds, cap);
    const data = result.body.data;
    if (tags && ttlSeconds > 0 && data && !result.body.errors?.length && Date.now() < call.deadline) {
      await store.setMany<Cached<Record<string, unknown>>>([
        { key: entry(policy.scope === 'PRIVATE'), value: { v: data, t: tags }, ttlMs: ttlSeconds * 1000, tags, label: `${call.subgraph}/${ROOT}` },
      ]);
    }
    return result;
  }

  async function entities(call: SubgraphCall, next: Next, policyKey: string, known: Learned | undefined): Promise<SubgraphResult> {
    const { representations, ...rest } = call.variables as { representations?: unknown };
    if (!Array.isArray(representations)) return next(call);
    const reps = representations as Array<Record<string, unknown>>;
    const typeOf = (index: number) => String(reps[index]!.__typename);
    const fetchKey = digest(call.subgraph, fetchShape(call), stableStringify(rest));
    const scope = scopeOf(call.auth);
    const entryKey = (index: number, isPrivate: boolean) =>
      JSON.stringify(['entity', fetchKey, stableStringify(reps[index]), scope, isPrivate ? call.auth.subject : null]);
    const caps = reps.map((_, index) => ttlCapOf(config, call.subgraph, typeOf(index)));
    const lookups = reps.map((_, index) => index).filter((index) => caps[index] !== undefined && caps[index]! > 0);
    const found = await store.getMany<Cached<Record<string, unknown>>>(lookups.map((index) => entryKey(index, known?.policy.scope === 'PRIVATE')));

    const merged: unknown[] = reps.map(() => null);
    const hitsByType = new Map<string, number>();
    const missesByType = new Map<string, number>();
    const count = (counts: Map<string, number>, index: number) => counts.set(typeOf(index), (counts.get(typeOf(index)) ?? 0) + 1);
    const hit = new Set<number>();
    lookups.forEach((index, position) => {
      const value = found[position];
      if (value === undefined) return;
      merged[index] = value.v;
      see(call, value.t);
      hit.add(index);
      count(hitsByType, index);
    });
    const missing = reps.map((_, index) => index).filter((index) => !hit.has(index));
    for (const index of missing) count(missesByType, index);
    for (const type of new Set([...hitsByType.keys(), ...missesByType.keys()])) trace(call, type, hitsByType.get(type) ?? 0, missesByType.get(type) ?? 0);
    if (missing.length === 0) return fromCache({ data: { _entities: merged } });

    let result: SubgraphResult;
    try {
      result = await next({ ...call, variables: { ...rest, representations: missing.map((index) => reps[index]) } });
    } catch (error) {
      // The subgraph is away: what the cache had is still served, the rest is null with the error.
      if (hit.size === 0) throw error;
      return fromCache({ data: { _entities: merged }, errors: failedCallBody(call, toClientError(call.subgraph, error), missing).errors });
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
      return hit.size === 0 ? result : { ...result, body: { ...body, data: { _entities: merged }, ...(errors ? { errors } : {}) } };
    }
    const policy = policyOf(policyKey, result);
    const failed = errorsByMember(body.errors);
    const memberTags = result.entityTags?.members;
    const storable = memberTags !== undefined && !failed.whole && Date.now() < call.deadline;
    const entries: Array<CacheEntry<Cached<Record<string, unknown>>>> = [];
    received.forEach((entity, position) => {
      const index = missing[position]!;
      const tags = memberTags?.[position] ?? [];
      merged[index] = entity;
      const ttlSeconds = Math.min(policy.maxAgeSeconds, caps[index] ?? 0);
      if (storable && ttlSeconds > 0 && entity !== null && typeof entity === 'object' && !failed.members.has(position)) {
        entries.push({
          key: entryKey(index, policy.scope === 'PRIVATE'),
          value: { v: entity as Record<string, unknown>, t: tags },
          ttlMs: ttlSeconds * 1000,
          tags,
          label: `${call.subgraph}/${typeOf(index)}`,
        });
      }
    });
    if (entries.length > 0) await store.setMany(entries);
    return { ...result, body: { ...body, data: { ...body.data, _entities: merged }, ...(errors ? { errors } : {}) } };
  }

  return async (call, next) => {
    if (!config.enabled) return next(call);
    if (call.kind === 'mutation' || call.operation === 'mutation') return evicting(call, next);
    const policyKey = `${call.subgraph}\u0000${fetchShape(call)}`;
    const known = learned.get(policyKey);
    if (known && !known.cacheable && Date.now() < known.recheckAt) return next(call);
    return isEntitiesFetch(call.document) ? entities(call, next, policyKey, known) : root(call, next, policyKey, known);
  };
}
