/**
 * The vendor clients the sync engine talks through: the shared typed clients from lib/vendors,
 * plus the one Semble write the engine needs, `updatePatient`, which lib/vendors/semble.ts does
 * not have yet (it belongs there; it lives here only because this service's brief stops at its
 * own folder). Writes are never retried by the HTTP layer: Semble takes no idempotency key.
 */
import { createVendorHttp } from '../../../lib/vendor-http';
import { VendorError, VendorErrorCode } from '../../../lib/vendor-error';
import { createGoCardlessClient } from '../../../lib/vendors/gocardless';
import type { GoCardlessClient } from '../../../lib/vendors/gocardless';
import { createGoogleCalendarClient } from '../../../lib/vendors/google-calendar';
import type { GoogleCalendarClient } from '../../../lib/vendors/google-calendar';
import { createHubSpotClient } from '../../../lib/vendors/hubspot';
import type { HubSpotClient } from '../../../lib/vendors/hubspot';
import { createSembleClient, graphqlLiteral, PATIENT_FIELDS, VENDOR as SEMBLE_VENDOR } from '../../../lib/vendors/semble';
import type { SembleClient, SembleClientOptions, SemblePatient } from '../../../lib/vendors/semble';
import { createStripeClient } from '../../../lib/vendors/stripe';
import type { StripeClient } from '../../../lib/vendors/stripe';

/**
 * Semble's `patientData` input of updatePatient. Absent keys stay as they are; null clears.
 * `phone` is an emulator extension whose real-API equivalent is unverified.
 */
export interface SemblePatientData {
  first?: string;
  last?: string;
  email?: string | null;
  dob?: string | null;
  phone?: string;
  address?: string | null;
  city?: string | null;
  postcode?: string | null;
  country?: string | null;
}

/** Semble refused a write (its payload `error`): a data problem, so retrying will not help. */
export class SembleWriteRefusedError extends Error {
  override readonly name = 'SembleWriteRefusedError';
  constructor() {
    // Semble's own message is not kept: it may echo a value.
    super('semble: refused the patient update');
  }
}

export interface SembleSyncClient extends SembleClient {
  /** @throws SembleWriteRefusedError when Semble answers with an error payload (e.g. patient not found). */
  updatePatient(id: string, data: SemblePatientData): Promise<SemblePatient>;
}

export function createSembleSyncClient(options: SembleClientOptions): SembleSyncClient {
  const http = createVendorHttp({
    vendor: SEMBLE_VENDOR,
    baseUrl: options.baseUrl,
    headers: { 'x-token': options.token },
    timeoutMs: options.timeoutMs,
    fetch: options.fetch,
  });
  return {
    ...createSembleClient(options),
    async updatePatient(id, data) {
      const query = `mutation {\n  updatePatient(id: ${graphqlLiteral(id)}, patientData: ${graphqlLiteral(data)}) { data { ${PATIENT_FIELDS} } error }\n}`;
      const answer = await http.request<{ data?: { updatePatient?: { data: SemblePatient | null; error: string | null } | null } | null; errors?: unknown[] }>({
        method: 'POST',
        path: '/graphql',
        body: { query },
        retryable: false,
      });
      if (answer?.errors?.length) throw new VendorError(SEMBLE_VENDOR, VendorErrorCode.BadResponse, 'answered updatePatient with a GraphQL error');
      const payload = answer?.data?.updatePatient;
      if (!payload) throw new VendorError(SEMBLE_VENDOR, VendorErrorCode.BadResponse, 'answered updatePatient without a payload');
      if (payload.error !== null || !payload.data) throw new SembleWriteRefusedError();
      return payload.data;
    },
  };
}

export interface SyncClients {
  semble: SembleSyncClient;
  hubspot: HubSpotClient;
  google: GoogleCalendarClient;
  stripe: StripeClient;
  goCardless: GoCardlessClient;
}

export interface SyncClientsConfig {
  sembleBaseUrl: string;
  sembleToken: string;
  hubspotBaseUrl: string;
  hubspotToken: string;
  googleCalendarBaseUrl: string;
  googleCalendarToken: string;
  googleCalendarId: string;
  stripeBaseUrl: string;
  stripeSecretKey: string;
  goCardlessBaseUrl: string;
  goCardlessAccessToken: string;
  /** Per-attempt timeout of every vendor call. */
  vendorTimeoutMs: number;
}

export function createSyncClients(config: SyncClientsConfig): SyncClients {
  const timeoutMs = config.vendorTimeoutMs;
  return {
    semble: createSembleSyncClient({ baseUrl: config.sembleBaseUrl, token: config.sembleToken, timeoutMs }),
    hubspot: createHubSpotClient({ baseUrl: config.hubspotBaseUrl, token: config.hubspotToken, timeoutMs }),
    google: createGoogleCalendarClient({ baseUrl: config.googleCalendarBaseUrl, token: config.googleCalendarToken, calendarId: config.googleCalendarId, timeoutMs }),
    stripe: createStripeClient({ baseUrl: config.stripeBaseUrl, token: config.stripeSecretKey, timeoutMs }),
    goCardless: createGoCardlessClient({ baseUrl: config.goCardlessBaseUrl, token: config.goCardlessAccessToken, timeoutMs }),
  };
}
