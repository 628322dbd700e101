import { createOwnershipTable, DEFAULT_FIELD_RULES, DEFAULT_OWNERSHIP, OwnershipConfigError } from '../src/rules/ownership';
import type { FieldRule } from '../src/rules/ownership';
import { crmRecord, decisionFor, plan, sembleRecord, shadowOf, writesOf } from './patient-records';

describe('the ownership table (domain.md)', () => {
  it('gives demographics and clinical fields to Semble and marketing/sales fields to the CRM', () => {
    for (const field of ['firstName', 'lastName', 'dateOfBirth', 'email', 'phone', 'address', 'nhsNumber'] as const) {
      expect(DEFAULT_OWNERSHIP.ownerOf(field)).toBe('SEMBLE');
    }
    for (const field of ['lifecycleStage', 'ownerId', 'marketingConsent'] as const) {
      expect(DEFAULT_OWNERSHIP.ownerOf(field)).toBe('CRM');
    }
  });

  it('syncs only the fields both systems hold', () => {
    expect(DEFAULT_OWNERSHIP.sharedFields()).toEqual(['firstName', 'lastName', 'email', 'phone', 'dateOfBirth', 'address']);
    expect(DEFAULT_OWNERSHIP.isShared('nhsNumber')).toBe(false);
    expect(DEFAULT_OWNERSHIP.isShared('lifecycleStage')).toBe(false);
  });

  it('marks email, phone and date of birth critical, and nothing else', () => {
    const critical = DEFAULT_OWNERSHIP.rules.filter((rule) => rule.critical).map((rule) => rule.field);
    expect(critical).toEqual(['email', 'phone', 'dateOfBirth']);
  });

  it('lets the later edit win for names and rejects a CRM edit of the address', () => {
    expect(DEFAULT_OWNERSHIP.onNonOwnerChange('firstName')).toBe('LAST_WRITE_WINS');
    expect(DEFAULT_OWNERSHIP.onNonOwnerChange('lastName')).toBe('LAST_WRITE_WINS');
    expect(DEFAULT_OWNERSHIP.onNonOwnerChange('address')).toBe('REJECT');
  });
});

describe('an ownership table from configuration is validated up front', () => {
  const withRule = (field: string, change: Partial<FieldRule> | null): FieldRule[] =>
    DEFAULT_FIELD_RULES.map((rule) => (rule.field === field ? ({ ...rule, ...change } as FieldRule) : rule));

  it('accepts a different split, e.g. the CRM owning the phone', () => {
    const table = createOwnershipTable(withRule('phone', { owner: 'CRM' }));
    expect(table.ownerOf('phone')).toBe('CRM');
  });

  it('refuses an owner that does not hold the field', () => {
    expect(() => createOwnershipTable(withRule('nhsNumber', { owner: 'CRM' }))).toThrow(
      'field rule "nhsNumber".owner: expected one of the systems in presentOn (SEMBLE), got CRM',
    );
  });

  it('refuses a critical field held by one system only (it can never change on both sides)', () => {
    expect(() => createOwnershipTable(withRule('lifecycleStage', { critical: true }))).toThrow(
      'field rule "lifecycleStage".critical: expected false for a field held by one system only, got true',
    );
  });

  it('refuses unknown, duplicated and missing fields', () => {
    expect(() => createOwnershipTable([...DEFAULT_FIELD_RULES, { ...DEFAULT_FIELD_RULES[0]!, field: 'shoeSize' as never }])).toThrow(
      /field rule 10\.field: expected one of firstName, .*, got "shoeSize"/,
    );
    expect(() => createOwnershipTable([...DEFAULT_FIELD_RULES, DEFAULT_FIELD_RULES[0]!])).toThrow(
      'field rule "firstName": expected each field once, got it twice',
    );
    expect(() => createOwnershipTable(DEFAULT_FIELD_RULES.slice(1))).toThrow('field rules: expected a rule for every field, missing firstName');
  });

  it('refuses a bad owner or presentOn with "expected …, got …"', () => {
    expect(() => createOwnershipTable(withRule('email', { owner: 'HUBSPOT' as never }))).toThrow(
      'field rule "email".owner: expected SEMBLE or CRM, got "HUBSPOT"',
    );
    expect(() => createOwnershipTable(withRule('email', { presentOn: [] }))).toThrow(OwnershipConfigError);
    expect(() => createOwnershipTable(withRule('address', { onNonOwnerChange: 'IGNORE' as never }))).toThrow(
      'field rule "address".onNonOwnerChange: expected REJECT or LAST_WRITE_WINS, got "IGNORE"',
    );
  });
});

describe('the owner of a field wins when only one side changed it', () => {
  it('a Semble change to a Semble-owned field flows to the CRM', () => {
    const result = plan({ semble: sembleRecord({ lastName: 'King' }) });
    expect(decisionFor(result, 'lastName')).toEqual({ field: 'lastName', action: 'WRITE_CRM', value: 'King', reason: 'OWNER_CHANGED' });
    expect(result.writes).toEqual({ semble: {}, crm: { lastName: 'King' } });
    expect(result.status).toBe('WRITE');
  });

  it('a CRM change to a Semble-owned field with the REJECT policy (the address) is reverted, as a rejection', () => {
    const result = plan({ crm: crmRecord({ address: { line: '1 Elsewhere Road', city: 'Leeds', postcode: 'LS1 1AA', country: 'GB' } }) });
    expect(decisionFor(result, 'address')).toEqual({
      field: 'address',
      action: 'WRITE_CRM',
      value: { line: '12 St James Square', city: 'London', postcode: 'SW1Y 4JH', country: 'GB' },
      reason: 'REJECTED_NOT_OWNER',
    });
    expect(result.writes.semble).toEqual({});
  });

  it('a CRM change to a Semble-owned name (LAST_WRITE_WINS) is the last write: it flows to Semble', () => {
    const result = plan({ crm: crmRecord({ lastName: 'Byron' }) });
    expect(decisionFor(result, 'lastName')).toEqual({ field: 'lastName', action: 'WRITE_SEMBLE', value: 'Byron', reason: 'NON_OWNER_CHANGED' });
    expect(result.writes.crm).toEqual({});
  });

  it('a CRM change to a critical field is neither reverted nor taken: it is a conflict', () => {
    const result = plan({ crm: crmRecord({ phone: '+447700900000', email: 'ada@elsewhere.example' }) });
    expect(result.conflicts.map((conflict) => conflict.field)).toEqual(['email', 'phone']);
    expect(decisionFor(result, 'phone')).toEqual({ field: 'phone', action: 'CONFLICT', reason: 'CRITICAL_CHANGED_ON_ONE_SIDE' });
    expect(decisionFor(result, 'email')).toEqual({ field: 'email', action: 'CONFLICT', reason: 'CRITICAL_CHANGED_ON_ONE_SIDE' });
    expect(result.writes).toEqual({ semble: {}, crm: {} });
  });

  it('with a table where the CRM owns a REJECT address, a CRM change flows to Semble and a Semble one is reverted', () => {
    const ownership = createOwnershipTable(DEFAULT_FIELD_RULES.map((rule) => (rule.field === 'address' ? { ...rule, owner: 'CRM' as const } : rule)));
    const moved = { line: '1 Elsewhere Road', city: 'Leeds', postcode: 'LS1 1AA', country: 'GB' };
    const fromCrm = plan({ crm: crmRecord({ address: moved }) }, { ownership });
    expect(decisionFor(fromCrm, 'address')).toMatchObject({ action: 'WRITE_SEMBLE', value: moved, reason: 'OWNER_CHANGED' });
    const fromSemble = plan({ semble: sembleRecord({ address: moved }) }, { ownership });
    expect(decisionFor(fromSemble, 'address')).toMatchObject({ action: 'WRITE_SEMBLE', value: { line: '12 St James Square' }, reason: 'REJECTED_NOT_OWNER' });
  });
});

describe('one-sided fields are never written to the other system', () => {
  it('a CRM change to lifecycleStage stays in the CRM: Semble has no such field, so nothing is written and nothing is shadowed', () => {
    const result = plan({ crm: crmRecord({ lifecycleStage: 'opportunity', ownerId: 'owner-9', marketingConsent: false }) });
    for (const field of ['lifecycleStage', 'ownerId', 'marketingConsent'] as const) {
      expect(decisionFor(result, field)).toEqual({ field, action: 'SKIP', reason: 'ONLY_IN_CRM' });
      expect(result.nextShadow?.values).not.toHaveProperty(field);
    }
    expect(result.status).toBe('NO_WRITES');
  });

  it("Semble's NHS number never goes to the CRM, and is kept out of the shadow copy", () => {
    const result = plan({ semble: sembleRecord({ nhsNumber: '401 023 2137' }) });
    expect(decisionFor(result, 'nhsNumber')).toEqual({ field: 'nhsNumber', action: 'SKIP', reason: 'ONLY_IN_SEMBLE' });
    expect(result.writes.crm).toEqual({});
    expect(Object.keys(result.nextShadow?.values ?? {}).sort()).toEqual(['address', 'dateOfBirth', 'email', 'firstName', 'lastName', 'phone']);
  });
});

describe('the first sync takes the owner\'s values, except where that would replace a critical value', () => {
  it('creates a new contact from Semble\'s values, normalised (E.164 phone, lower-case email)', () => {
    const result = plan({ crm: null, shadow: null, semble: sembleRecord({ email: ' Ada.Lovelace@Example.co.uk ' }) });
    expect(result.createCrmContact).toBe(true);
    expect(result.writes.crm).toEqual({
      firstName: 'Ada',
      lastName: 'Lovelace',
      email: 'ada.lovelace@example.co.uk',
      phone: '+447912345678',
      dateOfBirth: '1985-12-10',
      address: { line: '12 St James Square', city: 'London', postcode: 'SW1Y 4JH', country: 'GB' },
    });
    expect(writesOf(result).every((decision) => decision.reason === 'INITIAL_SYNC')).toBe(true);
    expect(result.nextShadow).toEqual({ patientId: 'semble-patient-1', syncedAt: '2025-03-01T12:00:00.000Z', values: result.writes.crm });
  });

  it('overwrites a non-critical field of an existing, never-synced contact, leaves the CRM-only fields alone, and sends a differing critical one to review', () => {
    const result = plan({ shadow: null, crm: crmRecord({ lastName: 'Byron', phone: '07700 900123' }) });
    expect(result.createCrmContact).toBe(false);
    expect(result.writes.crm).toEqual({ lastName: 'Lovelace' });
    expect(decisionFor(result, 'phone')).toEqual({ field: 'phone', action: 'CONFLICT', reason: 'CRITICAL_DIFFERS_AT_FIRST_SYNC' });
    expect(result.conflicts).toEqual([{ field: 'phone', sembleValue: '+447912345678', crmValue: '07700 900123', lastSyncedValue: null }]);
    expect(result.nextShadow?.values).not.toHaveProperty('phone');
    expect(decisionFor(result, 'firstName')).toMatchObject({ action: 'SKIP', reason: 'IN_SYNC' });
    expect(decisionFor(result, 'lifecycleStage')).toMatchObject({ action: 'SKIP', reason: 'ONLY_IN_CRM' });
  });

  it('fills an empty critical CRM value (nothing is lost), but never clears one Semble does not have', () => {
    const filled = plan({ shadow: null, crm: crmRecord({ dateOfBirth: null }) });
    expect(decisionFor(filled, 'dateOfBirth')).toEqual({ field: 'dateOfBirth', action: 'WRITE_CRM', value: '1985-12-10', reason: 'INITIAL_SYNC' });
    const missingInSemble = plan({ shadow: null, semble: sembleRecord({ dateOfBirth: null }) });
    expect(decisionFor(missingInSemble, 'dateOfBirth')).toEqual({ field: 'dateOfBirth', action: 'CONFLICT', reason: 'CRITICAL_DIFFERS_AT_FIRST_SYNC' });
    expect(missingInSemble.writes).toEqual({ semble: {}, crm: {} });
  });
});

describe('records the engine does not sync', () => {
  it('a contact with no Semble patient is left alone: the engine never creates patients from the CRM', () => {
    const result = plan({ semble: null });
    expect(result.status).toBe('NO_SEMBLE_RECORD');
    expect(result.decisions.every((decision) => decision.action === 'SKIP' && decision.reason === 'NO_SEMBLE_RECORD')).toBe(true);
    expect(result.writes).toEqual({ semble: {}, crm: {} });
    expect(result.nextShadow).toEqual(shadowOf());
  });

  it('a contact deleted from the CRM after a sync is not recreated (it may have been an erasure request)', () => {
    const result = plan({ crm: null });
    expect(result.status).toBe('CRM_CONTACT_DELETED');
    expect(result.createCrmContact).toBe(false);
    expect(result.writes.crm).toEqual({});
    expect(result.nextShadow).toEqual(shadowOf());
  });
});
