/**
 * The `entity-changes` topic: the contract between the sync service, which publishes which
 * records of the patient graph a vendor change touched (subgraphs/sync/src/entity-changes.ts),
 * and whoever keeps copies of them (the gateway's entity cache, the subgraphs' vendor caches),
 * which evict what an event names. Ids only: never a value.
 */

export const ENTITY_CHANGES_TOPIC = 'entity-changes';

export interface EntityRef {
  /** The type's name in the supergraph. */
  type: string;
  id: string;
}

export interface EntityChangesPayload<Source extends string = string> {
  entities: EntityRef[];
  /** Which vendor's change it was. */
  source: Source;
}

/**
 * What an event's payload names. Read defensively: the bus carries whatever was published, and
 * a follower should evict what it can rather than stop at one malformed event.
 */
export function readEntityChanges(payload: unknown): { entities: EntityRef[]; source: string | undefined } {
  const record = payload !== null && typeof payload === 'object' ? (payload as Record<string, unknown>) : {};
  const listed: unknown[] = Array.isArray(record.entities) ? record.entities : [];
  const entities = listed.flatMap((item): EntityRef[] => {
    const { type, id } = (item ?? {}) as { type?: unknown; id?: unknown };
    return typeof type === 'string' && (typeof id === 'string' || typeof id === 'number') ? [{ type, id: String(id) }] : [];
  });
  return { entities, source: typeof record.source === 'string' ? record.source : undefined };
}
