/**
 * A person's decision on a conflict (a critical field changed on both sides) turned into
 * what to write: the one value both systems get, validated with the data-quality helpers,
 * and the shadow entry that records it as agreed. Pure: the caller writes and stores.
 */
import { isValidEmail, isValidNhsNumber, toE164 } from '../../../../lib/data-quality';
import { FIELD_KINDS, isCalendarDate, normaliseDate, normaliseEmail, normaliseFieldValue, sameFieldValue } from './normalise';
import type { FieldKind } from './normalise';
import type { FieldValues } from './plan';
import { isSyncField } from './types';
import type { ShadowCopy, SyncField } from './types';

/**
 * How a conflict ended. A person picks KEEP_SEMBLE, KEEP_CRM or CUSTOM (CONFLICT_RESOLUTIONS);
 * SOURCES_AGREE is recorded by the sync engine when both systems came to hold the same value.
 */
export type ConflictResolution = 'KEEP_SEMBLE' | 'KEEP_CRM' | 'CUSTOM' | 'SOURCES_AGREE';
export const CONFLICT_RESOLUTIONS: readonly ConflictResolution[] = ['KEEP_SEMBLE', 'KEEP_CRM', 'CUSTOM'];
/** `resolvedBy` of a conflict the sources settled themselves. */
export const SETTLED_BY_SYNC = 'sync';

export interface ConflictValues {
  /** A string because it comes back from storage or the API; checked against the known fields. */
  field: string;
  sembleValue: string | null;
  crmValue: string | null;
}

export interface PlanConflictResolutionInput {
  conflict: ConflictValues;
  resolution: ConflictResolution;
  /** Required with CUSTOM, refused otherwise (a value sent with KEEP_* is a client mistake, not a hint). */
  value?: string | null;
  /** ISO 8601; when given, a date of birth after this day is refused. */
  now?: string;
}

export interface ShadowEntry {
  field: SyncField;
  value: string | null;
}

export interface ConflictResolutionPlan {
  field: SyncField;
  /** The normalised value both systems hold once the writes are made; null clears the field. */
  value: string | null;
  /**
   * The writes needed to get there: a side that already holds the value (by normalised
   * comparison) is not written, so keeping Semble's phone does not reformat what staff typed.
   */
  writes: { semble: FieldValues; crm: FieldValues };
  /** To store in the shadow copy once the writes succeeded (see applyShadowEntry). */
  shadowEntry: ShadowEntry;
}

export type ConflictResolutionErrorCode =
  | 'UNKNOWN_FIELD'
  | 'FIELD_NOT_RESOLVABLE'
  | 'UNKNOWN_RESOLUTION'
  | 'VALUE_REQUIRED'
  | 'VALUE_NOT_ALLOWED'
  | 'INVALID_VALUE';

/** Names the field and what was expected; never the value (it is patient data). */
export class ConflictResolutionError extends Error {
  override readonly name = 'ConflictResolutionError';
  constructor(
    readonly code: ConflictResolutionErrorCode,
    readonly field: string,
    readonly expected: string,
    got: string,
  ) {
    super(`${field}: expected ${expected}, got ${got}`);
  }
}

/** What a valid value of each resolvable kind looks like, worded for the person who resolves. */
const EXPECTED: Readonly<Record<Exclude<FieldKind, 'boolean' | 'address'>, string>> = {
  email: 'a valid email address',
  phone: 'a valid phone number (national GB numbers or +country code)',
  date: 'a date of birth as YYYY-MM-DD, a real date not in the future',
  nhsNumber: 'a 10-digit NHS number with a valid check digit',
  text: 'a non-empty value',
};

type ResolvableKind = keyof typeof EXPECTED;

function isResolvable(kind: FieldKind): kind is ResolvableKind {
  return kind !== 'boolean' && kind !== 'address';
}

/** The value in its normalised form, or null when it is not valid for the kind. */
function validated(kind: ResolvableKind, field: SyncField, raw: string, now: string | undefined): string | null {
  switch (kind) {
    case 'email': {
      const email = normaliseEmail(raw);
      return email !== null && isValidEmail(email) ? email : null;
    }
    case 'phone':
      // Not normalisePhone: it keeps an invalid number as typed, and here only a valid one will do.
      return toE164(raw.trim());
    case 'date': {
      const date = normaliseDate(raw);
      if (date === null || !isCalendarDate(date)) return null;
      if (now !== undefined && !Number.isNaN(Date.parse(now)) && date > new Date(now).toISOString().slice(0, 10)) return null;
      return date;
    }
    case 'nhsNumber': {
      const nhs = normaliseFieldValue(field, raw);
      return typeof nhs === 'string' && isValidNhsNumber(nhs) ? nhs : null;
    }
    case 'text': {
      const text = raw.trim();
      return text === '' ? null : text;
    }
  }
}

/**
 * @throws ConflictResolutionError — UNKNOWN_FIELD / FIELD_NOT_RESOLVABLE for a field that
 * cannot be resolved this way, UNKNOWN_RESOLUTION, VALUE_REQUIRED (CUSTOM without a value),
 * VALUE_NOT_ALLOWED (a value with KEEP_*), INVALID_VALUE (the chosen value — custom or kept —
 * does not validate: a resolution must not spread bad data to both systems; pick CUSTOM).
 * Keeping a side that has no value is allowed: it clears the field on both sides.
 */
export function planConflictResolution(input: PlanConflictResolutionInput): ConflictResolutionPlan {
  const { conflict, resolution, now } = input;
  const field = conflict.field;
  if (!isSyncField(field)) throw new ConflictResolutionError('UNKNOWN_FIELD', 'field', 'a synced patient field', 'an unknown field name');
  const kind = FIELD_KINDS[field];
  if (!isResolvable(kind)) throw new ConflictResolutionError('FIELD_NOT_RESOLVABLE', field, 'a text-valued field', `a ${kind} field`);
  if (!CONFLICT_RESOLUTIONS.includes(resolution)) {
    throw new ConflictResolutionError('UNKNOWN_RESOLUTION', field, `a resolution of ${CONFLICT_RESOLUTIONS.join(', ')}`, JSON.stringify(resolution));
  }
  const given = input.value ?? null;

  let chosen: string | null;
  let source: string;
  if (resolution === 'CUSTOM') {
    if (given === null || given.trim() === '') throw new ConflictResolutionError('VALUE_REQUIRED', field, `${EXPECTED[kind]} with CUSTOM`, 'none');
    chosen = given;
    source = 'the custom value';
  } else {
    if (given !== null) throw new ConflictResolutionError('VALUE_NOT_ALLOWED', field, `no value with ${resolution} (only CUSTOM takes one)`, 'a value');
    chosen = resolution === 'KEEP_SEMBLE' ? conflict.sembleValue : conflict.crmValue;
    source = resolution === 'KEEP_SEMBLE' ? "Semble's value" : "the CRM's value";
  }

  let value: string | null = null;
  if (chosen !== null && chosen.trim() !== '') {
    value = validated(kind, field, chosen, now);
    if (value === null) throw new ConflictResolutionError('INVALID_VALUE', field, EXPECTED[kind], `an invalid value (${source})`);
  }

  const writes: ConflictResolutionPlan['writes'] = { semble: {}, crm: {} };
  if (!sameFieldValue(normaliseFieldValue(field, conflict.sembleValue), value)) writes.semble[field] = value;
  if (!sameFieldValue(normaliseFieldValue(field, conflict.crmValue), value)) writes.crm[field] = value;
  return { field, value, writes, shadowEntry: { field, value } };
}

/** The shadow copy with a resolved field recorded as agreed at `now`. */
export function applyShadowEntry(shadow: ShadowCopy | null, patientId: string, entry: ShadowEntry, now: string): ShadowCopy {
  return { patientId, syncedAt: now, values: { ...(shadow?.values ?? {}), [entry.field]: entry.value } };
}
