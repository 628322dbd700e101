/**
 * The sync store in Redis (with REDIS_URL), so any number of sync workers and subgraph
 * replicas share one state. Keys, all under `keyPrefix`:
 *
 *   shadow:<patientId>             JSON ShadowCopy
 *   status:<patientId>             JSON PatientSyncStatus
 *   review:HELD / review:FLAGGED   sorted sets of patient ids scored by entry seq (the review queues)
 *   review:seq                     counter handing out entry seq
 *   conflict:<id>                  JSON { seq, record }   (seq = detection order = page cursor)
 *   conflicts:seq                  counter handing out seq
 *   conflicts:all / conflicts:OPEN / conflicts:RESOLVED / patient-conflicts:<patientId>
 *                                  sorted sets of conflict ids scored by seq
 *   open:<field>:<patientId>       id of the OPEN conflict on (patient, field)
 *   payment:<invoiceId>            JSON InvoicePaymentRecord
 *   checkpoints                    hash name → value
 *   lock:<name>                    a lock's token (SET NX PX; see withLock)
 *
 * Storing a status moves its patient between the review queues in the same script, so a queue
 * never lists a patient whose stored status says otherwise (a listing may still race a move:
 * see listReviewQueue). Opening, resolving and re-stamping a conflict are Lua scripts too: each reads and writes several
 * keys, and a script is atomic, so "one open conflict per (patient, field)" and the
 * OPEN → RESOLVED compare-and-set hold with concurrent workers. The scripts derive conflict keys
 * from the prefix, so this needs a single Redis (or every key in one slot), not a spread Cluster.
 *
 * Locks: `SET lock:<name> <token> NX PX <ttl>` takes one; extending and releasing are scripts
 * that act only while the key still holds our token (a lapsed lock someone else took is theirs).
 * Waiters poll with short jittered sleeps (no pub/sub: a lock is rarely contended, and a
 * subscription would need a connection of its own).
 */
import { randomUUID } from 'node:crypto';
import { createRedisConnection } from '../../../../lib/event-bus/redis-connection';
import type { ShadowCopy } from '../rules/types';
import { parsePageCursor } from './page-cursor';
import { runWithLock, sleep } from './lock';
import type { LockBackend } from './lock';
import { SyncStoreError, newConflictRecord, reviewQueueOf, sameResolution } from './types';
import type {
  ConflictPage,
  ConflictRecord,
  InvoicePaymentRecord,
  ListConflictsOptions,
  OpenConflictInput,
  OpenConflictResult,
  PatientSyncStatus,
  ResolveConflictInput,
  ReviewQueue,
  SyncStore,
} from './types';

export interface RedisSyncStoreOptions {
  /** `redis://` or `rediss://` URL. */
  url: string;
  /** Prefix of every key. @default 'pg:sync:' */
  keyPrefix?: string;
  /** Limit for connecting. @default 2000 */
  connectTimeoutMs?: number;
  /** Limit for one command's reply. @default 2000 */
  commandTimeoutMs?: number;
}

interface StoredConflict {
  seq: number;
  record: ConflictRecord;
}

// ARGV: prefix, new record JSON. Returns { created (1/0), changed (1/0), stored JSON }.
const OPEN_SCRIPT = `
local p = ARGV[1]
local input = cjson.decode(ARGV[2])
local openKey = p .. 'open:' .. input.field .. ':' .. input.patientId
local existing = redis.call('GET', openKey)
if existing then
  local key = p .. 'conflict:' .. existing
  local raw = redis.call('GET', key)
  if raw then
    local stored = cjson.decode(raw)
    local r = stored.record
    local changed = 0
    if r.sembleValue ~= input.sembleValue or r.crmValue ~= input.crmValue or r.lastSyncedValue ~= input.lastSyncedValue then changed = 1 end
    r.sembleValue = input.sembleValue
    r.crmValue = input.crmValue
    r.lastSyncedValue = input.lastSyncedValue
    local json = cjson.encode(stored)
    redis.call('SET', key, json)
    return { 0, changed, json }
  end
end
local seq = redis.call('INCR', p .. 'conflicts:seq')
local json = cjson.encode({ seq = seq, record = input })
redis.call('SET', p .. 'conflict:' .. input.id, json)
redis.call('SET', openKey, input.id)
redis.call('ZADD', p .. 'conflicts:all', seq, input.id)
redis.call('ZADD', p .. 'conflicts:OPEN', seq, input.id)
redis.call('ZADD', p .. 'patient-conflicts:' .. input.patientId, seq, input.id)
return { 1, 1, json }
`;

// ARGV: prefix, patient id, status JSON, its queue ('' for none). Stores the status; the patient
// joins its queue at the end unless already in it, and leaves the other.
const PUT_STATUS_SCRIPT = `
local p = ARGV[1]
local id = ARGV[2]
redis.call('SET', p .. 'status:' .. id, ARGV[3])
for _, queue in ipairs({ 'HELD', 'FLAGGED' }) do
  local key = p .. 'review:' .. queue
  if queue == ARGV[4] then
    if not redis.call('ZSCORE', key, id) then redis.call('ZADD', key, redis.call('INCR', p .. 'review:seq'), id) end
  else
    redis.call('ZREM', key, id)
  end
end
return 1
`;

// ARGV: prefix, id, resolution JSON. Returns { outcome, stored JSON }; outcome NOT_FOUND, ALREADY or RESOLVED.
const RESOLVE_SCRIPT = `
local p = ARGV[1]
local key = p .. 'conflict:' .. ARGV[2]
local raw = redis.call('GET', key)
if not raw then return { 'NOT_FOUND', '' } end
local stored = cjson.decode(raw)
local r = stored.record
if r.status ~= 'OPEN' then return { 'ALREADY', raw } end
local input = cjson.decode(ARGV[3])
r.status = 'RESOLVED'
r.resolution = input.resolution
r.resolvedValue = input.resolvedValue
r.resolvedBy = input.resolvedBy
r.resolvedAt = input.resolvedAt
local json = cjson.encode(stored)
redis.call('SET', key, json)
local openKey = p .. 'open:' .. r.field .. ':' .. r.patientId
if redis.call('GET', openKey) == ARGV[2] then redis.call('DEL', openKey) end
redis.call('ZREM', p .. 'conflicts:OPEN', ARGV[2])
redis.call('ZADD', p .. 'conflicts:RESOLVED', stored.seq, ARGV[2])
return { 'RESOLVED', json }
`;

// ARGV: prefix, id, cursor. Returns the stored JSON, or false for an unknown id.
const CURSOR_SCRIPT = `
local key = ARGV[1] .. 'conflict:' .. ARGV[2]
local raw = redis.call('GET', key)
if not raw then return false end
local stored = cjson.decode(raw)
stored.record.cursor = ARGV[3]
local json = cjson.encode(stored)
redis.call('SET', key, json)
return json
`;

// KEYS: lock key. ARGV: token. Deletes the lock only while it is still ours.
const RELEASE_LOCK_SCRIPT = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`;

// KEYS: lock key. ARGV: token, ttl ms. Extends the lock only while it is still ours; 1 when it was.
const EXTEND_LOCK_SCRIPT = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
`;

/** Between lock attempts: 20–60 ms, jittered so waiters on one lock do not retry in step. */
const LOCK_POLL_MS = { min: 20, spread: 40 };

function parseStored(json: string): StoredConflict {
  return JSON.parse(json) as StoredConflict;
}

function parseJson<T>(json: string | null): T | null {
  return json === null ? null : (JSON.parse(json) as T);
}

export function createRedisSyncStore(options: RedisSyncStoreOptions): SyncStore {
  const prefix = options.keyPrefix ?? 'pg:sync:';
  const connection = createRedisConnection({
    url: options.url,
    connectTimeoutMs: options.connectTimeoutMs ?? 2000,
    commandTimeoutMs: options.commandTimeoutMs ?? 2000,
  });
  const key = (...parts: string[]) => prefix + parts.join(':');
  const run = connection.run;

  const locks: LockBackend = {
    async tryAcquire(name, token, ttlMs) {
      return (await run((client) => client.set(key('lock', name), token, { NX: true, PX: ttlMs }))) === 'OK';
    },
    async extend(name, token, ttlMs) {
      return (await run((client) => client.eval(EXTEND_LOCK_SCRIPT, { keys: [key('lock', name)], arguments: [token, String(ttlMs)] }))) === 1;
    },
    async release(name, token) {
      await run((client) => client.eval(RELEASE_LOCK_SCRIPT, { keys: [key('lock', name)], arguments: [token] }));
    },
    waitForChance(_name, ms) {
      return sleep(Math.min(ms, LOCK_POLL_MS.min + Math.floor(Math.random() * LOCK_POLL_MS.spread)));
    },
  };

  async function conflictsByIds(ids: string[]): Promise<StoredConflict[]> {
    if (ids.length === 0) return [];
    const values = await run((client) => client.mGet(ids.map((id) => key('conflict', id))));
    // An id whose record is missing cannot happen through this store; skipping it keeps a listing alive if it ever does.
    return values.filter((value): value is string => typeof value === 'string').map(parseStored);
  }

  return {
    withLock(name, options, fn) {
      return runWithLock(locks, name, options, fn);
    },

    async getShadow(patientId) {
      return parseJson<ShadowCopy>(await run((client) => client.get(key('shadow', patientId))));
    },
    async putShadow(shadow) {
      await run((client) => client.set(key('shadow', shadow.patientId), JSON.stringify(shadow)));
    },
    async getStatus(patientId) {
      return parseJson<PatientSyncStatus>(await run((client) => client.get(key('status', patientId))));
    },
    async putStatus(status) {
      const queue = reviewQueueOf(status) ?? '';
      await run((client) => client.eval(PUT_STATUS_SCRIPT, { arguments: [prefix, status.patientId, JSON.stringify(status), queue] }));
    },
    async listReviewQueue(queue: ReviewQueue, options) {
      const after = options.after === undefined ? 0 : parsePageCursor(options.after);
      const index = key('review', queue);
      const [entries, total] = await run(async (client) =>
        Promise.all([
          client.zRangeWithScores(index, `(${after}`, '+inf', { BY: 'SCORE', LIMIT: { offset: 0, count: options.first + 1 } }),
          client.zCard(index),
        ]),
      );
      const page = entries.slice(0, options.first);
      const values = page.length > 0 ? await run((client) => client.mGet(page.map((entry) => key('status', entry.value)))) : [];
      const edges = page.flatMap((entry, i) => {
        const status = parseJson<PatientSyncStatus>(values[i] ?? null);
        // A patient that left the queue between the two reads is left out of this page.
        return status && reviewQueueOf(status) === queue ? [{ cursor: String(entry.score), status }] : [];
      });
      return { edges, hasNextPage: entries.length > options.first, totalCount: total };
    },

    async openConflict(input: OpenConflictInput): Promise<OpenConflictResult> {
      const record = newConflictRecord(input, randomUUID());
      const reply = (await run((client) => client.eval(OPEN_SCRIPT, { arguments: [prefix, JSON.stringify(record)] }))) as [number, number, string];
      return { created: reply[0] === 1, changed: reply[1] === 1, conflict: parseStored(reply[2]).record };
    },

    async getConflict(id) {
      const json = await run((client) => client.get(key('conflict', id)));
      return json === null ? null : parseStored(json).record;
    },

    async setConflictCursor(id, cursor) {
      const json = (await run((client) => client.eval(CURSOR_SCRIPT, { arguments: [prefix, id, cursor] }))) as string | null;
      return json ? parseStored(json).record : null;
    },

    async listConflicts(options: ListConflictsOptions): Promise<ConflictPage> {
      const after = options.after === undefined ? 0 : parsePageCursor(options.after);
      const index = key('conflicts', options.status ?? 'all');
      const [ids, total] = await run(async (client) =>
        Promise.all([
          client.zRange(index, `(${after}`, '+inf', { BY: 'SCORE', LIMIT: { offset: 0, count: options.first + 1 } }),
          client.zCard(index),
        ]),
      );
      // A conflict resolved between the range read and this read is left out of an OPEN page.
      const stored = (await conflictsByIds(ids.slice(0, options.first))).filter(
        (entry) => options.status === undefined || entry.record.status === options.status,
      );
      return {
        edges: stored.map((entry) => ({ cursor: String(entry.seq), conflict: entry.record })),
        hasNextPage: ids.length > options.first,
        totalCount: total,
      };
    },

    async conflictsOfPatient(patientId, status) {
      const ids = await run((client) => client.zRange(key('patient-conflicts', patientId), 0, -1));
      return (await conflictsByIds(ids)).map((entry) => entry.record).filter((record) => status === undefined || record.status === status);
    },

    async resolveConflict(input: ResolveConflictInput) {
      const [outcome, json] = (await run((client) =>
        client.eval(RESOLVE_SCRIPT, {
          arguments: [
            prefix,
            input.id,
            JSON.stringify({ resolution: input.resolution, resolvedValue: input.resolvedValue, resolvedBy: input.resolvedBy, resolvedAt: input.resolvedAt }),
          ],
        }),
      )) as [string, string];
      if (outcome === 'NOT_FOUND') throw new SyncStoreError('CONFLICT_NOT_FOUND', `conflict ${input.id} does not exist`);
      const record = parseStored(json).record;
      if (outcome === 'ALREADY' && !sameResolution(record, input)) {
        throw new SyncStoreError('CONFLICT_ALREADY_RESOLVED', `conflict ${input.id} was already resolved differently`);
      }
      return record;
    },

    async getInvoicePayment(invoiceId) {
      return parseJson<InvoicePaymentRecord>(await run((client) => client.get(key('payment', invoiceId))));
    },
    async putInvoicePayment(record) {
      await run((client) => client.set(key('payment', record.invoiceId), JSON.stringify(record)));
    },

    async getCheckpoint(name) {
      return (await run((client) => client.hGet(key('checkpoints'), name))) ?? null;
    },
    async setCheckpoint(name, value) {
      await run((client) => client.hSet(key('checkpoints'), name, value));
    },
    async deleteCheckpoint(name) {
      await run((client) => client.hDel(key('checkpoints'), name));
    },

    async close() {
      await connection.close();
    },
  };
}
