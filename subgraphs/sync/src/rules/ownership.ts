/**
 * Field ownership: which system is the system of record for each field, which systems hold
 * the field at all, and which fields are critical (a change on both sides goes to a person).
 * The table is plain data so it can come from configuration; `createOwnershipTable`
 * validates it once, up front.
 */
import { SYNC_FIELDS, isSyncField } from './types';
import type { SyncField, SyncSide } from './types';

export interface FieldRule {
  field: SyncField;
  /** The system of record: its value wins unless both sides changed (see plan.ts). */
  owner: SyncSide;
  /** The systems that hold the field. A field held by one side only is never synced. */
  presentOn: readonly SyncSide[];
  /**
   * A change on both sides since the last sync with different values becomes a conflict for
   * review instead of last write wins. Only meaningful for a field held by both sides.
   */
  critical: boolean;
}

/**
 * domain.md: demographics and clinical data belong to Semble; marketing and sales data
 * (lifecycle stage, owner, consent) to the CRM; email, phone and date of birth are critical.
 * HubSpot holds name, email, phone and (as a contact property) date of birth; address and
 * NHS number live only in Semble; lifecycle stage, owner and consent only in HubSpot (Semble's
 * `communicationPreferences.promotionalMarketing` is not mapped: add SEMBLE to `presentOn`
 * here once an adapter maps it).
 */
export const DEFAULT_FIELD_RULES: readonly FieldRule[] = [
  { field: 'firstName', owner: 'SEMBLE', presentOn: ['SEMBLE', 'CRM'], critical: false },
  { field: 'lastName', owner: 'SEMBLE', presentOn: ['SEMBLE', 'CRM'], critical: false },
  { field: 'email', owner: 'SEMBLE', presentOn: ['SEMBLE', 'CRM'], critical: true },
  { field: 'phone', owner: 'SEMBLE', presentOn: ['SEMBLE', 'CRM'], critical: true },
  { field: 'dateOfBirth', owner: 'SEMBLE', presentOn: ['SEMBLE', 'CRM'], critical: true },
  { field: 'address', owner: 'SEMBLE', presentOn: ['SEMBLE'], critical: false },
  { field: 'nhsNumber', owner: 'SEMBLE', presentOn: ['SEMBLE'], critical: false },
  { field: 'lifecycleStage', owner: 'CRM', presentOn: ['CRM'], critical: false },
  { field: 'ownerId', owner: 'CRM', presentOn: ['CRM'], critical: false },
  { field: 'marketingConsent', owner: 'CRM', presentOn: ['CRM'], critical: false },
];

export interface OwnershipTable {
  /** One rule per field, in SYNC_FIELDS order. */
  readonly rules: readonly FieldRule[];
  rule(field: SyncField): FieldRule;
  ownerOf(field: SyncField): SyncSide;
  /** Held by both systems, so compared and synced. */
  isShared(field: SyncField): boolean;
  isCritical(field: SyncField): boolean;
  /** Fields held by both sides, in table order: the fields a shadow copy keeps. */
  sharedFields(): SyncField[];
}

export class OwnershipConfigError extends Error {
  override readonly name = 'OwnershipConfigError';
  constructor(message: string) {
    super(message);
  }
}

const SIDES: readonly SyncSide[] = ['SEMBLE', 'CRM'];

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'string' ? JSON.stringify(value) : typeof value;
}

/**
 * Checks the table (each known field exactly once, owner among the systems holding the
 * field, critical only for shared fields) and returns lookups over it.
 * @throws OwnershipConfigError naming the entry and what was expected.
 */
export function createOwnershipTable(rules: readonly FieldRule[] = DEFAULT_FIELD_RULES): OwnershipTable {
  const byField = new Map<SyncField, FieldRule>();
  rules.forEach((candidate, index) => {
    const where = `field rule ${index}`;
    const rule = candidate as Partial<FieldRule> | null;
    if (!rule || typeof rule !== 'object') throw new OwnershipConfigError(`${where}: expected an object, got ${describe(rule)}`);
    if (!isSyncField(rule.field)) {
      throw new OwnershipConfigError(`${where}.field: expected one of ${SYNC_FIELDS.join(', ')}, got ${describe(rule.field)}`);
    }
    const at = `field rule "${rule.field}"`;
    if (byField.has(rule.field)) throw new OwnershipConfigError(`${at}: expected each field once, got it twice`);
    if (!SIDES.includes(rule.owner as SyncSide)) {
      throw new OwnershipConfigError(`${at}.owner: expected SEMBLE or CRM, got ${describe(rule.owner)}`);
    }
    const presentOn = rule.presentOn;
    if (!Array.isArray(presentOn) || presentOn.length === 0 || !presentOn.every((side) => SIDES.includes(side))) {
      throw new OwnershipConfigError(`${at}.presentOn: expected a non-empty list of SEMBLE and/or CRM, got ${describe(presentOn)}`);
    }
    // An owner that does not hold the field could never supply the winning value.
    if (!presentOn.includes(rule.owner as SyncSide)) {
      throw new OwnershipConfigError(`${at}.owner: expected one of the systems in presentOn (${presentOn.join(', ')}), got ${rule.owner}`);
    }
    if (typeof rule.critical !== 'boolean') throw new OwnershipConfigError(`${at}.critical: expected a boolean, got ${describe(rule.critical)}`);
    // A one-sided field can never change "on both sides": calling it critical is a mistake in the table.
    if (rule.critical && !SIDES.every((side) => presentOn.includes(side))) {
      throw new OwnershipConfigError(`${at}.critical: expected false for a field held by one system only, got true`);
    }
    byField.set(rule.field, { field: rule.field, owner: rule.owner as SyncSide, presentOn: [...presentOn], critical: rule.critical });
  });
  const missing = SYNC_FIELDS.filter((field) => !byField.has(field));
  if (missing.length > 0) throw new OwnershipConfigError(`field rules: expected a rule for every field, missing ${missing.join(', ')}`);

  const ordered = SYNC_FIELDS.map((field) => byField.get(field) as FieldRule);
  const rule = (field: SyncField): FieldRule => byField.get(field) as FieldRule;
  const isShared = (field: SyncField): boolean => SIDES.every((side) => rule(field).presentOn.includes(side));
  return {
    rules: ordered,
    rule,
    ownerOf: (field) => rule(field).owner,
    isShared,
    isCritical: (field) => rule(field).critical,
    sharedFields: () => SYNC_FIELDS.filter(isShared),
  };
}

export const DEFAULT_OWNERSHIP: OwnershipTable = createOwnershipTable(DEFAULT_FIELD_RULES);
