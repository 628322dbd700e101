/**
 * A HubSpot CRM v3 emulator: the contacts and deals of the seed world, served in HubSpot's wire
 * format (objects with string-valued `properties`, batch read/upsert, search with filterGroups and
 * `after` paging), with HubSpot's error bodies (`{status:"error", message, correlationId,
 * category}`), its Bearer auth and its rolling-window rate limit with `X-HubSpot-RateLimit-*`
 * headers. Records live in mutable Maps so later work can edit them and emit webhooks. Search
 * filters: EQ, NEQ, IN, HAS_PROPERTY, NOT_HAS_PROPERTY, and GT/GTE/LT/LTE/BETWEEN on numbers and
 * on datetimes (epoch ms or ISO 8601), so `lastmodifieddate GTE <checkpoint>` lists what changed.
 *
 * Deliberate strictness: search EQ compares values exactly, so a client that forgets to
 * normalise an email is caught here rather than papered over.
 *
 * Webhooks: with a `webhook` configured, every change to a contact property is POSTed as
 * HubSpot does it: a JSON array of `contact.propertyChange` events (at most 100 per request),
 * signed with signature v3 (lib/webhooks/hubspot.ts), retried with `attemptNumber` counting
 * up. Changes through batch/upsert carry changeSource INTEGRATION; the admin route below
 * stands for a person in HubSpot's UI (changeSource CRM_UI):
 *
 *   PATCH /__admin/contacts/:id  { properties: { name: value, … } }  → the updated contact
 *   GET   /__admin/webhooks      deliveries so far (lib/webhooks/emulator-admin.ts)
 *
 * Emulator simplification: every changed property is sent, as if the app subscribed to
 * contact.propertyChange for each of them; deals send nothing.
 *
 * Property history: every change of a property is kept (value, timestamp, sourceType: IMPORT
 * for the seed, INTEGRATION for batch/upsert, CRM_UI for the admin route) and returned, newest
 * first, for the properties named in `propertiesWithHistory` (batch/read body, or the query
 * string of a single read), as HubSpot's CRM v3 API does.
 */
import { randomUUID } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';
import { bearerToken, createEmulatorApp, requireToken } from '../../../lib/emulator';
import { listen } from '../../../lib/listen';
import type { Listening } from '../../../lib/listen';
import type { SeedWorld } from '../../../lib/seed';
import { createAdminFront, createWebhookSender, sendAdminResult, signHubSpotV3 } from '../../../lib/webhooks';
import type { HubSpotWebhookEvent, WebhookDelivery, WebhookRetryOptions } from '../../../lib/webhooks';

/** HubSpot's documented per-call limit for batch endpoints. */
export const BATCH_INPUT_LIMIT = 100;
/** HubSpot's documented maximum page size for search. */
export const SEARCH_LIMIT_MAX = 200;
/** HubSpot caps the `values` of one IN filter. */
export const SEARCH_IN_VALUES_MAX = 100;

export type ObjectType = 'contacts' | 'deals';

/** One past value of a property, as `propertiesWithHistory` returns it. */
export interface PropertyHistoryEntry {
  /** HubSpot reports a cleared property as "". */
  value: string;
  timestamp: string;
  sourceType: 'IMPORT' | 'INTEGRATION' | 'CRM_UI';
}

/** One stored CRM object, as HubSpot returns it (every property value is a string or null). */
export interface StoredObject {
  id: string;
  properties: Record<string, string | null>;
  createdAt: string;
  updatedAt: string;
  archived: boolean;
  /** Each property's changes, newest first; a property changed behind the emulator's back has none. */
  propertiesWithHistory?: Record<string, PropertyHistoryEntry[]>;
}

/** Records changed properties in the object's history (newest first). */
function recordHistory(record: StoredObject, changes: ReadonlyArray<[string, string | null]>, timestamp: string, sourceType: PropertyHistoryEntry['sourceType']): void {
  const history = (record.propertiesWithHistory ??= {});
  for (const [name, value] of changes) {
    (history[name] ??= []).unshift({ value: value ?? '', timestamp, sourceType });
  }
}

export interface RateLimitOptions {
  /** Requests allowed per rolling window. @default 100 (HubSpot's base tier: 100 per 10 s) */
  max: number;
  /** Length of the rolling window. @default 10000 */
  windowMs: number;
}

export interface HubSpotWebhookOptions extends WebhookRetryOptions {
  /** The app's target URL; also the `uri` of the v3 signature. */
  url: string;
  /** The app's client secret, the key of the v3 signature. */
  secret: string;
  /** @default 62515 */
  portalId?: number;
  /** @default 1160452 */
  appId?: number;
  /** @default 2641543 */
  subscriptionId?: number;
}

export interface HubSpotEmulatorOptions {
  world: SeedWorld;
  /** The private-app token clients must send as `Authorization: Bearer <token>`. */
  token: string;
  /** @default 0 (any free port) */
  port?: number;
  /** @default 127.0.0.1 */
  host?: string;
  /** Rolling-window rate limit over all authenticated CRM calls. @default { max: 100, windowMs: 10000 } */
  rateLimit?: Partial<RateLimitOptions>;
  /** Send contact.propertyChange webhooks; without it changes apply and nothing is sent. */
  webhook?: HubSpotWebhookOptions;
}

export interface HubSpotEmulator extends Listening {
  /** Requests served so far, by route (429s included, under the route that was asked for). */
  counts(): { total: number; byRoute: Record<string, number> };
  /** How many requests were refused with 429 by the rate limiter. */
  rateLimited(): number;
  /** The live records, by HubSpot id. */
  objects: Record<ObjectType, Map<string, StoredObject>>;
}

/** Properties each object type knows; requested names outside these are ignored, as HubSpot does. */
const KNOWN_PROPERTIES: Record<ObjectType, readonly string[]> = {
  // date_of_birth: a custom contact property (HubSpot has no standard one), which the sync engine writes.
  contacts: ['email', 'firstname', 'lastname', 'phone', 'lifecyclestage', 'hubspot_owner_id', 'marketing_consent',
    'semble_patient_id', 'date_of_birth', 'address', 'city', 'zip', 'country', 'hs_object_id', 'createdate', 'lastmodifieddate'],
  deals: ['dealname', 'amount', 'dealstage', 'pipeline', 'closedate', 'semble_patient_id', 'hs_object_id',
    'createdate', 'hs_lastmodifieddate'],
};
/** Returned whether asked for or not. */
const ALWAYS_RETURNED: Record<ObjectType, readonly string[]> = {
  contacts: ['hs_object_id', 'createdate', 'lastmodifieddate'],
  deals: ['hs_object_id', 'createdate', 'hs_lastmodifieddate'],
};
/** Returned when a request names no properties at all. */
const DEFAULT_PROPERTIES: Record<ObjectType, readonly string[]> = {
  contacts: ['email', 'firstname', 'lastname'],
  deals: ['dealname', 'amount', 'dealstage', 'pipeline', 'closedate'],
};
const MODIFIED_PROPERTY: Record<ObjectType, string> = { contacts: 'lastmodifieddate', deals: 'hs_lastmodifieddate' };
/** Set by HubSpot itself: no user or integration writes them, and their changes are not events. */
const READ_ONLY_PROPERTIES: readonly string[] = ['hs_object_id', 'createdate', 'lastmodifieddate', 'hs_lastmodifieddate'];
/** HubSpot puts at most this many events in one webhook request. */
const EVENTS_PER_REQUEST = 100;
const HUBSPOT_USER_AGENT = 'HubSpot Connect 2.0 (http://dev.hubspot.com/) - WebhooksExecutorDaemon-executor';

type ChangeSource = 'CRM_UI' | 'INTEGRATION';

/** The properties whose value differs after `changes`, with the new value (read-only ones left out). */
function changedProperties(before: Record<string, string | null>, changes: Record<string, string | null>): Array<[string, string | null]> {
  return Object.entries(changes).filter(([name, value]) => !READ_ONLY_PROPERTIES.includes(name) && (before[name] ?? null) !== value);
}
const OBJECT_LABEL: Record<ObjectType, string> = { contacts: 'CONTACT', deals: 'DEAL' };

/** The seed world's contacts and deals, in HubSpot's shape. */
export function objectsFromWorld(world: SeedWorld): Record<ObjectType, Map<string, StoredObject>> {
  const contacts = new Map<string, StoredObject>();
  for (const c of world.contacts) {
    const contact: StoredObject = {
      id: c.id,
      properties: {
        email: c.email,
        firstname: c.firstName,
        lastname: c.lastName,
        phone: c.phone,
        lifecyclestage: c.lifecycleStage,
        hubspot_owner_id: c.ownerId,
        marketing_consent: String(c.marketingConsent),
        semble_patient_id: c.patientId,
        hs_object_id: c.id,
        createdate: c.createdAt,
        lastmodifieddate: c.updatedAt,
      },
      createdAt: c.createdAt,
      updatedAt: c.updatedAt,
      archived: false,
    };
    // The seed's values as one import at the contact's last change.
    recordHistory(contact, changedProperties({}, contact.properties).filter(([, value]) => value !== null), c.updatedAt, 'IMPORT');
    contacts.set(c.id, contact);
  }
  const deals = new Map<string, StoredObject>();
  for (const d of world.deals) {
    deals.set(d.id, {
      id: d.id,
      properties: {
        dealname: d.name,
        amount: String(d.amount),
        dealstage: d.stage,
        pipeline: d.pipeline,
        // HubSpot stores closedate as a datetime at midnight UTC.
        closedate: `${d.closeDate}T00:00:00.000Z`,
        semble_patient_id: d.patientId,
        hs_object_id: d.id,
        // The seed has no deal creation time; the last change is the best stand-in.
        createdate: d.updatedAt,
        hs_lastmodifieddate: d.updatedAt,
      },
      createdAt: d.updatedAt,
      updatedAt: d.updatedAt,
      archived: false,
    });
  }
  return { contacts, deals };
}

type Category = 'VALIDATION_ERROR' | 'OBJECT_NOT_FOUND' | 'INVALID_AUTHENTICATION' | 'RATE_LIMITS' | 'INTERNAL_ERROR';

function sendError(res: Response, status: number, category: Category, message: string): void {
  res.status(status).json({ status: 'error', message, correlationId: randomUUID(), category });
}

/** `properties=a,b` or `properties=a&properties=b`, as HubSpot accepts both. */
function propertiesFromQuery(value: unknown): string[] {
  const parts = Array.isArray(value) ? value : typeof value === 'string' ? [value] : [];
  return parts.flatMap((p) => String(p).split(',')).map((p) => p.trim()).filter(Boolean);
}

function present(type: ObjectType, record: StoredObject, requested: readonly string[] | undefined, withHistory: readonly string[] = []): StoredObject {
  const wanted = new Set([...(requested && requested.length > 0 ? requested : DEFAULT_PROPERTIES[type]), ...ALWAYS_RETURNED[type]]);
  const properties: Record<string, string | null> = {};
  for (const name of wanted) {
    if (KNOWN_PROPERTIES[type].includes(name)) properties[name] = record.properties[name] ?? null;
  }
  const presented: StoredObject = { id: record.id, properties, createdAt: record.createdAt, updatedAt: record.updatedAt, archived: record.archived };
  const known = withHistory.filter((name) => KNOWN_PROPERTIES[type].includes(name));
  if (known.length > 0) {
    presented.propertiesWithHistory = Object.fromEntries(known.map((name) => [name, (record.propertiesWithHistory?.[name] ?? []).map((entry) => ({ ...entry }))]));
  }
  return presented;
}

function isStringArray(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((v) => typeof v === 'string');
}

interface Filter {
  propertyName: string;
  operator: string;
  value?: unknown;
  /** BETWEEN's upper bound (inclusive, as the lower one). */
  highValue?: unknown;
  values?: unknown;
}

/** Datetime properties: stored as ISO 8601 text, compared as instants. */
const DATETIME_PROPERTIES: readonly string[] = ['createdate', 'lastmodifieddate', 'hs_lastmodifieddate', 'closedate'];

/** A value as a number for GT/LT and friends: epoch ms for datetimes (given as ms or ISO 8601), else the number; null if neither. */
function orderable(propertyName: string, value: string): number | null {
  const text = value.trim();
  if (/^-?\d+(\.\d+)?$/.test(text)) return Number(text);
  if (!DATETIME_PROPERTIES.includes(propertyName)) return null;
  const ms = Date.parse(text);
  return Number.isNaN(ms) ? null : ms;
}

/** A filter's predicate, or a message saying why the filter is invalid. */
function compileFilter(filter: Filter): ((record: StoredObject) => boolean) | string {
  if (!filter || typeof filter.propertyName !== 'string') return 'Each filter needs a propertyName.';
  const name = filter.propertyName;
  switch (filter.operator) {
    case 'EQ':
    case 'NEQ': {
      if (filter.value === undefined || filter.value === null) return `Filter on ${name} with ${filter.operator} needs a value.`;
      const wanted = String(filter.value);
      const equal = (r: StoredObject) => r.properties[name] === wanted;
      return filter.operator === 'EQ' ? equal : (r) => !equal(r);
    }
    case 'IN': {
      if (!Array.isArray(filter.values)) return `Filter on ${name} with IN needs values.`;
      if (filter.values.length > SEARCH_IN_VALUES_MAX) {
        return `Too many values in IN filter on ${name}: ${filter.values.length} > ${SEARCH_IN_VALUES_MAX}.`;
      }
      const wanted = new Set(filter.values.map(String));
      return (r) => {
        const v = r.properties[name];
        return v !== null && v !== undefined && wanted.has(v);
      };
    }
    case 'GT':
    case 'GTE':
    case 'LT':
    case 'LTE':
    case 'BETWEEN': {
      // HubSpot compares datetime properties as instants (a filter value in epoch milliseconds,
      // as its docs use, or ISO 8601) and number properties as numbers.
      const bound = (value: unknown, key: string): number | string => {
        if (value === undefined || value === null || value === '') return `Filter on ${name} with ${filter.operator} needs ${key}.`;
        const ms = orderable(name, String(value));
        return ms === null ? `Filter on ${name} with ${filter.operator}: ${key} must be a number or a date.` : ms;
      };
      const low = bound(filter.value, 'a value');
      if (typeof low === 'string') return low;
      const high = filter.operator === 'BETWEEN' ? bound(filter.highValue, 'a highValue') : low;
      if (typeof high === 'string') return high;
      const test: Record<string, (v: number) => boolean> = {
        GT: (v) => v > low,
        GTE: (v) => v >= low,
        LT: (v) => v < low,
        LTE: (v) => v <= low,
        BETWEEN: (v) => v >= low && v <= high,
      };
      const matches = test[filter.operator]!;
      return (r) => {
        const raw = r.properties[name];
        const v = raw === null || raw === undefined || raw === '' ? null : orderable(name, raw);
        return v !== null && matches(v);
      };
    }
    case 'HAS_PROPERTY':
      return (r) => r.properties[name] !== null && r.properties[name] !== undefined && r.properties[name] !== '';
    case 'NOT_HAS_PROPERTY':
      return (r) => r.properties[name] === null || r.properties[name] === undefined || r.properties[name] === '';
    default:
      return `Unsupported operator ${JSON.stringify(filter.operator)} on ${name}.`;
  }
}

function compareValues(a: string | null | undefined, b: string | null | undefined): number {
  if (a === b) return 0;
  if (a === null || a === undefined) return 1;
  if (b === null || b === undefined) return -1;
  const na = Number(a);
  const nb = Number(b);
  if (a !== '' && b !== '' && Number.isFinite(na) && Number.isFinite(nb)) return na - nb;
  return a < b ? -1 : 1;
}

export async function startHubSpotEmulator(options: HubSpotEmulatorOptions): Promise<HubSpotEmulator> {
  const { app, counts } = createEmulatorApp();
  const objects = objectsFromWorld(options.world);
  const limit: RateLimitOptions = { max: options.rateLimit?.max ?? 100, windowMs: options.rateLimit?.windowMs ?? 10_000 };
  let nextId = 1 + Math.max(0, ...[...objects.contacts.keys(), ...objects.deals.keys()].map(Number));
  let rejected = 0;

  const webhook = options.webhook;
  const sender = createWebhookSender({ retryDelaysMs: webhook?.retryDelaysMs, timeoutMs: webhook?.timeoutMs });
  // Event ids start from the clock so ids stay unique across emulator restarts (receivers dedup on them).
  let nextEventId = Date.now() * 1000;

  /** Send property changes of contacts as HubSpot does; resolves after the first attempt of each request. */
  async function notifyPropertyChanges(
    changes: Array<{ objectId: string; properties: Array<[string, string | null]> }>,
    changeSource: ChangeSource,
  ): Promise<WebhookDelivery[]> {
    if (!webhook) return [];
    const occurredAt = Date.now();
    const events: Array<Omit<HubSpotWebhookEvent, 'attemptNumber'>> = changes.flatMap(({ objectId, properties }) =>
      properties.map(([propertyName, propertyValue]) => ({
        eventId: nextEventId++,
        subscriptionId: webhook.subscriptionId ?? 2641543,
        portalId: webhook.portalId ?? 62515,
        appId: webhook.appId ?? 1160452,
        occurredAt,
        subscriptionType: 'contact.propertyChange',
        objectId: Number(objectId),
        propertyName,
        // HubSpot sends a cleared property as an empty string.
        propertyValue: propertyValue ?? '',
        changeSource,
      })),
    );
    const requests: Array<typeof events> = [];
    for (let i = 0; i < events.length; i += EVENTS_PER_REQUEST) requests.push(events.slice(i, i + EVENTS_PER_REQUEST));
    return Promise.all(
      requests.map((batch) =>
        sender.send({
          url: webhook.url,
          event: 'contact.propertyChange',
          build: (attempt) => {
            // attemptNumber counts from 0; each attempt is signed with its own timestamp.
            const body = JSON.stringify(batch.map((event) => ({ ...event, attemptNumber: attempt - 1 })));
            return {
              headers: {
                'content-type': 'application/json',
                'user-agent': HUBSPOT_USER_AGENT,
                ...signHubSpotV3({ clientSecret: webhook.secret, method: 'POST', uri: webhook.url, body, timestamp: Date.now() }),
              },
              body,
            };
          },
        }),
      ),
    );
  }

  app.use(
    '/crm',
    requireToken(bearerToken, options.token, (res) =>
      sendError(
        res,
        401,
        'INVALID_AUTHENTICATION',
        'Authentication credentials not found. This API supports OAuth 2.0 authentication and you can find more details at https://developers.hubspot.com/docs/methods/auth/oauth-overview',
      ),
    ),
  );

  // Rolling window: the times of the calls let through in the last `windowMs`.
  let allowed: number[] = [];
  app.use('/crm', (_req: Request, res: Response, next: NextFunction) => {
    const now = Date.now();
    allowed = allowed.filter((t) => t > now - limit.windowMs);
    res.setHeader('X-HubSpot-RateLimit-Max', String(limit.max));
    res.setHeader('X-HubSpot-RateLimit-Interval-Milliseconds', String(limit.windowMs));
    if (allowed.length >= limit.max) {
      rejected += 1;
      const waitMs = (allowed[0] as number) + limit.windowMs - now;
      res.setHeader('Retry-After', String(Math.max(1, Math.ceil(waitMs / 1000))));
      res.setHeader('X-HubSpot-RateLimit-Remaining', '0');
      // Lets tests and the launcher see the limiter at work from outside the process.
      res.setHeader('X-Emulator-RateLimited-Total', String(rejected));
      sendError(res, 429, 'RATE_LIMITS', 'You have reached your ten_secondly_rolling limit.');
      return;
    }
    allowed.push(now);
    res.setHeader('X-HubSpot-RateLimit-Remaining', String(limit.max - allowed.length));
    next();
  });

  for (const type of ['contacts', 'deals'] as const) {
    const store = objects[type];
    const base = `/crm/v3/objects/${type}`;

    /** Index by a unique property, for `idProperty` lookups. */
    const lookup = (idProperty: string | undefined): ((key: string) => StoredObject | undefined) => {
      if (!idProperty || idProperty === 'hs_object_id') return (key) => store.get(key);
      const index = new Map<string, StoredObject>();
      for (const record of store.values()) {
        const value = record.properties[idProperty];
        if (value !== null && value !== undefined && !index.has(value)) index.set(value, record);
      }
      return (key) => index.get(key);
    };

    app.post(`${base}/batch/read`, (req, res) => {
      const body = (req.body ?? {}) as { inputs?: unknown; properties?: unknown; propertiesWithHistory?: unknown; idProperty?: unknown };
      if (!Array.isArray(body.inputs) || !body.inputs.every((i) => i && typeof (i as { id?: unknown }).id === 'string')) {
        return sendError(res, 400, 'VALIDATION_ERROR', 'inputs must be an array of {id: string}.');
      }
      if (body.inputs.length > BATCH_INPUT_LIMIT) {
        return sendError(res, 400, 'VALIDATION_ERROR', `Batch input limit exceeded: ${body.inputs.length} > ${BATCH_INPUT_LIMIT}.`);
      }
      if (body.properties !== undefined && !isStringArray(body.properties)) {
        return sendError(res, 400, 'VALIDATION_ERROR', 'properties must be an array of strings.');
      }
      if (body.propertiesWithHistory !== undefined && !isStringArray(body.propertiesWithHistory)) {
        return sendError(res, 400, 'VALIDATION_ERROR', 'propertiesWithHistory must be an array of strings.');
      }
      const withHistory = (body.propertiesWithHistory as string[] | undefined) ?? [];
      if (body.idProperty !== undefined && typeof body.idProperty !== 'string') {
        return sendError(res, 400, 'VALIDATION_ERROR', 'idProperty must be a string.');
      }
      const startedAt = new Date().toISOString();
      const find = lookup(body.idProperty);
      const requested = body.properties ? [...body.properties, ...(body.idProperty ? [body.idProperty] : [])] : undefined;
      const results: StoredObject[] = [];
      const missing: string[] = [];
      for (const { id } of body.inputs as Array<{ id: string }>) {
        const record = find(id);
        if (record && !record.archived) results.push(present(type, record, requested, withHistory));
        else missing.push(id);
      }
      const answer: Record<string, unknown> = { status: 'COMPLETE', results, startedAt, completedAt: new Date().toISOString() };
      if (missing.length === 0) return res.json(answer);
      // HubSpot answers a partly failed batch with 207 Multi-Status and the misses under errors.
      answer.numErrors = 1;
      answer.errors = [
        {
          status: 'error',
          category: 'OBJECT_NOT_FOUND',
          message: `Could not get some ${OBJECT_LABEL[type]} objects, they may be deleted or not exist. Check that ids are valid.`,
          context: { ids: missing },
        },
      ];
      return res.status(207).json(answer);
    });

    app.post(`${base}/batch/upsert`, (req, res) => {
      const body = (req.body ?? {}) as { inputs?: unknown };
      type UpsertInput = { id: string; idProperty: string; properties: Record<string, unknown> };
      const valid = (i: unknown): i is UpsertInput => {
        const input = i as Partial<UpsertInput> | null;
        return !!input && typeof input.id === 'string' && typeof input.idProperty === 'string' && !!input.properties && typeof input.properties === 'object';
      };
      if (!Array.isArray(body.inputs) || !body.inputs.every(valid)) {
        return sendError(res, 400, 'VALIDATION_ERROR', 'inputs must be an array of {id, idProperty, properties}.');
      }
      if (body.inputs.length > BATCH_INPUT_LIMIT) {
        return sendError(res, 400, 'VALIDATION_ERROR', `Batch input limit exceeded: ${body.inputs.length} > ${BATCH_INPUT_LIMIT}.`);
      }
      const startedAt = new Date().toISOString();
      const results: Array<StoredObject & { new: boolean }> = [];
      const changed: Array<{ objectId: string; properties: Array<[string, string | null]> }> = [];
      for (const input of body.inputs as UpsertInput[]) {
        const now = new Date().toISOString();
        const existing = lookup(input.idProperty)(input.id);
        // HubSpot stores every property value as text.
        const changes = Object.fromEntries(Object.entries(input.properties).map(([k, v]) => [k, v === null || v === undefined ? null : String(v)]));
        if (existing) {
          const properties = changedProperties(existing.properties, changes);
          if (properties.length > 0) changed.push({ objectId: existing.id, properties });
          recordHistory(existing, properties, now, 'INTEGRATION');
          Object.assign(existing.properties, changes, { [MODIFIED_PROPERTY[type]]: now });
          existing.updatedAt = now;
          results.push({ ...present(type, existing, Object.keys(changes)), new: false });
        } else {
          const id = String(nextId++);
          const record: StoredObject = {
            id,
            properties: { ...changes, [input.idProperty]: input.id, hs_object_id: id, createdate: now, [MODIFIED_PROPERTY[type]]: now },
            createdAt: now,
            updatedAt: now,
            archived: false,
          };
          store.set(id, record);
          // A new contact's properties change from nothing to their first value.
          const properties = changedProperties({}, { ...changes, [input.idProperty]: input.id }).filter(([, value]) => value !== null);
          if (properties.length > 0) changed.push({ objectId: id, properties });
          recordHistory(record, properties, now, 'INTEGRATION');
          results.push({ ...present(type, record, Object.keys(changes)), new: true });
        }
      }
      // The API answers at once; the webhooks go out on their own, as HubSpot's do.
      if (type === 'contacts' && changed.length > 0) void notifyPropertyChanges(changed, 'INTEGRATION');
      return res.json({ status: 'COMPLETE', results, startedAt, completedAt: new Date().toISOString() });
    });

    app.post(`${base}/search`, (req, res) => {
      const body = (req.body ?? {}) as { filterGroups?: unknown; properties?: unknown; limit?: unknown; after?: unknown; sorts?: unknown };
      const pageSize = body.limit === undefined ? 10 : Number(body.limit);
      if (!Number.isInteger(pageSize) || pageSize < 1 || pageSize > SEARCH_LIMIT_MAX) {
        return sendError(res, 400, 'VALIDATION_ERROR', `limit must be an integer from 1 to ${SEARCH_LIMIT_MAX}.`);
      }
      const offset = body.after === undefined || body.after === null ? 0 : Number(body.after);
      if (!Number.isInteger(offset) || offset < 0) return sendError(res, 400, 'VALIDATION_ERROR', 'after must be a paging cursor.');
      if (body.properties !== undefined && !isStringArray(body.properties)) {
        return sendError(res, 400, 'VALIDATION_ERROR', 'properties must be an array of strings.');
      }
      const groups = body.filterGroups ?? [];
      if (!Array.isArray(groups)) return sendError(res, 400, 'VALIDATION_ERROR', 'filterGroups must be an array.');
      // Groups are OR'ed, the filters of one group AND'ed.
      const predicates: Array<Array<(r: StoredObject) => boolean>> = [];
      for (const group of groups as Array<{ filters?: unknown }>) {
        if (!group || !Array.isArray(group.filters)) return sendError(res, 400, 'VALIDATION_ERROR', 'Each filter group needs filters.');
        const compiled: Array<(r: StoredObject) => boolean> = [];
        for (const filter of group.filters as Filter[]) {
          const predicate = compileFilter(filter);
          if (typeof predicate === 'string') return sendError(res, 400, 'VALIDATION_ERROR', predicate);
          compiled.push(predicate);
        }
        predicates.push(compiled);
      }
      let matches = [...store.values()].filter((r) => !r.archived && (predicates.length === 0 || predicates.some((g) => g.every((p) => p(r)))));
      const sort = Array.isArray(body.sorts) ? (body.sorts[0] as { propertyName?: unknown; direction?: unknown } | undefined) : undefined;
      const sortBy = sort && typeof sort.propertyName === 'string' ? sort.propertyName : 'hs_object_id';
      const direction = sort?.direction === 'DESCENDING' ? -1 : 1;
      matches = matches.sort((a, b) => direction * compareValues(a.properties[sortBy], b.properties[sortBy]));
      const page = matches.slice(offset, offset + pageSize).map((r) => present(type, r, body.properties as string[] | undefined));
      const answer: Record<string, unknown> = { total: matches.length, results: page };
      if (offset + pageSize < matches.length) answer.paging = { next: { after: String(offset + pageSize) } };
      return res.json(answer);
    });

    app.get(`${base}/:id`, (req, res) => {
      const idProperty = typeof req.query.idProperty === 'string' && req.query.idProperty ? req.query.idProperty : undefined;
      const record = lookup(idProperty)(String(req.params.id));
      if (!record || record.archived) return sendError(res, 404, 'OBJECT_NOT_FOUND', 'resource not found');
      const requested = propertiesFromQuery(req.query.properties);
      const withHistory = propertiesFromQuery(req.query.propertiesWithHistory);
      return res.json(present(type, record, requested.length > 0 ? [...requested, ...(idProperty ? [idProperty] : [])] : undefined, withHistory));
    });
  }

  app.use('/crm', (_req: Request, res: Response) => sendError(res, 404, 'OBJECT_NOT_FOUND', 'resource not found'));
  // Malformed JSON and the like: HubSpot's error shape, not express's HTML page.
  app.use((error: Error & { status?: number }, _req: Request, res: Response, _next: NextFunction) => {
    const status = error.status && error.status >= 400 && error.status < 500 ? error.status : 500;
    if (status === 500) sendError(res, 500, 'INTERNAL_ERROR', 'internal error');
    else sendError(res, status, 'VALIDATION_ERROR', 'Invalid input JSON.');
  });

  const { root, admin } = createAdminFront(app, sender);
  admin.patch('/contacts/:id', async (req, res) => {
    const record = objects.contacts.get(req.params.id as string);
    if (!record || record.archived) return sendError(res, 404, 'OBJECT_NOT_FOUND', 'resource not found');
    const properties = (req.body as { properties?: unknown } | undefined)?.properties;
    if (!properties || typeof properties !== 'object' || Array.isArray(properties)) {
      return sendError(res, 400, 'VALIDATION_ERROR', 'properties must be an object of property names to values.');
    }
    const entries = Object.entries(properties as Record<string, unknown>);
    // Names only in messages: values may be personal data.
    const unknown = entries.filter(([name]) => !KNOWN_PROPERTIES.contacts.includes(name) || READ_ONLY_PROPERTIES.includes(name)).map(([name]) => name);
    if (unknown.length > 0) return sendError(res, 400, 'VALIDATION_ERROR', `Property values were not valid: ${unknown.join(', ')} cannot be set.`);
    const invalid = entries.filter(([, value]) => value !== null && !['string', 'number', 'boolean'].includes(typeof value)).map(([name]) => name);
    if (invalid.length > 0) return sendError(res, 400, 'VALIDATION_ERROR', `Property values were not valid: ${invalid.join(', ')} must be text, a number or a boolean.`);
    const changes = Object.fromEntries(entries.map(([name, value]) => [name, value === null ? null : String(value)]));
    const changed = changedProperties(record.properties, changes);
    let deliveries: WebhookDelivery[] = [];
    if (changed.length > 0) {
      const now = new Date().toISOString();
      Object.assign(record.properties, changes, { lastmodifieddate: now });
      record.updatedAt = now;
      recordHistory(record, changed, now, 'CRM_UI');
      deliveries = await notifyPropertyChanges([{ objectId: record.id, properties: changed }], 'CRM_UI');
    }
    sendAdminResult(res, present('contacts', record, KNOWN_PROPERTIES.contacts), deliveries.map((d) => d.id));
  });

  const listening = await listen(root, options.port ?? 0, options.host ?? '127.0.0.1');
  return {
    ...listening,
    counts,
    rateLimited: () => rejected,
    objects,
    async stop() {
      sender.stop();
      await listening.stop();
    },
  };
}
