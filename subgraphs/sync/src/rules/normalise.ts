/**
 * Normalisation of field values before they are compared, stored in the shadow copy or
 * written: two spellings of the same value must not look like a change, or every sync would
 * "detect" edits nobody made (a case-only email difference, a phone with or without spaces,
 * a date of birth sent as a datetime). Phones and NHS numbers go through the same helpers the
 * semble subgraph's data-quality scorer uses, so "valid" means the same thing everywhere.
 */
import { normaliseNhsNumber, toE164 } from '../../../../lib/data-quality';
import type { FieldValue, PatientAddress, SyncField } from './types';

/** How a field's values are normalised; intrinsic to the field, so not part of the ownership configuration. */
export type FieldKind = 'text' | 'email' | 'phone' | 'date' | 'nhsNumber' | 'boolean' | 'address';

export const FIELD_KINDS: Readonly<Record<SyncField, FieldKind>> = {
  firstName: 'text',
  lastName: 'text',
  email: 'email',
  phone: 'phone',
  dateOfBirth: 'date',
  address: 'address',
  nhsNumber: 'nhsNumber',
  lifecycleStage: 'text',
  ownerId: 'text',
  marketingConsent: 'boolean',
};

/** Trimmed, or null when empty: vendors send "" and null interchangeably for "no value". */
function text(value: unknown): string | null {
  if (typeof value !== 'string') return null;
  const trimmed = value.trim();
  return trimmed === '' ? null : trimmed;
}

/** Trim and lower-case, as domain.md says for matching; no provider-specific rules (dots, plus-addressing). */
export function normaliseEmail(value: unknown): string | null {
  return text(value)?.toLowerCase() ?? null;
}

/**
 * E.164 (GB default region) when the number validates. An invalid number is kept as typed
 * (trimmed): rewriting it would hide from the reviewer what was actually entered.
 */
export function normalisePhone(value: unknown): string | null {
  const raw = text(value);
  return raw === null ? null : (toE164(raw) ?? raw);
}

/** YYYY-MM-DD; a datetime is cut to its date (HubSpot sends dates as midnight UTC). Anything else is kept as typed. */
export function normaliseDate(value: unknown): string | null {
  const raw = text(value);
  if (raw === null) return null;
  return /^\d{4}-\d{2}-\d{2}(?:T|$)/.test(raw) ? raw.slice(0, 10) : raw;
}

/** A real calendar date written YYYY-MM-DD (rejects 2023-02-29, 2024-13-01). */
export function isCalendarDate(value: string): boolean {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value);
  if (!match) return false;
  const [year, month, day] = [Number(match[1]), Number(match[2]), Number(match[3])];
  const date = new Date(Date.UTC(year, month - 1, day));
  return date.getUTCFullYear() === year && date.getUTCMonth() === month - 1 && date.getUTCDate() === day;
}

function normaliseAddress(value: unknown): PatientAddress | null {
  if (value === null || typeof value !== 'object') return null;
  const address = value as Partial<Record<keyof PatientAddress, unknown>>;
  // Postcodes are compared without case or spacing differences ("sw1a1aa" is "SW1A 1AA").
  const postcode = text(address.postcode)?.toUpperCase().replace(/\s+/g, ' ') ?? null;
  const normalised: PatientAddress = {
    line: text(address.line),
    city: text(address.city),
    postcode,
    country: text(address.country),
  };
  return Object.values(normalised).every((part) => part === null) ? null : normalised;
}

/** The canonical form of a field's value; `undefined` (a side that does not hold the field) is null. */
export function normaliseFieldValue(field: SyncField, value: unknown): FieldValue {
  switch (FIELD_KINDS[field]) {
    case 'text':
      return text(value);
    case 'email':
      return normaliseEmail(value);
    case 'phone':
      return normalisePhone(value);
    case 'date':
      return normaliseDate(value);
    case 'nhsNumber': {
      const raw = text(value);
      return raw === null ? null : (normaliseNhsNumber(raw) ?? raw);
    }
    case 'boolean':
      return typeof value === 'boolean' ? value : null;
    case 'address':
      return normaliseAddress(value);
  }
}

/** Equality of two already-normalised values. */
export function sameFieldValue(a: FieldValue, b: FieldValue): boolean {
  if (a === null || b === null || typeof a !== 'object' || typeof b !== 'object') return a === b;
  return a.line === b.line && a.city === b.city && a.postcode === b.postcode && a.country === b.country;
}
