/**
 * The vendor-neutral patient record the sync rules reason about, and the shadow copy that
 * makes "changed since the last sync" decidable. Adapters (a later step) map Semble patients
 * and HubSpot contacts into these shapes; nothing here knows a vendor's wire format.
 */

/** Every field the engine knows about, in the order plans list their decisions. */
export const SYNC_FIELDS = [
  'firstName',
  'lastName',
  'email',
  'phone',
  'dateOfBirth',
  'address',
  'nhsNumber',
  'lifecycleStage',
  'ownerId',
  'marketingConsent',
] as const;

export type SyncField = (typeof SYNC_FIELDS)[number];

export function isSyncField(value: unknown): value is SyncField {
  return typeof value === 'string' && (SYNC_FIELDS as readonly string[]).includes(value);
}

/** The two systems a patient record is synced between. */
export type SyncSide = 'SEMBLE' | 'CRM';

export interface PatientAddress {
  line: string | null;
  city: string | null;
  postcode: string | null;
  country: string | null;
}

/**
 * The synced fields' values. Null means "no value". The shared fields are required so an
 * adapter cannot forget one and thereby ask the engine to clear it on the other side; the
 * one-sided fields are optional because the side that does not hold them has nothing to say.
 */
export interface PatientFields {
  firstName: string | null;
  lastName: string | null;
  email: string | null;
  /** The patient's primary number: Semble's first phone, HubSpot's `phone` property. */
  phone: string | null;
  /** YYYY-MM-DD (a datetime is cut to its date; HubSpot sends midnight UTC). */
  dateOfBirth: string | null;
  address?: PatientAddress | null;
  nhsNumber?: string | null;
  lifecycleStage?: string | null;
  ownerId?: string | null;
  marketingConsent?: boolean | null;
}

export type FieldValue = string | boolean | PatientAddress | null;

export interface PatientRecord extends PatientFields {
  /** The Semble patient id (on the CRM side, the contact's `semble_patient_id`). */
  id: string;
  /** When this side last changed the record (ISO 8601); null when the vendor does not say. */
  updatedAt: string | null;
  /**
   * Per-field change times when the vendor has them (HubSpot `propertiesWithHistory`).
   * A field missing here falls back to `updatedAt`.
   */
  fieldUpdatedAt?: Partial<Record<SyncField, string>>;
  /**
   * Semble only: numbers besides `phone`. Never synced (the CRM holds one number), but
   * scored, so the sync engine routes a patient exactly as the semble subgraph scores it.
   */
  otherPhones?: readonly string[];
}

/**
 * The values both sides agreed on at the last sync, normalised (see normalise.ts). Only
 * fields held by both sides are kept: a one-sided field is never compared, and keeping,
 * say, the NHS number out of the sync store is one less copy of PHI.
 *
 * A field absent from `values` has never been agreed (treated like a first sync for that
 * field); a field present with `null` was agreed to be empty.
 */
export interface ShadowCopy {
  patientId: string;
  /** When the values were last agreed (the `now` of the plan that produced this copy). */
  syncedAt: string;
  values: Partial<Record<SyncField, FieldValue>>;
}
