/**
 * The in-process sync store (the embedded default). Every operation runs to completion
 * without awaiting, so each one is atomic by construction, as the Redis scripts are.
 * Records are copied in and out so callers can never change stored state by mutation.
 *
 * Locks are a map name → { token, expiresAt } with the Redis store's semantics (a lapsed lock is
 * free; extend and release check the token); waiters sleep until a release of that name, the
 * holder's expiry or their own deadline, whichever comes first.
 */
import { randomUUID } from 'node:crypto';
import type { ShadowCopy } from '../rules/types';
import { SyncStoreError, newConflictRecord, reviewQueueOf, sameResolution } from './types';
import type {
  ConflictPage,
  ConflictRecord,
  ConflictStatus,
  InvoicePaymentRecord,
  ListConflictsOptions,
  OpenConflictInput,
  OpenConflictResult,
  PatientSyncStatus,
  ResolveConflictInput,
  ReviewQueue,
  SyncStore,
} from './types';
import { parsePageCursor } from './page-cursor';
import { runWithLock } from './lock';
import type { LockBackend } from './lock';

interface StoredConflict {
  /** Detection order: the page cursor. */
  seq: number;
  record: ConflictRecord;
}

const copy = <T>(value: T): T => structuredClone(value);

function createMemoryLocks(): LockBackend {
  const held = new Map<string, { token: string; expiresAt: number }>();
  const waiters = new Map<string, Set<() => void>>();
  const current = (name: string) => {
    const lock = held.get(name);
    return lock && lock.expiresAt > Date.now() ? lock : undefined;
  };
  return {
    async tryAcquire(name, token, ttlMs) {
      if (current(name)) return false;
      held.set(name, { token, expiresAt: Date.now() + ttlMs });
      return true;
    },
    async extend(name, token, ttlMs) {
      const lock = current(name);
      if (lock?.token !== token) return false;
      lock.expiresAt = Date.now() + ttlMs;
      return true;
    },
    async release(name, token) {
      if (held.get(name)?.token !== token) return;
      held.delete(name);
      for (const wake of waiters.get(name) ?? []) wake();
    },
    waitForChance(name, ms) {
      const lock = current(name);
      const until = lock ? Math.min(ms, Math.max(0, lock.expiresAt - Date.now())) : 0;
      return new Promise<void>((resolve) => {
        const set = waiters.get(name) ?? new Set<() => void>();
        waiters.set(name, set);
        const wake = () => {
          clearTimeout(timer);
          set.delete(wake);
          if (set.size === 0 && waiters.get(name) === set) waiters.delete(name);
          resolve();
        };
        // +1: wake just after the expiry, when the lock reads as lapsed.
        const timer = setTimeout(wake, until + (lock && until < ms ? 1 : 0));
        set.add(wake);
      });
    },
  };
}

export function createMemorySyncStore(): SyncStore {
  const shadows = new Map<string, ShadowCopy>();
  const statuses = new Map<string, PatientSyncStatus>();
  // Insertion order is detection order: seq only grows.
  const conflicts = new Map<string, StoredConflict>();
  const openByPatientField = new Map<string, string>();
  const payments = new Map<string, InvoicePaymentRecord>();
  const checkpoints = new Map<string, string>();
  // patientId → the seq it entered the queue with; insertion order is entry order.
  const queues: Record<ReviewQueue, Map<string, number>> = { HELD: new Map(), FLAGGED: new Map() };
  let seq = 0;
  let queueSeq = 0;
  const locks = createMemoryLocks();

  const openKey = (patientId: string, field: string) => JSON.stringify([patientId, field]);
  const matching = (status: ConflictStatus | undefined) => (stored: StoredConflict) => status === undefined || stored.record.status === status;

  return {
    withLock(name, options, fn) {
      return runWithLock(locks, name, options, fn);
    },

    async getShadow(patientId) {
      const shadow = shadows.get(patientId);
      return shadow ? copy(shadow) : null;
    },
    async putShadow(shadow) {
      shadows.set(shadow.patientId, copy(shadow));
    },
    async getStatus(patientId) {
      const status = statuses.get(patientId);
      return status ? copy(status) : null;
    },
    async putStatus(status) {
      statuses.set(status.patientId, copy(status));
      const queue = reviewQueueOf(status);
      for (const [name, members] of Object.entries(queues) as Array<[ReviewQueue, Map<string, number>]>) {
        if (name !== queue) members.delete(status.patientId);
        else if (!members.has(status.patientId)) members.set(status.patientId, ++queueSeq);
      }
    },
    async listReviewQueue(queue, options) {
      const after = options.after === undefined ? 0 : parsePageCursor(options.after);
      const members = [...queues[queue]];
      const rest = members.filter(([, entered]) => entered > after);
      const page = rest.slice(0, options.first);
      return {
        edges: page.map(([patientId, entered]) => ({ cursor: String(entered), status: copy(statuses.get(patientId) as PatientSyncStatus) })),
        hasNextPage: rest.length > page.length,
        totalCount: members.length,
      };
    },

    async openConflict(input: OpenConflictInput): Promise<OpenConflictResult> {
      const key = openKey(input.patientId, input.field);
      const openId = openByPatientField.get(key);
      const open = openId ? conflicts.get(openId) : undefined;
      if (open) {
        const record = open.record;
        const changed = record.sembleValue !== input.sembleValue || record.crmValue !== input.crmValue || record.lastSyncedValue !== input.lastSyncedValue;
        record.sembleValue = input.sembleValue;
        record.crmValue = input.crmValue;
        record.lastSyncedValue = input.lastSyncedValue;
        return { conflict: copy(record), created: false, changed };
      }
      seq += 1;
      const record = newConflictRecord(input, randomUUID());
      conflicts.set(record.id, { seq, record });
      openByPatientField.set(key, record.id);
      return { conflict: copy(record), created: true, changed: true };
    },

    async getConflict(id) {
      const stored = conflicts.get(id);
      return stored ? copy(stored.record) : null;
    },

    async setConflictCursor(id, cursor) {
      const stored = conflicts.get(id);
      if (!stored) return null;
      stored.record.cursor = cursor;
      return copy(stored.record);
    },

    async listConflicts(options: ListConflictsOptions): Promise<ConflictPage> {
      const after = options.after === undefined ? 0 : parsePageCursor(options.after);
      const all = [...conflicts.values()].filter(matching(options.status));
      const rest = all.filter((stored) => stored.seq > after);
      const page = rest.slice(0, options.first);
      return {
        edges: page.map((stored) => ({ cursor: String(stored.seq), conflict: copy(stored.record) })),
        hasNextPage: rest.length > page.length,
        totalCount: all.length,
      };
    },

    async conflictsOfPatient(patientId, status) {
      return [...conflicts.values()]
        .filter((stored) => stored.record.patientId === patientId)
        .filter(matching(status))
        .map((stored) => copy(stored.record));
    },

    async resolveConflict(input: ResolveConflictInput) {
      const stored = conflicts.get(input.id);
      if (!stored) throw new SyncStoreError('CONFLICT_NOT_FOUND', `conflict ${input.id} does not exist`);
      const record = stored.record;
      if (record.status === 'RESOLVED') {
        if (sameResolution(record, input)) return copy(record);
        throw new SyncStoreError('CONFLICT_ALREADY_RESOLVED', `conflict ${input.id} was already resolved differently`);
      }
      record.status = 'RESOLVED';
      record.resolution = input.resolution;
      record.resolvedValue = input.resolvedValue;
      record.resolvedBy = input.resolvedBy;
      record.resolvedAt = input.resolvedAt;
      openByPatientField.delete(openKey(record.patientId, record.field));
      return copy(record);
    },

    async getInvoicePayment(invoiceId) {
      const record = payments.get(invoiceId);
      return record ? copy(record) : null;
    },
    async putInvoicePayment(record) {
      payments.set(record.invoiceId, copy(record));
    },

    async getCheckpoint(name) {
      return checkpoints.get(name) ?? null;
    },
    async setCheckpoint(name, value) {
      checkpoints.set(name, value);
    },
    async deleteCheckpoint(name) {
      checkpoints.delete(name);
    },

    async close() {
      // Nothing to release: the data goes with the process.
    },
  };
}
