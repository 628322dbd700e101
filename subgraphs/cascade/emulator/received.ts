/**
 * What the connectors emulator received, per vendor, for tests and demos to count: every request
 * that reached a vendor route (answered by it, accepted or refused), with whether its
 * credentials or signature were valid and the body as the vendor would have parsed it.
 * Requests answered by an injected fault never reach a route and are not listed (the request
 * counters of /__admin/requests still count them).
 */

export const CONNECTOR_VENDORS = ['webhook', 'slack', 'teams', 'mailchimp', 'twilio', 'jira', 'asana', 'ga4', 'mixpanel'] as const;
export type ConnectorVendor = (typeof CONNECTOR_VENDORS)[number];

export interface ReceivedRequest {
  vendor: ConnectorVendor;
  /** ISO 8601 time of arrival. */
  at: string;
  method: string;
  /** Path without the query string (it may carry secrets: GA4's api_secret). */
  path: string;
  /** The idempotency key the request carried (header or the vendor's own field), if any. */
  idempotencyKey?: string;
  /** The event id the request carried (generic webhook header), if any. */
  eventId?: string;
  /** Whether the credentials / signature were what the vendor accepts. */
  signatureValid: boolean;
  /** An earlier valid request to the same vendor route carried the same idempotency key. */
  duplicate: boolean;
  /** The HTTP status the emulator answered. */
  status: number;
  /** The body as parsed: JSON, a form as an object, or text. */
  body: unknown;
}

export interface ReceivedLog {
  record(entry: Omit<ReceivedRequest, 'at' | 'duplicate'>): void;
  list(vendor?: string): ReceivedRequest[];
  clear(): void;
}

export function createReceivedLog(now: () => number = Date.now): ReceivedLog {
  let entries: ReceivedRequest[] = [];
  return {
    record(entry) {
      const duplicate =
        entry.idempotencyKey !== undefined &&
        entries.some(
          (earlier) =>
            earlier.vendor === entry.vendor && earlier.method === entry.method && earlier.path === entry.path && earlier.signatureValid && earlier.idempotencyKey === entry.idempotencyKey,
        );
      entries.push({ ...entry, at: new Date(now()).toISOString(), duplicate });
    },
    list: (vendor) => (vendor ? entries.filter((entry) => entry.vendor === vendor) : [...entries]),
    clear() {
      entries = [];
    },
  };
}
