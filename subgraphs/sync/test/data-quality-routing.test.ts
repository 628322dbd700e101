import { assessDataQuality } from '../../../lib/data-quality';
import { createOwnershipTable, DEFAULT_FIELD_RULES } from '../src/rules/ownership';
import { crmRecord, decisionFor, plan, sembleRecord, shadowOf, writesOf } from './patient-records';

// Each issue costs 20 points: ≥ 80 syncs directly, 60–79 syncs and is flagged, < 60 is held.
const ONE_ISSUE = { phone: '07700 900123' } as const; // an Ofcom drama number: parses, not valid
const TWO_ISSUES = { phone: '07700 900123', nhsNumber: '943 476 5918' } as const;
const THREE_ISSUES = { phone: '07700 900123', nhsNumber: '943 476 5918', email: 'ada@' } as const;

describe('data quality routes every patient write', () => {
  it('a clean record (score 100) is written directly', () => {
    const result = plan({ semble: sembleRecord({ lastName: 'King' }) });
    expect(result.dataQuality).toEqual({ score: 100, issues: [], route: 'DIRECT' });
    expect(result.route).toBe('DIRECT');
    expect(result.status).toBe('WRITE');
  });

  it('one issue (score 80) is still written directly', () => {
    const result = plan({ semble: sembleRecord({ lastName: 'King', ...ONE_ISSUE }) });
    expect(result.dataQuality?.score).toBe(80);
    expect(result.status).toBe('WRITE');
  });

  it('two issues (score 60) are written and the plan is flagged for review', () => {
    const result = plan({ semble: sembleRecord({ lastName: 'King', ...TWO_ISSUES }) });
    expect(result.dataQuality).toEqual({ score: 60, issues: ['PHONE_INVALID', 'NHS_NUMBER_INVALID'], route: 'SYNC_AND_FLAG' });
    expect(result.status).toBe('WRITE_AND_FLAG');
    expect(result.writes.crm).toMatchObject({ lastName: 'King' });
  });

  it('low-quality data (score < 60) is held: nothing is written for that patient and the shadow does not move', () => {
    const semble = sembleRecord({ lastName: 'King', ...THREE_ISSUES });
    const result = plan({ semble });
    expect(result.dataQuality?.score).toBe(40);
    expect(result.status).toBe('HELD');
    expect(result.route).toBe('HOLD_FOR_REVIEW');
    expect(writesOf(result)).toEqual([]);
    expect(result.writes).toEqual({ semble: {}, crm: {} });
    expect(result.nextShadow).toEqual(shadowOf());
  });

  it('a held plan still says what it would have written, for the reviewer', () => {
    const result = plan({ semble: sembleRecord({ lastName: 'King', ...THREE_ISSUES }) });
    expect(decisionFor(result, 'lastName')).toEqual({
      field: 'lastName',
      action: 'SKIP',
      value: 'King',
      reason: 'HELD_FOR_REVIEW',
      blockedAction: 'WRITE_CRM',
    });
  });

  it('a held new patient gets no CRM contact', () => {
    const result = plan({ crm: null, shadow: null, semble: sembleRecord({ email: null, phone: null, nhsNumber: '943 476 5918' }) });
    expect(result.status).toBe('HELD');
    expect(result.createCrmContact).toBe(false);
    expect(result.nextShadow).toBeNull();
  });

  it('holding does not hide conflicts: they are reported whatever the route', () => {
    const result = plan({
      semble: sembleRecord({ ...THREE_ISSUES, phone: '07700 900123', lastName: 'King' }),
      crm: crmRecord({ phone: '07912 333444' }),
    });
    expect(result.status).toBe('HELD');
    // Semble's email changed too (to a bad one): a critical change, so a conflict as well.
    expect(result.conflicts.map((conflict) => conflict.field)).toEqual(['email', 'phone']);
  });

  it('with nothing to write there is nothing to hold: a poor record that is in sync is just reported', () => {
    const semble = sembleRecord(THREE_ISSUES);
    const result = plan({ semble, crm: crmRecord({ phone: '07700 900123', email: 'ada@' }), shadow: shadowOf(semble) });
    expect(result.status).toBe('NO_WRITES');
    expect(result.dataQuality?.route).toBe('HOLD_FOR_REVIEW');
  });
});

describe('the score is that of the Semble-side record the plan would leave', () => {
  it('scores exactly as the semble subgraph does, counting every Semble phone', () => {
    const semble = sembleRecord({ lastName: 'King', otherPhones: ['07700 900456'] });
    const result = plan({ semble });
    expect(result.dataQuality).toEqual(assessDataQuality({ email: semble.email, phones: [semble.phone, '07700 900456'], nhsNumber: semble.nhsNumber }));
    expect(result.dataQuality?.issues).toEqual(['PHONE_INVALID']);
  });

  it("does not count a bad CRM value waiting for review (it never reaches Semble)", () => {
    const result = plan({ crm: crmRecord({ email: 'ada@', phone: '07700 900123' }) });
    expect(result.dataQuality?.score).toBe(100);
    expect(result.conflicts.map((conflict) => conflict.field)).toEqual(['email', 'phone']);
    expect(result.status).toBe('NO_WRITES');
  });

  it('counts a CRM value that would be written to Semble (with a table where the CRM owns a non-critical phone)', () => {
    const ownership = createOwnershipTable(
      DEFAULT_FIELD_RULES.map((rule) => (rule.field === 'phone' ? { ...rule, owner: 'CRM' as const, critical: false } : rule)),
    );
    const result = plan({ semble: sembleRecord({ nhsNumber: '943 476 5918', email: 'ada@' }), crm: crmRecord({ phone: '07700 900123' }) }, { ownership });
    expect(decisionFor(result, 'phone')).toMatchObject({ action: 'SKIP', reason: 'HELD_FOR_REVIEW', blockedAction: 'WRITE_SEMBLE' });
    expect(result.dataQuality?.issues).toEqual(['EMAIL_INVALID', 'PHONE_INVALID', 'NHS_NUMBER_INVALID']);
    expect(result.status).toBe('HELD');
  });
});

describe('an email another patient already uses (the seed\'s email uniqueness rule)', () => {
  it('is a data-quality issue that flags the patient: written, but for review (FLAGGED), never a silent merge', () => {
    const result = plan({ semble: sembleRecord({ lastName: 'King' }), emailUsedByAnotherPatient: true });
    expect(result.dataQuality).toEqual({ score: 80, issues: ['EMAIL_DUPLICATE'], route: 'SYNC_AND_FLAG' });
    expect(result.status).toBe('WRITE_AND_FLAG');
    // The same plan without the duplicate goes straight through.
    expect(plan({ semble: sembleRecord({ lastName: 'King' }) }).status).toBe('WRITE');
  });

  it('counts like any other issue: with two more the patient is held', () => {
    const result = plan({ semble: sembleRecord({ lastName: 'King', ...TWO_ISSUES }), emailUsedByAnotherPatient: true });
    expect(result.dataQuality).toEqual({ score: 40, issues: ['EMAIL_DUPLICATE', 'PHONE_INVALID', 'NHS_NUMBER_INVALID'], route: 'HOLD_FOR_REVIEW' });
    expect(result.status).toBe('HELD');
  });
});
