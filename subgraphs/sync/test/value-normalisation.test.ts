import { normaliseFieldValue, sameFieldValue } from '../src/rules/normalise';
import { crmRecord, decisionFor, plan, sembleRecord } from './patient-records';

describe('values are normalised before "changed since the last sync" is decided', () => {
  it('a case-only (or whitespace-only) email change is not a change', () => {
    const result = plan({ crm: crmRecord({ email: '  Ada.Lovelace@EXAMPLE.co.uk ' }) });
    expect(decisionFor(result, 'email')).toEqual({ field: 'email', action: 'SKIP', value: 'ada.lovelace@example.co.uk', reason: 'IN_SYNC' });
    expect(result.status).toBe('NO_WRITES');
  });

  it('the same phone number written differently is not a change (E.164, GB default region)', () => {
    for (const phone of ['07912345678', '+44 7912 345678', '(07912) 345 678', '0044 7912 345678']) {
      expect(decisionFor(plan({ crm: crmRecord({ phone }) }), 'phone')).toMatchObject({ action: 'SKIP', reason: 'IN_SYNC' });
    }
  });

  it('a date of birth sent as a midnight datetime is the same date', () => {
    const result = plan({ semble: sembleRecord({ dateOfBirth: '1985-12-10T00:00:00Z' }), crm: crmRecord({ dateOfBirth: '1985-12-10' }) });
    expect(decisionFor(result, 'dateOfBirth')).toMatchObject({ action: 'SKIP', reason: 'IN_SYNC' });
  });

  it('an empty string is no value', () => {
    const result = plan({ semble: sembleRecord({ dateOfBirth: null }), crm: crmRecord({ dateOfBirth: '' }), shadow: null });
    expect(decisionFor(result, 'dateOfBirth')).toMatchObject({ action: 'SKIP', value: null, reason: 'IN_SYNC' });
  });

  it('a change of case in a name is a real change (McDonald is not Mcdonald)', () => {
    const result = plan({ semble: sembleRecord({ lastName: 'LOVELACE' }) });
    expect(decisionFor(result, 'lastName')).toMatchObject({ action: 'WRITE_CRM', value: 'LOVELACE', reason: 'OWNER_CHANGED' });
  });
});

describe('normaliseFieldValue', () => {
  it('keeps an invalid phone as typed (trimmed), so a reviewer sees what was entered', () => {
    expect(normaliseFieldValue('phone', ' 07700 900123 ')).toBe('07700 900123');
  });
  it('keeps a date it cannot read as typed', () => {
    expect(normaliseFieldValue('dateOfBirth', '10/12/1985')).toBe('10/12/1985');
  });
  it('reduces an NHS number to its digits', () => {
    expect(normaliseFieldValue('nhsNumber', '943-476-5919')).toBe('9434765919');
  });
  it('compares addresses by their parts, ignoring postcode case and spacing', () => {
    const a = normaliseFieldValue('address', { line: ' 12 St James Square', city: 'London', postcode: 'sw1y  4jh', country: 'GB' });
    const b = normaliseFieldValue('address', { line: '12 St James Square', city: 'London ', postcode: 'SW1Y 4JH', country: 'GB' });
    expect(sameFieldValue(a, b)).toBe(true);
    expect(normaliseFieldValue('address', { line: ' ', city: null, postcode: '', country: null })).toBeNull();
  });
  it('treats a missing value (a side that does not hold the field) as null', () => {
    expect(normaliseFieldValue('marketingConsent', undefined)).toBeNull();
    expect(normaliseFieldValue('marketingConsent', false)).toBe(false);
  });
});
