/**
 * The typed GoCardless client: GoCardless's wire records (its field names), the read endpoints
 * the payments subgraph and the sync worker use, and cursor pagination (`after` /
 * `meta.cursors.after`, pages of up to 500) followed to the end. Every request carries
 * `Authorization: Bearer` and the `GoCardless-Version` header GoCardless requires. All HTTP
 * goes through createVendorHttp, so timeouts, retries and error mapping are shared.
 *
 * GoCardless has no search and no metadata filter: finding the customer of a Semble patient
 * means listing customers and filtering on `metadata.semble_patient_id` here, client-side
 * (`listCustomers({ metadata })`). That costs ⌈customers / 500⌉ requests however few patients
 * are wanted; callers should do it once per batch, not once per patient.
 */
import { createVendorHttp } from '../vendor-http';

export const GOCARDLESS_VENDOR = 'gocardless';
/** The API version this client speaks (sent as `GoCardless-Version`). */
export const GOCARDLESS_API_VERSION = '2015-07-06';
/** The largest page GoCardless serves. */
export const GOCARDLESS_MAX_PAGE_SIZE = 500;

/** GoCardless metadata: up to three string keys. */
export type GoCardlessMetadata = Record<string, string>;

export interface GoCardlessCustomer {
  id: string;
  created_at: string;
  email: string | null;
  given_name: string | null;
  family_name: string | null;
  company_name: string | null;
  country_code: string | null;
  language: string;
  metadata: GoCardlessMetadata;
}

export type GoCardlessMandateStatus =
  | 'pending_customer_approval'
  | 'pending_submission'
  | 'submitted'
  | 'active'
  | 'failed'
  | 'cancelled'
  | 'expired'
  | 'consumed'
  | 'blocked'
  | 'suspended_by_payer';

export interface GoCardlessMandate {
  id: string;
  created_at: string;
  reference: string;
  status: GoCardlessMandateStatus;
  scheme: string;
  /** YYYY-MM-DD, null when the mandate cannot be charged. */
  next_possible_charge_date: string | null;
  metadata: GoCardlessMetadata;
  links: { customer: string; creditor?: string; customer_bank_account?: string };
}

export type GoCardlessPaymentStatus =
  | 'pending_customer_approval'
  | 'pending_submission'
  | 'submitted'
  | 'confirmed'
  | 'paid_out'
  | 'cancelled'
  | 'customer_approval_denied'
  | 'failed'
  | 'charged_back';

export interface GoCardlessPayment {
  id: string;
  created_at: string;
  /** YYYY-MM-DD */
  charge_date: string;
  /** Minor units. */
  amount: number;
  amount_refunded: number;
  /** ISO 4217, upper case (GoCardless's own spelling). */
  currency: string;
  status: GoCardlessPaymentStatus;
  reference: string | null;
  description: string | null;
  metadata: GoCardlessMetadata;
  links: { mandate: string; creditor?: string; payout?: string; subscription?: string };
}

export interface GoCardlessCursors {
  before: string | null;
  after: string | null;
}

/** One page of a list endpoint: `{ <resource>: [...], meta: { cursors, limit } }`. */
export type GoCardlessPage<K extends string, T> = { [key in K]: T[] } & { meta: { cursors: GoCardlessCursors; limit: number } };

export interface GoCardlessClientOptions {
  /** e.g. https://api.gocardless.com or the emulator's URL. */
  baseUrl: string;
  /** Access token, sent as a Bearer token. */
  token: string;
  /** Per-attempt timeout. @default 10000 */
  timeoutMs?: number;
  fetch?: typeof fetch;
}

export interface GoCardlessPaymentQuery {
  customer?: string;
  mandate?: string;
  /** Start after this cursor (a payment id from `meta.cursors.after`). */
  after?: string;
  /** Page size, 1–500. @default 500 */
  limit?: number;
}

export interface GoCardlessClient {
  /** Every customer (all pages), optionally only those whose metadata has all of `metadata`'s entries. */
  listCustomers(params?: { metadata?: GoCardlessMetadata }): Promise<GoCardlessCustomer[]>;
  /** Every payment matching the filters, following `meta.cursors.after` to the last page. */
  listPayments(params?: GoCardlessPaymentQuery): Promise<GoCardlessPayment[]>;
  getPayment(id: string): Promise<GoCardlessPayment>;
  /** Every mandate (all pages), optionally of one customer. */
  listMandates(params?: { customer?: string }): Promise<GoCardlessMandate[]>;
  getMandate(id: string): Promise<GoCardlessMandate>;
}

function queryString(params: Record<string, string | number | undefined>): string {
  const search = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) if (value !== undefined) search.set(name, String(value));
  const text = search.toString();
  return text ? `?${text}` : '';
}

function hasMetadata(record: { metadata?: GoCardlessMetadata | null }, wanted: GoCardlessMetadata): boolean {
  return Object.entries(wanted).every(([key, value]) => record.metadata?.[key] === value);
}

export function createGoCardlessClient(options: GoCardlessClientOptions): GoCardlessClient {
  const http = createVendorHttp({
    vendor: GOCARDLESS_VENDOR,
    baseUrl: options.baseUrl,
    headers: { authorization: `Bearer ${options.token}`, 'gocardless-version': GOCARDLESS_API_VERSION },
    timeoutMs: options.timeoutMs,
    fetch: options.fetch,
  });
  const get = <T>(path: string) => http.request<T>({ method: 'GET', path });

  /** All pages of one list endpoint, from `after` on. */
  async function listAll<K extends string, T>(resource: K, filters: Record<string, string | undefined>, after?: string, limit?: number): Promise<T[]> {
    const pageSize = limit ?? GOCARDLESS_MAX_PAGE_SIZE;
    const found: T[] = [];
    let cursor = after;
    for (;;) {
      const page = await get<GoCardlessPage<K, T>>(`/${resource}${queryString({ ...filters, after: cursor, limit: pageSize })}`);
      found.push(...(page[resource] ?? []));
      const next = page.meta?.cursors?.after ?? null;
      // A cursor that does not move would loop for ever; GoCardless never sends one, but be safe.
      if (!next || next === cursor) return found;
      cursor = next;
    }
  }

  return {
    async listCustomers(params = {}) {
      const customers = await listAll<'customers', GoCardlessCustomer>('customers', {});
      const wanted = params.metadata;
      return wanted ? customers.filter((customer) => hasMetadata(customer, wanted)) : customers;
    },
    listPayments: (params = {}) => listAll<'payments', GoCardlessPayment>('payments', { customer: params.customer, mandate: params.mandate }, params.after, params.limit),
    getPayment: async (id) => (await get<{ payments: GoCardlessPayment }>(`/payments/${encodeURIComponent(id)}`)).payments,
    listMandates: (params = {}) => listAll<'mandates', GoCardlessMandate>('mandates', { customer: params.customer }),
    getMandate: async (id) => (await get<{ mandates: GoCardlessMandate }>(`/mandates/${encodeURIComponent(id)}`)).mandates,
  };
}
