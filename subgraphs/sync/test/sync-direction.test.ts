import { planPatientSync, SyncPlanInputError } from '../src/rules/plan';
import { crmRecord, decisionFor, NOW, plan, sembleRecord, shadowOf } from './patient-records';

describe('a one-way run writes only its target system', () => {
  const bothChanged = {
    semble: sembleRecord({ lastName: 'King', firstName: 'Augusta', updatedAt: '2025-02-10T00:00:00.000Z' }),
    crm: crmRecord({ firstName: 'Augusta Ada', updatedAt: '2025-02-11T00:00:00.000Z' }),
  };

  it('SEMBLE_TO_CRM skips a write to Semble and says which write it skipped', () => {
    const result = plan({ ...bothChanged, direction: 'SEMBLE_TO_CRM' });
    expect(decisionFor(result, 'firstName')).toEqual({
      field: 'firstName',
      action: 'SKIP',
      value: 'Augusta Ada',
      reason: 'DIRECTION_EXCLUDED',
      blockedAction: 'WRITE_SEMBLE',
    });
    expect(result.writes).toEqual({ semble: {}, crm: { lastName: 'King' } });
  });

  it('leaves the skipped change pending: the shadow keeps the old value, so a later two-way run still sees it', () => {
    const result = plan({ ...bothChanged, direction: 'SEMBLE_TO_CRM' });
    expect(result.nextShadow?.values.firstName).toBe('Ada');
    expect(result.nextShadow?.values.lastName).toBe('King');
  });

  it('CRM_TO_SEMBLE does not revert CRM edits (that is a write to the CRM) nor create contacts', () => {
    const revert = plan({ crm: crmRecord({ address: { line: '1 Elsewhere Road', city: 'Leeds', postcode: 'LS1 1AA', country: 'GB' } }), direction: 'CRM_TO_SEMBLE' });
    expect(decisionFor(revert, 'address')).toMatchObject({ action: 'SKIP', reason: 'DIRECTION_EXCLUDED', blockedAction: 'WRITE_CRM' });
    expect(revert.status).toBe('NO_WRITES');
    const create = plan({ crm: null, shadow: null, direction: 'CRM_TO_SEMBLE' });
    expect(create.createCrmContact).toBe(false);
    expect(create.nextShadow).toBeNull();
  });

  it('still reports conflicts, which write nothing', () => {
    const result = plan({ semble: sembleRecord({ email: 'a@semble.example' }), crm: crmRecord({ email: 'a@crm.example' }), direction: 'CRM_TO_SEMBLE' });
    expect(result.conflicts.map((conflict) => conflict.field)).toEqual(['email']);
  });
});

describe('planPatientSync refuses inputs that cannot be planned, naming the input and never a value', () => {
  const base = { semble: sembleRecord(), crm: crmRecord(), shadow: shadowOf(), direction: 'BOTH' as const, now: NOW };

  it('an unknown direction', () => {
    expect(() => planPatientSync({ ...base, direction: 'SIDEWAYS' as never })).toThrow(
      new SyncPlanInputError('direction: expected one of SEMBLE_TO_CRM, CRM_TO_SEMBLE, BOTH, got "SIDEWAYS"'),
    );
  });

  it('a `now` that is not a date-time', () => {
    expect(() => planPatientSync({ ...base, now: 'tomorrow' })).toThrow('now: expected an ISO 8601 date-time, got something else');
  });

  it('records of two different patients', () => {
    expect(() => planPatientSync({ ...base, crm: crmRecord({ id: 'semble-patient-2' }) })).toThrow(
      "crm.id: expected the Semble patient id of the semble record (the contact's semble_patient_id), got a different id",
    );
    expect(() => planPatientSync({ ...base, shadow: { ...shadowOf(), patientId: 'semble-patient-2' } })).toThrow(/^shadow.patientId: /);
  });

  it('no record at all', () => {
    expect(() => planPatientSync({ ...base, semble: null, crm: null })).toThrow('semble, crm: expected at least one record, got neither');
  });
});
