/**
 * The typed Stripe client: Stripe's wire records (Stripe's field names), the read endpoints the
 * payments subgraph uses, and the search helper that turns many Semble ids into a bounded
 * number of search requests (OR-groups of at most `maxSearchClauses`, following `next_page`).
 * All HTTP goes through createVendorHttp, so timeouts, retries and error mapping are shared.
 */
import { createVendorHttp } from '../vendor-http';
import { mapWithConcurrency } from '../concurrency';

/** Stripe metadata: string values only. */
export type StripeMetadata = Record<string, string>;

export interface StripeCustomer {
  id: string;
  object: 'customer';
  email: string | null;
  name: string | null;
  phone: string | null;
  metadata: StripeMetadata;
  created: number;
  livemode: boolean;
}

export type StripePaymentIntentStatus =
  | 'requires_payment_method'
  | 'requires_confirmation'
  | 'requires_action'
  | 'processing'
  | 'requires_capture'
  | 'canceled'
  | 'succeeded';

/** Why the last payment attempt failed (Stripe's `last_payment_error`, a subset of its fields). */
export interface StripePaymentError {
  /** e.g. card_error, api_error, invalid_request_error */
  type: string;
  /** e.g. card_declined */
  code?: string;
  decline_code?: string;
  message?: string;
}

export interface StripePaymentIntent {
  id: string;
  object: 'payment_intent';
  /** Minor units. */
  amount: number;
  /** ISO 4217, lower case. */
  currency: string;
  status: StripePaymentIntentStatus;
  /**
   * Set when the last attempt failed: Stripe then moves the intent back to
   * requires_payment_method. Null otherwise, and cleared when the intent next changes.
   */
  last_payment_error: StripePaymentError | null;
  /** Unix seconds; set once canceled. */
  canceled_at?: number | null;
  customer: string | null;
  /** Unix seconds. */
  created: number;
  metadata: StripeMetadata;
  livemode: boolean;
}

export interface StripePrice {
  id: string;
  object: 'price';
  unit_amount: number | null;
  currency: string;
  recurring: { interval: 'day' | 'week' | 'month' | 'year'; interval_count?: number } | null;
  nickname: string | null;
}

export interface StripeSubscriptionItem {
  id: string;
  object: 'subscription_item';
  price: StripePrice;
  quantity?: number;
  /** Newer API versions keep the period on the item rather than the subscription. */
  current_period_end?: number;
}

export interface StripeSubscription {
  id: string;
  object: 'subscription';
  status: string;
  customer: string;
  created: number;
  /** Unix seconds; absent on newer API versions (see the item). */
  current_period_end?: number | null;
  items: StripeList<StripeSubscriptionItem>;
  metadata: StripeMetadata;
  livemode: boolean;
}

export interface StripeList<T> {
  object: 'list';
  url: string;
  data: T[];
  has_more: boolean;
}

export interface StripeSearchResult<T> {
  object: 'search_result';
  url: string;
  data: T[];
  has_more: boolean;
  next_page: string | null;
}

/** Resources with a search endpoint. */
export type StripeSearchResource = 'customers' | 'payment_intents' | 'subscriptions';

export interface StripeClientOptions {
  /** e.g. https://api.stripe.com or the emulator's URL. */
  baseUrl: string;
  /** Secret key, `sk_…`, sent as a Bearer token. */
  token: string;
  /** Per-attempt timeout. @default 10000 */
  timeoutMs?: number;
  /** Clauses per search query; Stripe allows 10. @default 10 */
  maxSearchClauses?: number;
  /** Search requests in flight at once for one `searchByMetadata` call. @default 4 */
  searchConcurrency?: number;
  fetch?: typeof fetch;
}

export interface StripeClient {
  readonly maxSearchClauses: number;
  retrieveCustomer(id: string): Promise<StripeCustomer>;
  retrievePaymentIntent(id: string): Promise<StripePaymentIntent>;
  retrieveSubscription(id: string): Promise<StripeSubscription>;
  listPaymentIntents(params: { customer?: string; limit?: number; startingAfter?: string }): Promise<StripeList<StripePaymentIntent>>;
  listSubscriptions(params: { customer?: string; status?: string; limit?: number; startingAfter?: string }): Promise<StripeList<StripeSubscription>>;
  search<R extends StripeSearchResource>(resource: R, query: string, params?: { limit?: number; page?: string }): Promise<StripeSearchResult<ResourceRecord[R]>>;
  /** Every page of one search, following `next_page` with pages of 100. */
  searchAll<R extends StripeSearchResource>(resource: R, query: string): Promise<Array<ResourceRecord[R]>>;
  /**
   * The records whose metadata[key] equals each of `values`, by value, in
   * ⌈unique values / maxSearchClauses⌉ OR-queries (plus extra pages). A failed query puts its
   * Error in the slot of each value it covered, so one failure does not fail every value.
   */
  searchByMetadata<R extends StripeSearchResource>(
    resource: R,
    key: string,
    values: readonly string[],
  ): Promise<Map<string, Array<ResourceRecord[R]> | Error>>;
}

export interface ResourceRecord {
  customers: StripeCustomer;
  payment_intents: StripePaymentIntent;
  subscriptions: StripeSubscription;
}

/** A value inside single quotes in Stripe's query language: backslash-escape quotes and backslashes. */
export function quoteSearchValue(value: string): string {
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

/** `metadata['key']:'v1' OR metadata['key']:'v2' …` */
export function metadataOrQuery(key: string, values: readonly string[]): string {
  return values.map((value) => `metadata[${quoteSearchValue(key)}]:${quoteSearchValue(value)}`).join(' OR ');
}

function queryString(params: Record<string, string | number | undefined>): string {
  const search = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) if (value !== undefined) search.set(name, String(value));
  const text = search.toString();
  return text ? `?${text}` : '';
}

export function createStripeClient(options: StripeClientOptions): StripeClient {
  const maxSearchClauses = options.maxSearchClauses ?? 10;
  const searchConcurrency = options.searchConcurrency ?? 4;
  if (!Number.isInteger(maxSearchClauses) || maxSearchClauses < 1) {
    throw new Error(`maxSearchClauses: expected an integer >= 1, got ${String(maxSearchClauses)}`);
  }
  const http = createVendorHttp({
    vendor: 'stripe',
    baseUrl: options.baseUrl,
    headers: { authorization: `Bearer ${options.token}` },
    timeoutMs: options.timeoutMs,
    fetch: options.fetch,
  });
  const get = <T>(path: string) => http.request<T>({ method: 'GET', path });

  const search = <R extends StripeSearchResource>(resource: R, query: string, params: { limit?: number; page?: string } = {}) =>
    get<StripeSearchResult<ResourceRecord[R]>>(`/v1/${resource}/search${queryString({ query, limit: params.limit, page: params.page })}`);

  const searchAll = async <R extends StripeSearchResource>(resource: R, query: string) => {
    const found: Array<ResourceRecord[R]> = [];
    let page: string | undefined;
    for (;;) {
      const result = await search(resource, query, { limit: 100, page });
      found.push(...result.data);
      if (!result.has_more || !result.next_page) return found;
      page = result.next_page;
    }
  };

  return {
    maxSearchClauses,
    retrieveCustomer: (id) => get<StripeCustomer>(`/v1/customers/${encodeURIComponent(id)}`),
    retrievePaymentIntent: (id) => get<StripePaymentIntent>(`/v1/payment_intents/${encodeURIComponent(id)}`),
    retrieveSubscription: (id) => get<StripeSubscription>(`/v1/subscriptions/${encodeURIComponent(id)}`),
    listPaymentIntents: (params) =>
      get(`/v1/payment_intents${queryString({ customer: params.customer, limit: params.limit, starting_after: params.startingAfter })}`),
    listSubscriptions: (params) =>
      get(
        `/v1/subscriptions${queryString({ customer: params.customer, status: params.status, limit: params.limit, starting_after: params.startingAfter })}`,
      ),
    search,
    searchAll,
    async searchByMetadata(resource, key, values) {
      const unique = [...new Set(values)];
      const groups: string[][] = [];
      for (let i = 0; i < unique.length; i += maxSearchClauses) groups.push(unique.slice(i, i + maxSearchClauses));
      const byValue = new Map<string, Array<ResourceRecord[typeof resource]> | Error>();
      await mapWithConcurrency(groups, searchConcurrency, async (group) => {
        try {
          const records = await searchAll(resource, metadataOrQuery(key, group));
          for (const value of group) byValue.set(value, []);
          for (const record of records) {
            const slot = byValue.get(record.metadata[key] ?? '');
            if (Array.isArray(slot)) slot.push(record);
          }
        } catch (error) {
          for (const value of group) byValue.set(value, error as Error);
        }
      });
      return byValue;
    },
  };
}
