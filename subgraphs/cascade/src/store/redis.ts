/**
 * The step store in Redis (with REDIS_URL), shared by every cascade replica. Keys, all under
 * `keyPrefix` (ids and step names only; a step's message, which may hold PHI for a connector
 * meant to receive it, is inside the value, never in a key):
 *
 *   step:<id>               JSON StepRecord (id = `${eventId}:${step}`)
 *   lease:<id>              the deliverer holding the step for one attempt (SET PX)
 *   patient:<patientId>     sorted set of step ids by creation time
 *   dead                    sorted set of DEAD step ids by deadAt
 *   due                     sorted set of step ids by due time (ms)
 *   checkpoints             hash name → value
 *   lock:<name>             the holder of a named lock (SET NX PX), e.g. the sweep's
 *
 * Create, lease, update and take-due are Lua scripts, so each is atomic with concurrent replicas.
 */
import { createRedisConnection } from '../../../../lib/event-bus/redis-connection';
import type { CascadeStore, StepRecord } from './types';

export interface RedisCascadeStoreOptions {
  url: string;
  /** @default 'pg:cascade:' */
  keyPrefix?: string;
  /** @default 2000 */
  connectTimeoutMs?: number;
  /** @default 2000 */
  commandTimeoutMs?: number;
}

const TERMINAL = `local terminal = { SENT = true, DEAD = true, SKIPPED = true }`;

// ARGV: prefix, record JSON, createdAt ms. Returns { created (1/0), stored JSON }.
const CREATE_SCRIPT = `
local p = ARGV[1]
local record = cjson.decode(ARGV[2])
local key = p .. 'step:' .. record.id
if redis.call('SET', key, ARGV[2], 'NX') then
  if type(record.patientId) == 'string' then redis.call('ZADD', p .. 'patient:' .. record.patientId, ARGV[3], record.id) end
  return { 1, ARGV[2] }
end
return { 0, redis.call('GET', key) }
`;

// ARGV: prefix, id, owner, ttl ms. Returns the stored JSON when the lease is ours, or false.
const LEASE_SCRIPT = `
${TERMINAL}
local p = ARGV[1]
local raw = redis.call('GET', p .. 'step:' .. ARGV[2])
if not raw then return false end
if terminal[cjson.decode(raw).state] then return false end
local leaseKey = p .. 'lease:' .. ARGV[2]
local holder = redis.call('GET', leaseKey)
if holder and holder ~= ARGV[3] then return false end
redis.call('SET', leaseKey, ARGV[3], 'PX', ARGV[4])
return raw
`;

// ARGV: prefix, id, update JSON, owner ('' for none), deadAt ms. Returns the stored JSON, or false.
const UPDATE_SCRIPT = `
${TERMINAL}
local p = ARGV[1]
local key = p .. 'step:' .. ARGV[2]
local raw = redis.call('GET', key)
if not raw then return false end
local record = cjson.decode(raw)
local update = cjson.decode(ARGV[3])
if terminal[record.state] and not (record.state == 'DEAD' and update.state == 'PENDING') then return false end
for field, value in pairs(update) do record[field] = value end
local json = cjson.encode(record)
redis.call('SET', key, json)
if record.state == 'DEAD' then redis.call('ZADD', p .. 'dead', ARGV[5], ARGV[2]) else redis.call('ZREM', p .. 'dead', ARGV[2]) end
local leaseKey = p .. 'lease:' .. ARGV[2]
if ARGV[4] ~= '' and redis.call('GET', leaseKey) == ARGV[4] then redis.call('DEL', leaseKey) end
return json
`;

// ARGV: prefix, now ms, limit, requeue-after ms. Returns the ids taken.
const TAKE_DUE_SCRIPT = `
local key = ARGV[1] .. 'due'
local ids = redis.call('ZRANGEBYSCORE', key, '-inf', ARGV[2], 'LIMIT', 0, tonumber(ARGV[3]))
local later = tonumber(ARGV[2]) + tonumber(ARGV[4])
for _, id in ipairs(ids) do redis.call('ZADD', key, later, id) end
return ids
`;

// KEYS: the lock. ARGV: owner. Deletes the lock only while `owner` holds it.
const UNLOCK_SCRIPT = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`;

export function createRedisCascadeStore(options: RedisCascadeStoreOptions): CascadeStore {
  const prefix = options.keyPrefix ?? 'pg:cascade:';
  const connection = createRedisConnection({ url: options.url, connectTimeoutMs: options.connectTimeoutMs ?? 2000, commandTimeoutMs: options.commandTimeoutMs ?? 2000 });
  const run = connection.run;
  const parse = (json: unknown) => JSON.parse(String(json)) as StepRecord;

  async function getMany(ids: readonly string[]): Promise<StepRecord[]> {
    if (ids.length === 0) return [];
    const values = await run((client) => client.mGet(ids.map((id) => `${prefix}step:${id}`)));
    return values.filter((value): value is string => typeof value === 'string').map(parse);
  }

  return {
    async create(record) {
      const [created, json] = (await run((client) => client.eval(CREATE_SCRIPT, { arguments: [prefix, JSON.stringify(record), String(Date.parse(record.createdAt))] }))) as [number, string];
      return { record: parse(json), created: created === 1 };
    },
    async get(id) {
      const json = await run((client) => client.get(`${prefix}step:${id}`));
      return json ? parse(json) : null;
    },
    async lease(id, owner, ttlMs) {
      const json = await run((client) => client.eval(LEASE_SCRIPT, { arguments: [prefix, id, owner, String(ttlMs)] }));
      return typeof json === 'string' ? parse(json) : null;
    },
    async update(id, update, owner) {
      const deadAt = update.deadAt ? String(Date.parse(update.deadAt)) : String(Date.now());
      const json = await run((client) => client.eval(UPDATE_SCRIPT, { arguments: [prefix, id, JSON.stringify(update), owner ?? '', deadAt] }));
      return json ? parse(json) : null;
    },
    async ofPatient(patientId) {
      return getMany(await run((client) => client.zRange(`${prefix}patient:${patientId}`, 0, -1)));
    },
    async dead(limit) {
      return getMany(await run((client) => client.zRange(`${prefix}dead`, 0, limit - 1)));
    },
    async schedule(id, dueAtMs) {
      await run((client) => client.zAdd(`${prefix}due`, { score: dueAtMs, value: id }));
    },
    async takeDue(nowMs, limit, requeueAfterMs) {
      return (await run((client) => client.eval(TAKE_DUE_SCRIPT, { arguments: [prefix, String(nowMs), String(limit), String(requeueAfterMs)] }))) as string[];
    },
    async unschedule(id) {
      await run((client) => client.zRem(`${prefix}due`, id));
    },
    async getCheckpoint(name) {
      return (await run((client) => client.hGet(`${prefix}checkpoints`, name))) ?? null;
    },
    async setCheckpoint(name, value) {
      await run((client) => client.hSet(`${prefix}checkpoints`, name, value));
    },
    async tryLock(name, owner, ttlMs) {
      return (await run((client) => client.set(`${prefix}lock:${name}`, owner, { NX: true, PX: ttlMs }))) === 'OK';
    },
    async unlock(name, owner) {
      await run((client) => client.eval(UNLOCK_SCRIPT, { keys: [`${prefix}lock:${name}`], arguments: [owner] }));
    },
    async queueCounts(nowMs) {
      const [scheduled, due, dead] = await Promise.all([
        run((client) => client.zCard(`${prefix}due`)),
        run((client) => client.zCount(`${prefix}due`, '-inf', nowMs)),
        run((client) => client.zCard(`${prefix}dead`)),
      ]);
      return { scheduled, due, dead };
    },
    close: () => connection.close(),
  };
}
