/**
 * Eviction by events: the gateway follows the configured bus topics and, for every event that
 * names entities, evicts every cache entry tagged with one of them. Every replica follows the
 * topics itself, so with a memory cache each evicts its own entries, and with Redis the first
 * to get there evicts for all. A little later the same entities are evicted once more
 * (`redeleteAfterMs`), for a request that read the old value from a subgraph's own cache in
 * between and stored it again.
 *
 * Subscriptions call apply() for the event they are about to resolve, so a subscriber never
 * gets an entity from before the change the event announces; each event is applied once.
 */
import type { CacheStore, Evicted } from '../../../lib/cache/store';
import type { BusEvent, EventBus, Unsubscribe } from '../../../lib/event-bus/types';
import type { Logger } from '../../../lib/logger';
import type { CacheConfig } from './config';
import { entityTag } from '../entities/fetch-marks';

export interface CacheInvalidation {
  /** Evicts what `event` (of `topic`) names; the same event is applied once. */
  apply(topic: string, event: BusEvent): Promise<void>;
  /** Per topic, the cursor of the last event the follower has applied (for /readyz: how far it is). */
  applied(): Record<string, string>;
  stop(): Promise<void>;
}

export interface CacheInvalidationOptions {
  bus: EventBus;
  store: CacheStore;
  rules: CacheConfig['invalidation'];
  redeleteAfterMs: number;
  logger: Logger;
  /** An event of `topic` naming entities was applied, and evicted this (also for the second eviction). */
  onApplied?(topic: string, evicted: Evicted): void;
}

const asIds = (value: unknown): string[] =>
  (Array.isArray(value) ? value : [value]).filter((id): id is string | number => typeof id === 'string' || typeof id === 'number').map(String);

/** The entities an event names, as [type, id]. */
export function entitiesOf(rule: CacheConfig['invalidation'][number], payload: unknown): Array<[string, string]> {
  if (payload === null || typeof payload !== 'object') return [];
  const record = payload as Record<string, unknown>;
  if (rule.entities) return Object.entries(rule.entities).flatMap(([type, property]) => asIds(record[property]).map((id) => [type, id] as [string, string]));
  const listed = Array.isArray(record.entities) ? record.entities : [];
  return listed.flatMap((item: unknown) => {
    const { type, id } = (item ?? {}) as { type?: unknown; id?: unknown };
    return typeof type === 'string' && (typeof id === 'string' || typeof id === 'number') ? [[type, String(id)] as [string, string]] : [];
  });
}

export async function startCacheInvalidation(options: CacheInvalidationOptions): Promise<CacheInvalidation> {
  const { store, logger } = options;
  const rulesByTopic = new Map(options.rules.map((rule) => [rule.topic, rule]));
  /** Events applied lately (topic + cursor), so several subscribers of one event evict once. */
  const applied = new Map<string, Promise<void>>();
  const timers = new Set<NodeJS.Timeout>();
  const lastApplied: Record<string, string> = {};
  const unsubscribes: Unsubscribe[] = [];
  let stopped = false;

  const evict = async (topic: string, tags: string[]) => {
    options.onApplied?.(topic, await store.invalidate(tags));
  };

  const apply = (topic: string, event: BusEvent): Promise<void> => {
    const rule = rulesByTopic.get(topic);
    if (!rule) return Promise.resolve();
    const id = `${topic}\u0000${event.cursor}`;
    const known = applied.get(id);
    if (known) return known;
    const named = entitiesOf(rule, event.payload);
    const tags = named.map(([type, entityId]) => entityTag(type, [entityId]));
    const done = tags.length === 0 ? Promise.resolve() : evict(topic, tags);
    applied.set(id, done);
    if (applied.size > 1000) applied.delete(applied.keys().next().value!);
    if (tags.length > 0 && options.redeleteAfterMs > 0 && !stopped) {
      const timer = setTimeout(() => {
        timers.delete(timer);
        void evict(topic, tags);
      }, options.redeleteAfterMs);
      timer.unref();
      timers.add(timer);
    }
    return done;
  };

  const follow = async (topic: string, after?: string): Promise<void> => {
    let last = after;
    const unsubscribe = await options.bus.subscribe(
      topic,
      last === undefined ? {} : { after: last },
      async (event) => {
        last = event.cursor;
        await apply(topic, event);
        lastApplied[topic] = event.cursor;
      },
      (error) => {
        if ((error as { code?: string }).code !== 'CURSOR_EXPIRED') {
          logger.warn({ topic, err: error.message }, 'cache invalidation: the bus is unavailable; entries live until their TTL meanwhile');
          return;
        }
        // Fell behind the bus's retention: what was missed is gone; follow live events again.
        logger.error({ topic }, 'cache invalidation fell behind the bus; evictions in between were missed');
        if (!stopped) void follow(topic).catch((cause: Error) => logger.error({ topic, err: cause.message }, 'cache invalidation stopped'));
      },
    );
    unsubscribes.push(unsubscribe);
  };

  /** A bus that cannot be reached at start-up is tried again in the background, less and less often. */
  const followUntilFollowing = async (topic: string, attempt = 0): Promise<void> => {
    try {
      await follow(topic);
    } catch (error) {
      if (attempt === 0) logger.warn({ topic, err: (error as Error).message }, 'cache invalidation cannot follow its topic yet; retrying');
      if (stopped) return;
      const timer = setTimeout(() => {
        timers.delete(timer);
        void followUntilFollowing(topic, attempt + 1);
      }, Math.min(30_000, 500 * 2 ** attempt));
      timer.unref();
      timers.add(timer);
    }
  };

  for (const topic of rulesByTopic.keys()) await followUntilFollowing(topic);
  return {
    apply,
    applied: () => ({ ...lastApplied }),
    async stop() {
      stopped = true;
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      await Promise.all(unsubscribes.splice(0).map((unsubscribe) => unsubscribe()));
    },
  };
}
