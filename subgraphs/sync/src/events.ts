/**
 * Publishing what the sync engine did: SyncEventPayload on `sync-events` (the SyncEvent's id is
 * the bus cursor) and ConflictEventPayload on `conflicts`, whose cursor is then stored on the
 * conflict so a subscriber can resume after it. Payloads hold field names, never values.
 */
import type { EventBus } from '../../../lib/event-bus';
import type { BusEvent } from '../../../lib/event-bus';
import { CONFLICTS_TOPIC, SYNC_EVENTS_TOPIC } from './inbox';
import type { ConflictEventPayload, SyncEventPayload } from './inbox';
import type { ConflictRecord, SyncStore } from './store';

export type SyncEventInput = Omit<SyncEventPayload, 'time' | 'conflictId' | 'patientId' | 'target' | 'fields' | 'sourceChangedAt'> &
  Partial<Pick<SyncEventPayload, 'conflictId' | 'patientId' | 'target' | 'fields'>> & { sourceChangedAt?: string | null };

export function publishSyncEvent(bus: EventBus, input: SyncEventInput, now = new Date().toISOString()): Promise<BusEvent<SyncEventPayload>> {
  const payload: SyncEventPayload = {
    type: input.type,
    patientId: input.patientId ?? null,
    source: input.source,
    target: input.target ?? null,
    fields: input.fields ?? [],
    outcome: input.outcome,
    conflictId: input.conflictId ?? null,
    time: now,
    ...(input.sourceChangedAt ? { sourceChangedAt: input.sourceChangedAt } : {}),
  };
  return bus.publish({ topic: SYNC_EVENTS_TOPIC, type: 'sync.step', payload });
}

/** Publishes the conflict's change on `conflicts` and stores that event's cursor on the conflict. */
export async function publishConflictEvent(bus: EventBus, store: SyncStore, conflict: ConflictRecord): Promise<ConflictRecord> {
  const payload: ConflictEventPayload = { id: conflict.id, patientId: conflict.patientId, status: conflict.status };
  const event = await bus.publish({ topic: CONFLICTS_TOPIC, type: conflict.status === 'OPEN' ? 'conflict.opened' : 'conflict.resolved', payload });
  return (await store.setConflictCursor(conflict.id, event.cursor)) ?? { ...conflict, cursor: event.cursor };
}
