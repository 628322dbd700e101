/**
 * HubSpot wire records → the crm schema's CrmContact and Deal. Pure functions: HubSpot sends
 * every property as a string (or null), the schema wants booleans, numbers and dates.
 */
import type { HubSpotContact, HubSpotDeal } from '../../../lib/vendors/hubspot';

export interface CrmContactModel {
  id: string;
  provider: 'HUBSPOT';
  email: string | null;
  firstName: string | null;
  lastName: string | null;
  phone: string | null;
  lifecycleStage: string | null;
  ownerId: string | null;
  marketingConsent: boolean;
  sembleId: string | null;
  updatedAt: string | null;
}

export interface DealModel {
  id: string;
  name: string | null;
  amount: number | null;
  stage: string | null;
  pipeline: string | null;
  closeDate: string | null;
  updatedAt: string | null;
}

/** HubSpot's empty string and null both mean "no value". */
function text(value: string | null | undefined): string | null {
  return value === undefined || value === null || value === '' ? null : value;
}

/** HubSpot booleans are the strings "true"/"false"; anything else (unset) is no consent. */
export function parseHubSpotBoolean(value: string | null | undefined): boolean {
  return value?.trim().toLowerCase() === 'true';
}

/** HubSpot numbers are strings; an empty or non-numeric value is null, not 0 or NaN. */
export function parseHubSpotNumber(value: string | null | undefined): number | null {
  const raw = text(value)?.trim();
  if (!raw) return null;
  const number = Number(raw);
  return Number.isFinite(number) ? number : null;
}

/** HubSpot date properties arrive as a datetime (midnight UTC) or a bare date; the schema's Date is YYYY-MM-DD. */
export function parseHubSpotDate(value: string | null | undefined): string | null {
  const raw = text(value);
  if (!raw) return null;
  if (/^\d{4}-\d{2}-\d{2}/.test(raw)) return raw.slice(0, 10);
  // Some portals send epoch milliseconds.
  const ms = Number(raw);
  return Number.isFinite(ms) ? new Date(ms).toISOString().slice(0, 10) : null;
}

export function toCrmContact(record: HubSpotContact): CrmContactModel {
  const p = record.properties;
  return {
    id: record.id,
    provider: 'HUBSPOT',
    email: text(p.email),
    firstName: text(p.firstname),
    lastName: text(p.lastname),
    phone: text(p.phone),
    lifecycleStage: text(p.lifecyclestage),
    ownerId: text(p.hubspot_owner_id),
    marketingConsent: parseHubSpotBoolean(p.marketing_consent),
    sembleId: text(p.semble_patient_id),
    updatedAt: text(p.lastmodifieddate) ?? text(record.updatedAt),
  };
}

export function toDeal(record: HubSpotDeal): DealModel {
  const p = record.properties;
  return {
    id: record.id,
    name: text(p.dealname),
    amount: parseHubSpotNumber(p.amount),
    stage: text(p.dealstage),
    pipeline: text(p.pipeline),
    closeDate: parseHubSpotDate(p.closedate),
    updatedAt: text(p.hs_lastmodifieddate) ?? text(record.updatedAt),
  };
}
