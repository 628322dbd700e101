/**
 * The GoCardless emulator: the seed world's Direct Debit slice (customers, Bacs mandates,
 * payments) served in GoCardless's wire format, as its own server next to the Stripe one:
 * Bearer access token, the required `GoCardless-Version` header, resources wrapped in their
 * plural name (`{ payments: {...} }`), lists `{ <resource>: [...], meta: { cursors: { before,
 * after }, limit } }` with `limit` (≤ 500) and `after`/`before` cursors (record ids), and
 * GoCardless's error body `{ error: { message, type, code, request_id, errors: [...] } }`.
 * Fault injection and request counters come from createEmulatorApp.
 *
 * Webhooks: the admin route stands for a payment moving on at GoCardless (submitted to the
 * banks, confirmed, paid out, failed, charged back, cancelled from the dashboard). With a
 * `webhook` configured, each transition is POSTed as GoCardless does it: `{ events: [event] }`
 * signed with Webhook-Signature (lib/webhooks/gocardless.ts). Events can be read back at
 * GET /events/:id.
 *
 *   POST /__admin/payments/:id/transition { status } → the updated payment
 *   GET  /__admin/webhooks                           deliveries so far
 */
import { randomBytes } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';
import { bearerToken, createEmulatorApp } from '../../../lib/emulator';
import { listen } from '../../../lib/listen';
import type { Listening } from '../../../lib/listen';
import type { SeedWorld } from '../../../lib/seed';
import { GOCARDLESS_API_VERSION, GOCARDLESS_MAX_PAGE_SIZE } from '../../../lib/vendors/gocardless';
import type { GoCardlessCustomer, GoCardlessMandate, GoCardlessPayment, GoCardlessPaymentStatus } from '../../../lib/vendors/gocardless';
import { createAdminFront, createWebhookSender, sendAdminResult, signGoCardless } from '../../../lib/webhooks';
import type { GoCardlessEvent, WebhookRetryOptions } from '../../../lib/webhooks';

export interface GoCardlessStore {
  customers: Map<string, GoCardlessCustomer>;
  mandates: Map<string, GoCardlessMandate>;
  payments: Map<string, GoCardlessPayment>;
}

export interface GoCardlessWebhookOptions extends WebhookRetryOptions {
  /** The webhook endpoint's URL. */
  url: string;
  /** The endpoint's secret (the Webhook-Signature HMAC key). */
  secret: string;
}

export interface GoCardlessEmulatorOptions {
  world: SeedWorld;
  /** The access token requests must carry (`Authorization: Bearer …`). */
  token: string;
  port?: number;
  host?: string;
  /** Send payments events; without it transitions apply and nothing is sent. */
  webhook?: GoCardlessWebhookOptions;
}

export interface GoCardlessEmulator extends Listening {
  store: GoCardlessStore;
  counts(): { total: number; byRoute: Record<string, number> };
}

/** The creditor every seeded mandate and payment belongs to (one clinic, one creditor). */
const CREDITOR_ID = 'CR000PATIENTGRAPH';

/** The seed world's GoCardless slice, in GoCardless's wire format. */
export function createGoCardlessStore(world: SeedWorld): GoCardlessStore {
  const customers = new Map<string, GoCardlessCustomer>();
  for (const c of world.goCardlessCustomers) {
    customers.set(c.id, {
      id: c.id,
      created_at: c.createdAt,
      email: c.email,
      given_name: c.givenName,
      family_name: c.familyName,
      company_name: null,
      country_code: 'GB',
      language: 'en',
      metadata: { semble_patient_id: c.patientId },
    });
  }
  const mandates = new Map<string, GoCardlessMandate>();
  for (const m of world.goCardlessMandates) {
    mandates.set(m.id, {
      id: m.id,
      created_at: m.createdAt,
      reference: m.reference,
      status: m.status,
      scheme: m.scheme,
      next_possible_charge_date: m.nextPossibleChargeDate,
      metadata: {},
      links: { customer: m.customerId, creditor: CREDITOR_ID, customer_bank_account: `BA${m.id.slice(2)}` },
    });
  }
  const payments = new Map<string, GoCardlessPayment>();
  for (const p of world.goCardlessPayments) {
    payments.set(p.id, {
      id: p.id,
      created_at: p.createdAt,
      charge_date: p.chargeDate,
      amount: p.amount,
      amount_refunded: 0,
      currency: p.currency,
      status: p.status,
      reference: null,
      description: p.invoiceId ? 'Clinic invoice' : 'Health plan instalment',
      // Metadata values are strings; a payment without an invoice has no such key.
      metadata: { semble_patient_id: p.patientId, ...(p.invoiceId ? { semble_invoice_id: p.invoiceId } : {}) },
      links: { mandate: p.mandateId, creditor: CREDITOR_ID },
    });
  }
  return { customers, mandates, payments };
}

interface FieldError {
  field?: string;
  reason: string;
  message: string;
}

/** Thrown by handlers; turned into GoCardless's error body by one error handler. */
class GoCardlessRequestError extends Error {
  constructor(
    readonly status: number,
    readonly type: 'invalid_api_usage' | 'invalid_state' | 'validation_failed' | 'gocardless',
    message: string,
    readonly errors: FieldError[],
  ) {
    super(message);
  }
}

function requestId(): string {
  return randomBytes(8).toString('hex');
}

function sendError(res: Response, error: GoCardlessRequestError): void {
  res.status(error.status).json({
    error: {
      message: error.message,
      documentation_url: `https://developer.gocardless.com/api-reference#${error.errors[0]?.reason ?? error.type}`,
      type: error.type,
      request_id: requestId(),
      code: error.status,
      errors: error.errors,
    },
  });
}

const notFound = () =>
  new GoCardlessRequestError(404, 'invalid_api_usage', 'Resource not found', [{ reason: 'resource_not_found', message: 'Resource not found' }]);

function queryParam(req: Request, name: string): string | undefined {
  const value = (req.query as Record<string, unknown>)[name];
  if (value === undefined) return undefined;
  if (typeof value !== 'string') {
    throw new GoCardlessRequestError(400, 'validation_failed', 'Validation failed', [{ field: name, reason: 'invalid_type', message: 'must be a string' }]);
  }
  return value;
}

function parseLimit(req: Request): number {
  const raw = queryParam(req, 'limit');
  if (raw === undefined || raw === '') return 50;
  const limit = /^\d+$/.test(raw) ? Number(raw) : NaN;
  if (!Number.isInteger(limit) || limit < 1 || limit > GOCARDLESS_MAX_PAGE_SIZE) {
    throw new GoCardlessRequestError(400, 'validation_failed', 'Validation failed', [
      { field: 'limit', reason: 'invalid_limit', message: `must be a number between 1 and ${GOCARDLESS_MAX_PAGE_SIZE}` },
    ]);
  }
  return limit;
}

/** Newest first, ties broken by id, so pages and cursors are stable. */
function newestFirst<T extends { created_at: string; id: string }>(a: T, b: T): number {
  return Date.parse(b.created_at) - Date.parse(a.created_at) || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0);
}

/** One page of `records` in GoCardless's list format; `after`/`before` are record ids. */
function listPage<T extends { id: string; created_at: string }>(req: Request, resource: string, records: T[]) {
  const limit = parseLimit(req);
  const after = queryParam(req, 'after');
  const before = queryParam(req, 'before');
  if (after && before) {
    throw new GoCardlessRequestError(400, 'invalid_api_usage', 'You cannot specify both before and after cursors', [
      { reason: 'invalid_api_usage', message: 'You cannot specify both before and after cursors' },
    ]);
  }
  const sorted = [...records].sort(newestFirst);
  const position = (cursor: string, field: string) => {
    const index = sorted.findIndex((record) => record.id === cursor);
    if (index < 0) throw new GoCardlessRequestError(400, 'invalid_api_usage', 'Invalid cursor', [{ field, reason: 'invalid_cursor', message: 'is not a valid cursor' }]);
    return index;
  };
  let start = 0;
  let end: number;
  if (after) {
    start = position(after, 'after') + 1;
    end = Math.min(sorted.length, start + limit);
  } else if (before) {
    end = position(before, 'before');
    start = Math.max(0, end - limit);
  } else {
    end = Math.min(sorted.length, limit);
  }
  const page = sorted.slice(start, end);
  return {
    [resource]: page,
    meta: {
      cursors: {
        before: start > 0 && page.length > 0 ? page[0]!.id : null,
        after: end < sorted.length && page.length > 0 ? page[page.length - 1]!.id : null,
      },
      limit,
    },
  };
}

interface Transition {
  /** Statuses the payment may move from (an admin may skip steps: time passes in one call). */
  from: ReadonlySet<GoCardlessPaymentStatus>;
  details: { origin: 'gocardless' | 'bank' | 'api'; cause: string; description: string };
}

const PENDING: GoCardlessPaymentStatus[] = ['pending_customer_approval', 'pending_submission'];

/** The statuses the admin route can move a payment to; the event's `action` is the status. */
const TRANSITIONS: Record<'submitted' | 'confirmed' | 'paid_out' | 'failed' | 'cancelled' | 'charged_back', Transition> = {
  submitted: {
    from: new Set(PENDING),
    details: { origin: 'gocardless', cause: 'payment_submitted', description: 'Payment submitted to the banks. As a result, it can no longer be cancelled.' },
  },
  confirmed: {
    from: new Set([...PENDING, 'submitted']),
    details: {
      origin: 'gocardless',
      cause: 'payment_confirmed',
      description: 'Enough time has passed since the payment was submitted for the banks to return an error, so this payment is now confirmed.',
    },
  },
  paid_out: {
    from: new Set([...PENDING, 'submitted', 'confirmed']),
    details: { origin: 'gocardless', cause: 'payment_paid_out', description: 'The payment has been paid out by GoCardless.' },
  },
  failed: {
    from: new Set([...PENDING, 'submitted']),
    details: { origin: 'bank', cause: 'insufficient_funds', description: "The customer's account had insufficient funds to make this payment." },
  },
  cancelled: {
    from: new Set(PENDING),
    details: { origin: 'api', cause: 'payment_cancelled', description: 'The payment was cancelled.' },
  },
  charged_back: {
    from: new Set(['confirmed', 'paid_out']),
    details: { origin: 'bank', cause: 'payment_charged_back', description: 'The customer asked their bank to refund the payment under the Direct Debit Guarantee.' },
  },
};

const GOCARDLESS_USER_AGENT = 'gocardless-webhook-service/1.1';

/** GoCardless ids: a two-letter prefix and upper-case alphanumerics. */
function eventId(): string {
  return `EV${randomBytes(6).toString('hex').toUpperCase()}`;
}

export async function startGoCardlessEmulator(options: GoCardlessEmulatorOptions): Promise<GoCardlessEmulator> {
  const store = createGoCardlessStore(options.world);
  const { app, counts } = createEmulatorApp();
  const webhook = options.webhook;
  const sender = createWebhookSender({ retryDelaysMs: webhook?.retryDelaysMs, timeoutMs: webhook?.timeoutMs });
  const events = new Map<string, GoCardlessEvent>();

  // Authentication first, then the version header, as GoCardless checks them.
  app.use((req: Request, _res: Response, next: NextFunction) => {
    if (req.path === '/healthz') return next();
    const token = bearerToken(req);
    if (token !== options.token) {
      throw new GoCardlessRequestError(401, 'invalid_api_usage', 'Authentication failed', [{ reason: 'authentication_failed', message: 'Authentication failed' }]);
    }
    const version = req.headers['gocardless-version'];
    if (version === undefined) {
      throw new GoCardlessRequestError(400, 'invalid_api_usage', 'GoCardless-Version header is required', [
        { reason: 'missing_version_header', message: 'GoCardless-Version header is required' },
      ]);
    }
    if (version !== GOCARDLESS_API_VERSION) {
      throw new GoCardlessRequestError(400, 'invalid_api_usage', 'Version header specified is not valid', [
        { reason: 'version_not_found', message: 'Version header specified is not valid' },
      ]);
    }
    next();
  });

  /** The customer of each mandate, for filtering payments by customer. */
  const customerOfMandate = (mandateId: string) => store.mandates.get(mandateId)?.links.customer;

  app.get('/customers', (req, res) => {
    res.json(listPage(req, 'customers', [...store.customers.values()]));
  });
  app.get('/customers/:id', (req, res) => {
    const customer = store.customers.get(String(req.params.id));
    if (!customer) throw notFound();
    res.json({ customers: customer });
  });

  app.get('/mandates', (req, res) => {
    const customer = queryParam(req, 'customer');
    res.json(listPage(req, 'mandates', [...store.mandates.values()].filter((m) => customer === undefined || m.links.customer === customer)));
  });
  app.get('/mandates/:id', (req, res) => {
    const mandate = store.mandates.get(String(req.params.id));
    if (!mandate) throw notFound();
    res.json({ mandates: mandate });
  });

  app.get('/payments', (req, res) => {
    const customer = queryParam(req, 'customer');
    const mandate = queryParam(req, 'mandate');
    const status = queryParam(req, 'status');
    const records = [...store.payments.values()].filter(
      (p) =>
        (mandate === undefined || p.links.mandate === mandate) &&
        (customer === undefined || customerOfMandate(p.links.mandate) === customer) &&
        (status === undefined || p.status === status),
    );
    res.json(listPage(req, 'payments', records));
  });
  app.get('/payments/:id', (req, res) => {
    const payment = store.payments.get(String(req.params.id));
    if (!payment) throw notFound();
    res.json({ payments: payment });
  });

  app.get('/events/:id', (req, res) => {
    const event = events.get(String(req.params.id));
    if (!event) throw notFound();
    res.json({ events: event });
  });

  app.use(() => {
    throw notFound();
  });

  // Express 5 forwards thrown errors (sync and async) here.
  app.use((error: unknown, _req: Request, res: Response, next: NextFunction) => {
    if (res.headersSent) return next(error);
    if (error instanceof GoCardlessRequestError) return sendError(res, error);
    sendError(res, new GoCardlessRequestError(500, 'gocardless', 'Internal server error', [{ reason: 'internal_server_error', message: 'Internal server error' }]));
  });

  const { root, admin } = createAdminFront(app, sender);
  admin.post('/payments/:id/transition', async (req, res) => {
    const payment = store.payments.get(String(req.params.id));
    if (!payment) return sendError(res, notFound());
    const requested = (req.body as { status?: unknown } | undefined)?.status;
    const transition = typeof requested === 'string' && Object.hasOwn(TRANSITIONS, requested) ? TRANSITIONS[requested as keyof typeof TRANSITIONS] : undefined;
    if (!transition) {
      return sendError(
        res,
        new GoCardlessRequestError(400, 'validation_failed', 'Validation failed', [
          { field: 'status', reason: 'invalid_status', message: `must be one of ${Object.keys(TRANSITIONS).join(', ')}` },
        ]),
      );
    }
    const action = requested as keyof typeof TRANSITIONS;
    if (!transition.from.has(payment.status)) {
      return sendError(
        res,
        new GoCardlessRequestError(422, 'invalid_state', `A payment with status ${payment.status} cannot become ${action}`, [
          { reason: 'invalid_state', message: `A payment with status ${payment.status} cannot become ${action}` },
        ]),
      );
    }
    payment.status = action;

    let deliveryIds: string[] = [];
    if (webhook) {
      const event: GoCardlessEvent = {
        id: eventId(),
        created_at: new Date().toISOString(),
        resource_type: 'payments',
        action,
        links: { payment: payment.id },
        details: { ...transition.details },
        metadata: {},
      };
      events.set(event.id, event);
      const body = JSON.stringify({ events: [event] });
      const delivery = await sender.send({
        url: webhook.url,
        event: `payments.${action}`,
        build: () => ({
          headers: {
            'content-type': 'application/json',
            'user-agent': GOCARDLESS_USER_AGENT,
            ...signGoCardless({ secret: webhook.secret, body }),
          },
          body,
        }),
      });
      deliveryIds = [delivery.id];
    }
    sendAdminResult(res, { payments: payment }, deliveryIds);
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
