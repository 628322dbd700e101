/**
 * The Stripe emulator: the seed world's customers, payment intents and subscriptions served in
 * Stripe's wire format (Bearer secret key, Stripe's 401/400/404 bodies, `object: "list"` pages
 * with `limit`/`starting_after`, `object: "search_result"` pages with `page`/`next_page`, and
 * the search query language subset in search-query.ts). Records live in mutable Maps so later
 * issues can add writes and webhooks. Fault injection and request counters come from
 * createEmulatorApp.
 *
 * Payment intents are created as in Stripe: `POST /v1/payment_intents` (form-encoded amount,
 * currency, customer, metadata[…], description; an `Idempotency-Key` replays the first answer
 * instead of creating another) makes an intent in requires_payment_method with no
 * last_payment_error, and sends `payment_intent.created`.
 *
 * Webhooks: the admin route below stands for a payment moving on in Stripe (the customer
 * completes 3-D Secure, the bank declines, someone cancels in the Dashboard). With a `webhook`
 * configured, each creation and transition is POSTed as Stripe does it: an `event` object
 * (pretty-printed, as Stripe sends it) with the payment intent as `data.object`, signed with
 * Stripe-Signature (lib/webhooks/stripe.ts), re-signed on every retry. Events can be read back at
 * GET /v1/events/:id, as receivers that re-fetch events do.
 *
 *   POST /__admin/payment_intents/:id/transition { status } → the updated payment intent
 *   GET  /__admin/webhooks                                  deliveries so far
 */
import { randomBytes } from 'node:crypto';
import type { Request, Response, NextFunction } from 'express';
import { bearerToken, createEmulatorApp, requireToken } from '../../../lib/emulator';
import { listen } from '../../../lib/listen';
import type { Listening } from '../../../lib/listen';
import type { SeedWorld } from '../../../lib/seed';
import { stableStringify } from '../../../lib/stable-json';
import { createAdminFront, createWebhookSender, sendAdminResult, signStripe } from '../../../lib/webhooks';
import type { StripeWebhookEvent, WebhookRetryOptions } from '../../../lib/webhooks';
import type { StripeCustomer, StripePaymentIntent, StripePaymentIntentStatus, StripeSubscription } from '../../../lib/vendors/stripe';
import { matchesSearchQuery, parseSearchQuery, SearchQueryError, STRIPE_MAX_SEARCH_CLAUSES } from './search-query';
import type { SearchClause, SearchFieldReader } from './search-query';

export interface StripeStore {
  customers: Map<string, StripeCustomer>;
  paymentIntents: Map<string, StripePaymentIntent>;
  subscriptions: Map<string, StripeSubscription>;
}

export interface StripeWebhookOptions extends WebhookRetryOptions {
  /** The webhook endpoint's URL. */
  url: string;
  /** The endpoint's signing secret (whsec_…). */
  secret: string;
}

export interface StripeEmulatorOptions {
  world: SeedWorld;
  /** The secret key requests must carry (`Authorization: Bearer sk_…`). */
  token: string;
  port?: number;
  host?: string;
  /** Clauses allowed in one search query. @default 10 (Stripe's limit) */
  maxSearchClauses?: number;
  /** Send payment_intent.* events; without it transitions apply and nothing is sent. */
  webhook?: StripeWebhookOptions;
}

export interface StripeEmulator extends Listening {
  store: StripeStore;
  counts(): { total: number; byRoute: Record<string, number> };
}

function slug(text: string): string {
  return text.toLowerCase().replace(/[^a-z0-9]+/g, '_').replace(/^_|_$/g, '');
}

/** The seed world's Stripe slice, in Stripe's wire format. */
export function createStripeStore(world: SeedWorld): StripeStore {
  const customers = new Map<string, StripeCustomer>();
  for (const c of world.customers) {
    customers.set(c.id, {
      id: c.id,
      object: 'customer',
      email: c.email,
      name: c.name,
      phone: c.phone,
      metadata: { semble_patient_id: c.patientId },
      created: c.created,
      livemode: false,
    });
  }
  const paymentIntents = new Map<string, StripePaymentIntent>();
  for (const p of world.paymentIntents) {
    paymentIntents.set(p.id, {
      id: p.id,
      object: 'payment_intent',
      amount: p.amount,
      currency: p.currency,
      status: p.status,
      // No seeded attempt has failed: a seeded requires_payment_method intent awaits a method.
      last_payment_error: null,
      customer: p.customerId,
      created: p.created,
      // Stripe metadata holds strings only, so a missing invoice is an absent key, not null.
      metadata: { semble_patient_id: p.patientId, ...(p.invoiceId ? { semble_invoice_id: p.invoiceId } : {}) },
      livemode: false,
    });
  }
  const subscriptions = new Map<string, StripeSubscription>();
  for (const s of world.subscriptions) {
    subscriptions.set(s.id, {
      id: s.id,
      object: 'subscription',
      status: s.status,
      customer: s.customerId,
      created: s.created,
      current_period_end: s.currentPeriodEnd,
      items: {
        object: 'list',
        url: `/v1/subscription_items?subscription=${s.id}`,
        has_more: false,
        data: [
          {
            id: `si_${s.id.slice(4)}`,
            object: 'subscription_item',
            quantity: 1,
            price: {
              id: `price_${slug(s.plan)}_${s.interval}_${s.amount}`,
              object: 'price',
              unit_amount: s.amount,
              currency: 'gbp',
              recurring: { interval: s.interval, interval_count: 1 },
              nickname: s.plan,
            },
          },
        ],
      },
      metadata: { semble_patient_id: s.patientId, plan: s.plan },
      livemode: false,
    });
  }
  return { customers, paymentIntents, subscriptions };
}

/** Stripe shows the key's prefix and last four characters, never the rest. */
export function maskStripeKey(key: string): string {
  const prefix = /^(sk|rk|pk)_(test|live)_/.exec(key)?.[0] ?? '';
  const rest = key.slice(prefix.length);
  if (rest.length <= 4) return prefix + '*'.repeat(rest.length);
  return prefix + '*'.repeat(rest.length - 4) + rest.slice(-4);
}

/** Stripe's secret key: Bearer, or Basic with the key as the user name (both are accepted by Stripe). */
function stripeKey(req: Request): string | undefined {
  const bearer = bearerToken(req);
  if (bearer !== undefined) return bearer;
  const header = req.headers.authorization;
  if (header?.startsWith('Basic ')) return Buffer.from(header.slice(6), 'base64').toString('utf8').split(':')[0];
  return undefined;
}

function sendError(res: Response, status: number, message: string, extra: { param?: string; code?: string } = {}): void {
  res.status(status).json({ error: { type: 'invalid_request_error', message, ...extra } });
}

/** Thrown by handlers for a 400/404; turned into Stripe's error body by one error handler. */
class StripeRequestError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly param?: string,
    readonly code?: string,
  ) {
    super(message);
  }
}

function queryParam(req: Request, name: string): string | undefined {
  const value = (req.query as Record<string, unknown>)[name];
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw new StripeRequestError(400, `Invalid ${name}: must be a string`, name);
  return value;
}

function parseLimit(req: Request): number {
  const raw = queryParam(req, 'limit');
  if (raw === undefined || raw === '') return 10;
  if (!/^-?\d+$/.test(raw)) throw new StripeRequestError(400, `Invalid integer: ${raw}`, 'limit');
  const limit = Number(raw);
  if (limit < 1) throw new StripeRequestError(400, 'This value must be greater than or equal to 1.', 'limit');
  if (limit > 100) throw new StripeRequestError(400, 'This value must be less than or equal to 100.', 'limit');
  return limit;
}

/** Stripe lists newest first; ties broken by id so pages are stable. */
function newestFirst<T extends { created: number; id: string }>(a: T, b: T): number {
  return b.created - a.created || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0);
}

function listPage<T extends { id: string; created: number }>(req: Request, url: string, records: T[], resourceName: string) {
  const limit = parseLimit(req);
  const startingAfter = queryParam(req, 'starting_after');
  const sorted = [...records].sort(newestFirst);
  let start = 0;
  if (startingAfter) {
    const index = sorted.findIndex((r) => r.id === startingAfter);
    if (index < 0) throw new StripeRequestError(400, `No such ${resourceName}: '${startingAfter}'`, 'starting_after', 'resource_missing');
    start = index + 1;
  }
  const data = sorted.slice(start, start + limit);
  return { object: 'list' as const, url, has_more: start + limit < sorted.length, data };
}

/** Opaque page tokens, as Stripe's are; this one carries the offset. */
function encodePage(offset: number): string {
  return `page_${Buffer.from(JSON.stringify({ o: offset })).toString('base64url')}`;
}

function decodePage(token: string): number {
  try {
    const parsed = JSON.parse(Buffer.from(token.replace(/^page_/, ''), 'base64url').toString('utf8')) as { o?: unknown };
    if (token.startsWith('page_') && Number.isInteger(parsed.o) && (parsed.o as number) >= 0) return parsed.o as number;
  } catch {
    // fall through to the 400 below
  }
  throw new StripeRequestError(400, 'Invalid page: the page token is not valid for this search.', 'page');
}

function readMetadata(metadata: Record<string, string>, clause: SearchClause): string | null {
  return clause.metadataKey !== undefined ? (metadata[clause.metadataKey] ?? null) : null;
}

const readCustomer: SearchFieldReader<StripeCustomer> = (c, clause) => {
  switch (clause.field) {
    case 'metadata':
      return readMetadata(c.metadata, clause);
    case 'email':
      return c.email;
    case 'name':
      return c.name;
    case 'phone':
      return c.phone;
    case 'created':
      return c.created;
    default:
      return undefined;
  }
};

const readPaymentIntent: SearchFieldReader<StripePaymentIntent> = (p, clause) => {
  switch (clause.field) {
    case 'metadata':
      return readMetadata(p.metadata, clause);
    case 'customer':
      return p.customer;
    case 'status':
      return p.status;
    case 'amount':
      return p.amount;
    case 'currency':
      return p.currency;
    case 'created':
      return p.created;
    default:
      return undefined;
  }
};

const readSubscription: SearchFieldReader<StripeSubscription> = (s, clause) => {
  switch (clause.field) {
    case 'metadata':
      return readMetadata(s.metadata, clause);
    case 'status':
      return s.status;
    case 'created':
      return s.created;
    default:
      return undefined;
  }
};

const SEARCHABLE: Record<'customers' | 'payment_intents' | 'subscriptions', ReadonlySet<string>> = {
  customers: new Set(['metadata', 'email', 'name', 'phone', 'created']),
  payment_intents: new Set(['metadata', 'customer', 'status', 'amount', 'currency', 'created']),
  subscriptions: new Set(['metadata', 'status', 'created']),
};

const PAYMENT_FAILED = 'payment_intent.payment_failed';

/**
 * The statuses a payment intent can be moved to from the admin route, and the event Stripe
 * sends. `failed` is emulator shorthand: Stripe has no failed status; a declined payment goes
 * back to requires_payment_method (with last_payment_error) and sends payment_failed. An attempt
 * can fail from requires_payment_method too (a new intent's first attempt, or another try).
 */
const TRANSITIONS: Record<string, { status: StripePaymentIntentStatus; type: string }> = {
  succeeded: { status: 'succeeded', type: 'payment_intent.succeeded' },
  processing: { status: 'processing', type: 'payment_intent.processing' },
  requires_action: { status: 'requires_action', type: 'payment_intent.requires_action' },
  canceled: { status: 'canceled', type: 'payment_intent.canceled' },
  requires_payment_method: { status: 'requires_payment_method', type: PAYMENT_FAILED },
  failed: { status: 'requires_payment_method', type: PAYMENT_FAILED },
};
/** Stripe never moves a payment intent out of these. */
const FINAL_STATUSES: ReadonlySet<string> = new Set(['succeeded', 'canceled']);
const STRIPE_API_VERSION = '2024-06-20';
const STRIPE_USER_AGENT = 'Stripe/1.0 (+https://stripe.com/docs/webhooks)';

/** Stripe ids: a prefix and 24 alphanumerics. */
function stripeId(prefix: string): string {
  return `${prefix}_${randomBytes(12).toString('hex')}`;
}

/** The parameters POST /v1/payment_intents takes here (Stripe takes more; others are refused by name). */
const CREATE_PARAMS: ReadonlySet<string> = new Set(['amount', 'currency', 'customer', 'metadata', 'description']);

/** What Stripe keeps of a successful POST under its Idempotency-Key: the parameters it was sent with and its answer. */
interface IdempotentResult {
  params: string;
  body: StripePaymentIntent;
}

/** Stripe's metadata rules: at most 50 keys of up to 40 characters, string values up to 500. */
function parseMetadata(raw: unknown): Record<string, string> {
  if (raw === undefined || raw === '') return {};
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new StripeRequestError(400, 'Invalid object', 'metadata');
  }
  const entries = Object.entries(raw as Record<string, unknown>);
  if (entries.length > 50) throw new StripeRequestError(400, 'Invalid metadata: metadata cannot have more than 50 keys', 'metadata');
  const metadata: Record<string, string> = {};
  for (const [key, value] of entries) {
    if (typeof value !== 'string') throw new StripeRequestError(400, `Invalid metadata[${key}]: must be a string`, `metadata[${key}]`);
    if (key.length > 40) throw new StripeRequestError(400, `Invalid metadata: keys can be at most 40 characters long`, `metadata[${key}]`);
    if (value.length > 500) throw new StripeRequestError(400, `Invalid metadata: values can be at most 500 characters long`, `metadata[${key}]`);
    // Stripe drops a key sent with an empty value.
    if (value !== '') metadata[key] = value;
  }
  return metadata;
}

const SUBSCRIPTION_STATUSES = new Set(['active', 'past_due', 'unpaid', 'canceled', 'incomplete', 'incomplete_expired', 'trialing', 'paused', 'ended', 'all']);

export async function startStripeEmulator(options: StripeEmulatorOptions): Promise<StripeEmulator> {
  const store = createStripeStore(options.world);
  const maxClauses = options.maxSearchClauses ?? STRIPE_MAX_SEARCH_CLAUSES;
  const { app, counts } = createEmulatorApp({ urlencoded: true });
  const webhook = options.webhook;
  const sender = createWebhookSender({ retryDelaysMs: webhook?.retryDelaysMs, timeoutMs: webhook?.timeoutMs });
  const events = new Map<string, StripeWebhookEvent>();

  /**
   * Sends `type` with a snapshot of `intent` to the webhook endpoint, signed as Stripe signs it;
   * resolves (never rejects) after the first attempt with the delivery's id, none without a webhook.
   */
  async function sendIntentEvent(type: string, intent: StripePaymentIntent): Promise<string[]> {
    if (!webhook) return [];
    const event: StripeWebhookEvent = {
      id: stripeId('evt'),
      object: 'event',
      api_version: STRIPE_API_VERSION,
      created: Math.floor(Date.now() / 1000),
      // A snapshot: later changes to the intent do not rewrite the event.
      data: { object: structuredClone(intent) as unknown as Record<string, unknown> },
      livemode: false,
      pending_webhooks: 1,
      type,
    };
    events.set(event.id, event);
    const body = JSON.stringify(event, null, 2);
    const delivery = await sender.send({
      url: webhook.url,
      event: event.type,
      build: () => ({
        headers: {
          'content-type': 'application/json; charset=utf-8',
          'user-agent': STRIPE_USER_AGENT,
          ...signStripe({ secret: webhook.secret, body, timestamp: Math.floor(Date.now() / 1000) }),
        },
        body,
      }),
    });
    return [delivery.id];
  }

  app.use(
    '/v1',
    requireToken(stripeKey, options.token, (res) => {
      res.setHeader('WWW-Authenticate', 'Bearer realm="Stripe"');
      // Read the key again here: requireToken only tells us it did not match.
      const key = stripeKey(res.req);
      if (!key) {
        sendError(res, 401, "You did not provide an API key. You need to provide your API key in the Authorization header, using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY').");
        return;
      }
      sendError(res, 401, `Invalid API Key provided: ${maskStripeKey(key)}`);
    }),
  );

  function search<T extends { id: string; created: number }>(
    req: Request,
    resource: keyof typeof SEARCHABLE,
    records: Iterable<T>,
    read: SearchFieldReader<T>,
  ) {
    const text = queryParam(req, 'query');
    if (!text) throw new StripeRequestError(400, 'Missing required param: query.', 'query');
    let query;
    try {
      query = parseSearchQuery(text, { maxClauses });
    } catch (error) {
      if (error instanceof SearchQueryError) throw new StripeRequestError(400, error.message, 'query');
      throw error;
    }
    const unknown = query.clauses.map((c) => c.field).filter((f) => !SEARCHABLE[resource].has(f));
    if (unknown.length > 0) {
      throw new StripeRequestError(400, `Field '${unknown[0]}' is an unsupported search field for resource ${resource}.`, 'query');
    }
    const limit = parseLimit(req);
    const pageToken = queryParam(req, 'page');
    const offset = pageToken ? decodePage(pageToken) : 0;
    const matched = [...records].filter((r) => matchesSearchQuery(r, query, read)).sort(newestFirst);
    const hasMore = offset + limit < matched.length;
    return {
      object: 'search_result' as const,
      url: `/v1/${resource}/search`,
      has_more: hasMore,
      next_page: hasMore ? encodePage(offset + limit) : null,
      data: matched.slice(offset, offset + limit),
    };
  }

  function retrieve<T>(map: Map<string, T>, resourceName: string) {
    return (req: Request, res: Response) => {
      const id = String(req.params.id);
      const record = map.get(id);
      if (!record) throw new StripeRequestError(404, `No such ${resourceName}: '${id}'`, 'id', 'resource_missing');
      res.json(record);
    };
  }

  app.get('/v1/customers/search', (req, res) => {
    res.json(search(req, 'customers', store.customers.values(), readCustomer));
  });
  app.get('/v1/customers', (req, res) => {
    const email = queryParam(req, 'email');
    const records = [...store.customers.values()].filter((c) => email === undefined || c.email === email);
    res.json(listPage(req, '/v1/customers', records, 'customer'));
  });
  app.get('/v1/customers/:id', retrieve(store.customers, 'customer'));

  app.get('/v1/payment_intents/search', (req, res) => {
    res.json(search(req, 'payment_intents', store.paymentIntents.values(), readPaymentIntent));
  });
  app.get('/v1/payment_intents', (req, res) => {
    const customer = queryParam(req, 'customer');
    const records = [...store.paymentIntents.values()].filter((p) => customer === undefined || p.customer === customer);
    res.json(listPage(req, '/v1/payment_intents', records, 'payment_intent'));
  });
  app.get('/v1/payment_intents/:id', retrieve(store.paymentIntents, 'payment_intent'));

  const idempotentResults = new Map<string, IdempotentResult>();
  app.post('/v1/payment_intents', (req, res) => {
    const params = (req.body ?? {}) as Record<string, unknown>;
    const key = req.get('idempotency-key');
    const fingerprint = stableStringify(params);
    if (key !== undefined) {
      const earlier = idempotentResults.get(key);
      if (earlier && earlier.params !== fingerprint) {
        res.status(400).json({
          error: {
            type: 'idempotency_error',
            message: `Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than '${key}' if you meant to execute a different request.`,
          },
        });
        return;
      }
      if (earlier) {
        // The first answer again; nothing is created and no event is sent.
        res.setHeader('Idempotent-Replayed', 'true');
        res.json(earlier.body);
        return;
      }
    }
    const unknown = Object.keys(params).find((name) => !CREATE_PARAMS.has(name));
    if (unknown !== undefined) throw new StripeRequestError(400, `Received unknown parameter: ${unknown}`, unknown);
    const amountText = params.amount;
    if (amountText === undefined) throw new StripeRequestError(400, 'Missing required param: amount.', 'amount');
    if (typeof amountText !== 'string' || !/^\d+$/.test(amountText)) throw new StripeRequestError(400, `Invalid integer: ${String(amountText)}`, 'amount');
    const amount = Number(amountText);
    if (amount < 1) throw new StripeRequestError(400, 'This value must be greater than or equal to 1.', 'amount');
    const currency = params.currency;
    if (currency === undefined) throw new StripeRequestError(400, 'Missing required param: currency.', 'currency');
    if (typeof currency !== 'string' || !/^[a-z]{3}$/i.test(currency)) throw new StripeRequestError(400, `Invalid currency: ${String(currency)}.`, 'currency');
    const customer = params.customer;
    if (customer !== undefined && (typeof customer !== 'string' || !store.customers.has(customer))) {
      throw new StripeRequestError(400, `No such customer: '${String(customer)}'`, 'customer', 'resource_missing');
    }
    const intent: StripePaymentIntent = {
      id: stripeId('pi'),
      object: 'payment_intent',
      amount,
      currency: currency.toLowerCase(),
      // What Stripe gives a new intent: waiting for a payment method, no attempt made.
      status: 'requires_payment_method',
      last_payment_error: null,
      canceled_at: null,
      customer: (customer as string | undefined) ?? null,
      created: Math.floor(Date.now() / 1000),
      metadata: parseMetadata(params.metadata),
      livemode: false,
    };
    store.paymentIntents.set(intent.id, intent);
    if (key !== undefined) idempotentResults.set(key, { params: fingerprint, body: structuredClone(intent) });
    // Stripe answers at once and delivers its events on its own time: the answer does not wait.
    void sendIntentEvent('payment_intent.created', intent);
    res.json(intent);
  });

  app.get('/v1/subscriptions/search', (req, res) => {
    res.json(search(req, 'subscriptions', store.subscriptions.values(), readSubscription));
  });
  app.get('/v1/subscriptions', (req, res) => {
    const customer = queryParam(req, 'customer');
    const status = queryParam(req, 'status');
    if (status !== undefined && !SUBSCRIPTION_STATUSES.has(status)) {
      throw new StripeRequestError(400, `Invalid status: must be one of ${[...SUBSCRIPTION_STATUSES].join(', ')}`, 'status');
    }
    // Like Stripe: without a status filter, canceled subscriptions are left out.
    const records = [...store.subscriptions.values()].filter(
      (s) =>
        (customer === undefined || s.customer === customer) &&
        (status === 'all' || (status === undefined ? s.status !== 'canceled' : s.status === status)),
    );
    res.json(listPage(req, '/v1/subscriptions', records, 'subscription'));
  });
  app.get('/v1/subscriptions/:id', retrieve(store.subscriptions, 'subscription'));

  app.get('/v1/events/:id', retrieve(events, 'event'));

  app.use('/v1', (req: Request) => {
    throw new StripeRequestError(404, `Unrecognized request URL (${req.method}: ${req.originalUrl.split('?')[0]}).`);
  });

  // Express 5 forwards thrown errors (sync and async) here.
  app.use((error: unknown, _req: Request, res: Response, next: NextFunction) => {
    if (res.headersSent) return next(error);
    if (error instanceof StripeRequestError) {
      sendError(res, error.status, error.message, {
        ...(error.param ? { param: error.param } : {}),
        ...(error.code ? { code: error.code } : {}),
      });
      return;
    }
    res.status(500).json({ error: { type: 'api_error', message: 'An unknown error occurred.' } });
  });

  const { root, admin } = createAdminFront(app, sender);
  admin.post('/payment_intents/:id/transition', async (req, res) => {
    const id = req.params.id as string;
    const intent = store.paymentIntents.get(id);
    if (!intent) return sendError(res, 404, `No such payment_intent: '${id}'`, { param: 'id', code: 'resource_missing' });
    const requested = (req.body as { status?: unknown } | undefined)?.status;
    const transition = typeof requested === 'string' ? TRANSITIONS[requested] : undefined;
    if (!transition) {
      return sendError(res, 400, `Invalid status: must be one of ${Object.keys(TRANSITIONS).join(', ')}`, { param: 'status' });
    }
    // Another attempt can fail while the intent waits for a method; other moves must change the status.
    if (FINAL_STATUSES.has(intent.status) || (intent.status === transition.status && transition.type !== PAYMENT_FAILED)) {
      return sendError(res, 400, `You cannot move this PaymentIntent to ${transition.status} because it has a status of ${intent.status}.`, {
        code: 'payment_intent_unexpected_state',
      });
    }
    intent.status = transition.status;
    // Stripe clears the error whenever the intent changes for another reason than a failed attempt.
    intent.last_payment_error =
      transition.type === PAYMENT_FAILED ? { type: 'card_error', code: 'card_declined', decline_code: 'generic_decline', message: 'Your card was declined.' } : null;
    if (transition.status === 'canceled') intent.canceled_at = Math.floor(Date.now() / 1000);
    sendAdminResult(res, intent, await sendIntentEvent(transition.type, intent));
  });

  const listening = await listen(root, options.port ?? 0, options.host);
  return {
    ...listening,
    store,
    counts,
    async stop() {
      sender.stop();
      await listening.stop();
    },
  };
}
