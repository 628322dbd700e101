/**
 * The typed HubSpot CRM v3 client: contacts and deals, in HubSpot's own field names. Every call
 * goes through createVendorHttp (timeouts, 429/5xx retries honouring Retry-After, VendorError).
 * Batch reads are split into HubSpot's 100-input maximum here, so no caller can exceed it.
 */
import { createVendorHttp } from '../vendor-http';
import type { VendorHttp } from '../vendor-http';
import { VendorError } from '../vendor-error';

/** HubSpot's maximum number of inputs per batch call. */
export const HUBSPOT_BATCH_LIMIT = 100;
/** HubSpot's maximum page size for search. */
export const HUBSPOT_SEARCH_LIMIT = 200;
/** HubSpot's maximum number of values in one IN filter. */
export const HUBSPOT_IN_VALUES_LIMIT = 100;

export type ContactProperty =
  | 'email'
  | 'firstname'
  | 'lastname'
  | 'phone'
  | 'lifecyclestage'
  | 'hubspot_owner_id'
  | 'lastmodifieddate'
  | 'createdate'
  | 'hs_object_id'
  | 'semble_patient_id'
  | 'marketing_consent'
  /** Standard address properties (street, city, postcode, country). */
  | 'address'
  | 'city'
  | 'zip'
  | 'country'
  /** Custom property the sync engine keeps the patient's date of birth in (YYYY-MM-DD). */
  | 'date_of_birth';

export type DealProperty =
  | 'dealname'
  | 'amount'
  | 'dealstage'
  | 'pipeline'
  | 'closedate'
  | 'createdate'
  | 'hs_lastmodifieddate'
  | 'hs_object_id'
  | 'semble_patient_id';

/**
 * One past value of a property, as `propertiesWithHistory` returns it (newest first). `sourceType`
 * says who set it: e.g. CRM_UI (a person in HubSpot), INTEGRATION (an app such as this one), IMPORT.
 */
export interface HubSpotPropertyHistoryEntry {
  value: string;
  /** ISO 8601. */
  timestamp: string;
  sourceType: string;
  sourceId?: string;
  updatedByUserId?: number;
}

/** A CRM object as HubSpot returns it; every property value is a string (or null when empty). */
export interface HubSpotObject<P extends string> {
  id: string;
  properties: { [K in P]?: string | null };
  /** Only when asked for with `propertiesWithHistory`: each named property's changes, newest first. */
  propertiesWithHistory?: { [K in P]?: HubSpotPropertyHistoryEntry[] };
  createdAt: string;
  updatedAt: string;
  archived: boolean;
}

export type HubSpotContact = HubSpotObject<ContactProperty>;
export type HubSpotDeal = HubSpotObject<DealProperty>;

export interface HubSpotBatchError {
  status: string;
  category: string;
  message: string;
  context?: { ids?: string[] };
}

export interface HubSpotBatchResponse<T> {
  status: 'COMPLETE' | 'PENDING' | 'PROCESSING' | 'CANCELED';
  results: T[];
  numErrors?: number;
  errors?: HubSpotBatchError[];
  startedAt: string;
  completedAt: string;
}

export type HubSpotFilter<P extends string> =
  | { propertyName: P; operator: 'EQ' | 'NEQ'; value: string }
  | { propertyName: P; operator: 'IN'; values: string[] }
  | { propertyName: P; operator: 'HAS_PROPERTY' | 'NOT_HAS_PROPERTY' }
  /** Numbers, and datetimes as epoch milliseconds (e.g. lastmodifieddate GTE a checkpoint). */
  | { propertyName: P; operator: 'GT' | 'GTE' | 'LT' | 'LTE'; value: string }
  | { propertyName: P; operator: 'BETWEEN'; value: string; highValue: string };

export interface HubSpotFilterGroup<P extends string> {
  filters: Array<HubSpotFilter<P>>;
}

export interface HubSpotSort<P extends string> {
  propertyName: P;
  direction: 'ASCENDING' | 'DESCENDING';
}

export interface HubSpotSearchRequest<P extends string> {
  filterGroups: Array<HubSpotFilterGroup<P>>;
  properties: readonly P[];
  /** 1–200. @default 100 here (HubSpot's own default is 10) */
  limit?: number;
  /** The `paging.next.after` of the previous page. */
  after?: string;
  sorts?: Array<HubSpotSort<P>>;
}

export interface HubSpotSearchResponse<T> {
  total: number;
  results: T[];
  paging?: { next?: { after: string; link?: string } };
}

export interface HubSpotUpsertInput<P extends string> {
  /** The value of `idProperty` that identifies the record. */
  id: string;
  idProperty: P;
  properties: { [K in P]?: string | null };
}

export interface HubSpotClientOptions {
  /** e.g. https://api.hubapi.com or the emulator's URL. */
  baseUrl: string;
  /** Private-app token. */
  token: string;
  /** Per-attempt timeout. @default 10000 */
  timeoutMs?: number;
  /** Retries of 429/5xx after the first attempt. @default 2 */
  maxRetries?: number;
  fetch?: typeof fetch;
}

export interface HubSpotReadOptions<P extends string> {
  /** Properties to return with their change history (`propertiesWithHistory`), e.g. for per-property change times. */
  propertiesWithHistory?: readonly P[];
}

export interface HubSpotWriteOptions {
  /**
   * Whether a 429/503 is retried after the wait HubSpot asks for (VendorRequest.retryThrottled).
   * false when the values were planned on an earlier read, which the wait may make stale: the
   * call then fails with the VendorError and the caller re-reads before writing again.
   * @default true
   */
  retryThrottled?: boolean;
}

export interface HubSpotClient {
  /** Contacts by id (or by a unique `idProperty`); misses are simply absent. Any number of ids: chunked into ≤ 100 per call. */
  batchReadContacts(
    ids: readonly string[],
    properties: readonly ContactProperty[],
    idProperty?: ContactProperty,
    options?: HubSpotReadOptions<ContactProperty>,
  ): Promise<HubSpotContact[]>;
  /** One page of a contact search. */
  searchContacts(request: HubSpotSearchRequest<ContactProperty>): Promise<HubSpotSearchResponse<HubSpotContact>>;
  /** One contact, or null when HubSpot has no such record. */
  getContact(id: string, properties: readonly ContactProperty[], idProperty?: ContactProperty): Promise<HubSpotContact | null>;
  /** Creates or updates contacts by a unique property (e.g. semble_patient_id); ≤ 100 per call, chunked. */
  upsertContacts(inputs: ReadonlyArray<HubSpotUpsertInput<ContactProperty>>, options?: HubSpotWriteOptions): Promise<HubSpotContact[]>;
  /** Deals by id; misses are absent. Chunked into ≤ 100 per call. */
  batchReadDeals(ids: readonly string[], properties: readonly DealProperty[], idProperty?: DealProperty): Promise<HubSpotDeal[]>;
  /** One page of a deal search. */
  searchDeals(request: HubSpotSearchRequest<DealProperty>): Promise<HubSpotSearchResponse<HubSpotDeal>>;
}

function chunk<T>(items: readonly T[], size: number): T[][] {
  const chunks: T[][] = [];
  for (let i = 0; i < items.length; i += size) chunks.push(items.slice(i, i + size));
  return chunks;
}

export function createHubSpotClient(options: HubSpotClientOptions): HubSpotClient {
  const http: VendorHttp = createVendorHttp({
    vendor: 'hubspot',
    baseUrl: options.baseUrl,
    headers: { authorization: `Bearer ${options.token}` },
    timeoutMs: options.timeoutMs,
    maxRetries: options.maxRetries,
    fetch: options.fetch,
  });

  async function batchRead<T>(
    type: 'contacts' | 'deals',
    ids: readonly string[],
    properties: readonly string[],
    idProperty?: string,
    options: HubSpotReadOptions<string> = {},
  ): Promise<T[]> {
    const history = options.propertiesWithHistory && options.propertiesWithHistory.length > 0 ? { propertiesWithHistory: options.propertiesWithHistory } : {};
    const unique = [...new Set(ids)];
    // Chunks go out together: the rate limiter, not us, decides when to slow down.
    const pages = await Promise.all(
      chunk(unique, HUBSPOT_BATCH_LIMIT).map((inputs) =>
        // A batch read is a POST but changes nothing, so retrying it is safe.
        http.request<HubSpotBatchResponse<T>>({
          method: 'POST',
          path: `/crm/v3/objects/${type}/batch/read`,
          body: { inputs: inputs.map((id) => ({ id })), properties, ...history, ...(idProperty ? { idProperty } : {}) },
          retryable: true,
        }),
      ),
    );
    return pages.flatMap((page) => page.results);
  }

  function search<T>(type: 'contacts' | 'deals', request: HubSpotSearchRequest<string>): Promise<HubSpotSearchResponse<T>> {
    return http.request<HubSpotSearchResponse<T>>({
      method: 'POST',
      path: `/crm/v3/objects/${type}/search`,
      body: {
        filterGroups: request.filterGroups,
        properties: request.properties,
        limit: request.limit ?? 100,
        ...(request.after !== undefined ? { after: request.after } : {}),
        ...(request.sorts ? { sorts: request.sorts } : {}),
      },
      retryable: true,
    });
  }

  return {
    batchReadContacts: (ids, properties, idProperty, options) => batchRead<HubSpotContact>('contacts', ids, properties, idProperty, options),
    batchReadDeals: (ids, properties, idProperty) => batchRead<HubSpotDeal>('deals', ids, properties, idProperty),
    searchContacts: (request) => search<HubSpotContact>('contacts', request),
    searchDeals: (request) => search<HubSpotDeal>('deals', request),

    async getContact(id, properties, idProperty) {
      const query = new URLSearchParams({ properties: properties.join(',') });
      if (idProperty) query.set('idProperty', idProperty);
      try {
        return await http.request<HubSpotContact>({ path: `/crm/v3/objects/contacts/${encodeURIComponent(id)}?${query}` });
      } catch (error) {
        if (error instanceof VendorError && error.status === 404) return null;
        throw error;
      }
    },

    async upsertContacts(inputs, writeOptions = {}) {
      const pages = await Promise.all(
        chunk(inputs, HUBSPOT_BATCH_LIMIT).map((batch) =>
          // Upsert by a unique property converges to the same state when repeated: safe to retry.
          http.request<HubSpotBatchResponse<HubSpotContact>>({
            method: 'POST',
            path: '/crm/v3/objects/contacts/batch/upsert',
            body: { inputs: batch },
            retryable: true,
            ...(writeOptions.retryThrottled === false ? { retryThrottled: false } : {}),
          }),
        ),
      );
      return pages.flatMap((page) => page.results);
    },
  };
}
