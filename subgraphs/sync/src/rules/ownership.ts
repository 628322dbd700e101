/**
 * Field ownership: which system is the system of record for each field, which systems hold
 * the field at all, which fields are critical (any difference goes to a person), and what a
 * change on the non-owning side of a shared field does (rejected, or last write wins).
 * The table is plain data so it can come from configuration; `createOwnershipTable`
 * validates it once, up front.
 */
import { SYNC_FIELDS, isSyncField } from './types';
import type { SyncField, SyncSide } from './types';

/**
 * What a change on the non-owning side of a shared, non-critical field does (plan.ts):
 * - REJECT: it is reverted to the owner's value, with a visible REJECTED_NOT_OWNER sync event;
 * - LAST_WRITE_WINS: the field is edited in both systems; the later change (per field) wins, the
 *   owner breaking ties and winning within the clock-skew allowance.
 */
export type NonOwnerChangePolicy = 'REJECT' | 'LAST_WRITE_WINS';
const POLICIES: readonly NonOwnerChangePolicy[] = ['REJECT', 'LAST_WRITE_WINS'];

export interface FieldRule {
  field: SyncField;
  /** The system of record: the first sync takes its value, and it wins ties (see plan.ts). */
  owner: SyncSide;
  /** The systems that hold the field. A field held by one side only is never synced. */
  presentOn: readonly SyncSide[];
  /**
   * Whenever the two systems hold different values (whoever changed it, or on a first sync), the
   * field becomes a conflict for review and neither side is written. Only for a field held by both sides.
   */
  critical: boolean;
  /** See NonOwnerChangePolicy; ignored for critical and one-sided fields. */
  onNonOwnerChange: NonOwnerChangePolicy;
}

/**
 * domain.md: demographics and clinical data belong to Semble; marketing and sales data
 * (lifecycle stage, owner, consent) to the CRM; email, phone and date of birth are critical.
 * HubSpot holds name, email, phone, address (its standard address/city/zip/country properties)
 * and (as a custom contact property) date of birth. Names are edited in both systems (a
 * misspelling fixed by whoever notices), so the later edit wins; the address is Semble's and a
 * CRM edit of it is rejected. The NHS number lives only in Semble; lifecycle stage, owner and
 * consent only in HubSpot (Semble's
 * `communicationPreferences.promotionalMarketing` is not mapped: add SEMBLE to `presentOn`
 * here once an adapter maps it).
 */
export const DEFAULT_FIELD_RULES: readonly FieldRule[] = [
  { field: 'firstName', owner: 'SEMBLE', presentOn: ['SEMBLE', 'CRM'], critical: false, onNonOwnerChange: 'LAST_WRITE_WINS' },
  { field: 'lastName', owner: 'SEMBLE', presentOn: ['SEMBLE', 'CRM'], critical: false, onNonOwnerChange: 'LAST_WRITE_WINS' },
  { field: 'email', owner: 'SEMBLE', presentOn: ['SEMBLE', 'CRM'], critical: true, onNonOwnerChange: 'REJECT' },
  { field: 'phone', owner: 'SEMBLE', presentOn: ['SEMBLE', 'CRM'], critical: true, onNonOwnerChange: 'REJECT' },
  { field: 'dateOfBirth', owner: 'SEMBLE', presentOn: ['SEMBLE', 'CRM'], critical: true, onNonOwnerChange: 'REJECT' },
  { field: 'address', owner: 'SEMBLE', presentOn: ['SEMBLE', 'CRM'], critical: false, onNonOwnerChange: 'REJECT' },
  { field: 'nhsNumber', owner: 'SEMBLE', presentOn: ['SEMBLE'], critical: false, onNonOwnerChange: 'REJECT' },
  { field: 'lifecycleStage', owner: 'CRM', presentOn: ['CRM'], critical: false, onNonOwnerChange: 'REJECT' },
  { field: 'ownerId', owner: 'CRM', presentOn: ['CRM'], critical: false, onNonOwnerChange: 'REJECT' },
  { field: 'marketingConsent', owner: 'CRM', presentOn: ['CRM'], critical: false, onNonOwnerChange: 'REJECT' },
];

export interface OwnershipTable {
  /** One rule per field, in SYNC_FIELDS order. */
  readonly rules: readonly FieldRule[];
  rule(field: SyncField): FieldRule;
  ownerOf(field: SyncField): SyncSide;
  /** Held by both systems, so compared and synced. */
  isShared(field: SyncField): boolean;
  isCritical(field: SyncField): boolean;
  onNonOwnerChange(field: SyncField): NonOwnerChangePolicy;
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
    if (!POLICIES.includes(rule.onNonOwnerChange as NonOwnerChangePolicy)) {
      throw new OwnershipConfigError(`${at}.onNonOwnerChange: expected ${POLICIES.join(' or ')}, got ${describe(rule.onNonOwnerChange)}`);
    }
    byField.set(rule.field, {
      field: rule.field,
      owner: rule.owner as SyncSide,
      presentOn: [...presentOn],
      critical: rule.critical,
      onNonOwnerChange: rule.onNonOwnerChange as NonOwnerChangePolicy,
    });
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
    onNonOwnerChange: (field) => rule(field).onNonOwnerChange,
    sharedFields: () => SYNC_FIELDS.filter(isShared),
  };
}

export const DEFAULT_OWNERSHIP: OwnershipTable = createOwnershipTable(DEFAULT_FIELD_RULES);
