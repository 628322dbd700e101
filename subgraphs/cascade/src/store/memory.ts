/** The step store in process memory: the embedded default (one process runs the cascade). */
import { TERMINAL_STATES } from './types';
import type { CascadeStore, StepRecord, StepUpdate } from './types';

const clone = <T>(value: T): T => structuredClone(value);

export function createMemoryCascadeStore(now: () => number = Date.now): CascadeStore {
  const records = new Map<string, StepRecord>();
  const leases = new Map<string, { owner: string; until: number }>();
  const dueAt = new Map<string, number>();
  const checkpoints = new Map<string, string>();
  const locks = new Map<string, { owner: string; until: number }>();

  return {
    async create(record) {
      const existing = records.get(record.id);
      if (existing) return { record: clone(existing), created: false };
      records.set(record.id, clone(record));
      return { record: clone(record), created: true };
    },
    async get(id) {
      const record = records.get(id);
      return record ? clone(record) : null;
    },
    async lease(id, owner, ttlMs) {
      const record = records.get(id);
      if (!record || TERMINAL_STATES.has(record.state)) return null;
      const held = leases.get(id);
      if (held && held.owner !== owner && held.until > now()) return null;
      leases.set(id, { owner, until: now() + ttlMs });
      return clone(record);
    },
    async update(id, update: StepUpdate, owner) {
      const record = records.get(id);
      if (!record) return null;
      // A redrive (DEAD → PENDING) is the one way out of a terminal state.
      const redrive = record.state === 'DEAD' && update.state === 'PENDING';
      if (TERMINAL_STATES.has(record.state) && !redrive) return null;
      Object.assign(record, update);
      if (owner && leases.get(id)?.owner === owner) leases.delete(id);
      return clone(record);
    },
    async ofPatient(patientId) {
      return [...records.values()].filter((record) => record.patientId === patientId).map(clone);
    },
    async dead(limit) {
      return [...records.values()]
        .filter((record) => record.state === 'DEAD')
        .sort((a, b) => (a.deadAt ?? '').localeCompare(b.deadAt ?? ''))
        .slice(0, limit)
        .map(clone);
    },
    async schedule(id, due) {
      dueAt.set(id, due);
    },
    async takeDue(nowMs, limit, requeueAfterMs) {
      const taken = [...dueAt.entries()]
        .filter(([, due]) => due <= nowMs)
        .sort((a, b) => a[1] - b[1])
        .slice(0, limit)
        .map(([id]) => id);
      for (const id of taken) dueAt.set(id, nowMs + requeueAfterMs);
      return taken;
    },
    async unschedule(id) {
      dueAt.delete(id);
    },
    async getCheckpoint(name) {
      return checkpoints.get(name) ?? null;
    },
    async setCheckpoint(name, value) {
      checkpoints.set(name, value);
    },
    async tryLock(name, owner, ttlMs) {
      const held = locks.get(name);
      if (held && held.owner !== owner && held.until > now()) return false;
      locks.set(name, { owner, until: now() + ttlMs });
      return true;
    },
    async unlock(name, owner) {
      if (locks.get(name)?.owner === owner) locks.delete(name);
    },
    async queueCounts(nowMs) {
      let due = 0;
      for (const at of dueAt.values()) if (at <= nowMs) due++;
      let dead = 0;
      for (const record of records.values()) if (record.state === 'DEAD') dead++;
      return { scheduled: dueAt.size, due, dead };
    },
    async close() {},
  };
}
