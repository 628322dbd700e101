/**
 * The one list of event fields that are protected health information, and the rule for the
 * connectors that must never hold any (analytics): they may receive ids and a fixed set of
 * event attributes only, checked when the configuration is read rather than when data flows.
 */
import { ConfigError } from '../../../../lib/config';

/** Field names that identify or describe a patient as a person. Compared case-insensitively. */
export const PHI_FIELDS = [
  'firstName',
  'lastName',
  'fullName',
  'name',
  'title',
  'email',
  'phone',
  'phones',
  'mobile',
  'dateOfBirth',
  'dob',
  'address',
  'line',
  'city',
  'postcode',
  'country',
  'nhsNumber',
  'notes',
  'comments',
] as const;

/**
 * Event attributes an analytics connector may receive besides ids: categories and amounts that
 * say what happened, never who it happened to.
 */
export const ANALYTICS_ATTRIBUTES = [
  'status',
  'previousStatus',
  'appointmentType',
  'provider',
  'providerStatus',
  'currency',
  'amountMinor',
  'total',
  'outstanding',
  'source',
  'route',
  'score',
  'reason',
  'field',
] as const;

const phiLower = new Set(PHI_FIELDS.map((field) => field.toLowerCase()));
const attributeSet = new Set<string>(ANALYTICS_ATTRIBUTES);

/** Whether `field` is one of PHI_FIELDS (any letter case). */
export function isPhiField(field: string): boolean {
  return phiLower.has(field.toLowerCase());
}

/** An id: `id` or a camelCase name ending in `Id` (`patientId`, `bookingId`). */
export function isIdField(field: string): boolean {
  return field === 'id' || /^[a-z][A-Za-z0-9]*Id$/.test(field);
}

/**
 * The fields an analytics connector was configured with that it may not receive: PHI, and
 * anything that is neither an id nor one of ANALYTICS_ATTRIBUTES. Empty when all are allowed.
 */
export function fieldsRefusedForAnalytics(fields: readonly string[]): string[] {
  return fields.filter((field) => isPhiField(field) || !(isIdField(field) || attributeSet.has(field)));
}

/** Throws a ConfigError naming the fields an analytics connector entry may not receive. */
export function assertAnalyticsFields(name: string, fields: readonly string[]): void {
  const refused = fieldsRefusedForAnalytics(fields);
  if (refused.length === 0) return;
  throw new ConfigError([
    `connectors.${name}.fields: expected ids (id, patientId, …) and event attributes (${ANALYTICS_ATTRIBUTES.join(', ')}) only, as analytics must hold no PHI; found ${refused.map((f) => JSON.stringify(f)).join(', ')}`,
  ]);
}
