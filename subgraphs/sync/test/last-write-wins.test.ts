import { DEFAULT_CLOCK_SKEW_MS, SyncPlanInputError } from '../src/rules/plan';
import { decisionFor, plan, sembleRecord, crmRecord } from './patient-records';

describe('a shared non-critical field changed on both sides: the last write wins', () => {
  it('the CRM edited the first name after Semble did: the CRM value is written to Semble', () => {
    const result = plan({
      semble: sembleRecord({ firstName: 'Augusta', updatedAt: '2025-02-10T09:00:00.000Z' }),
      crm: crmRecord({ firstName: 'Augusta Ada', updatedAt: '2025-02-11T09:00:00.000Z' }),
    });
    expect(decisionFor(result, 'firstName')).toEqual({ field: 'firstName', action: 'WRITE_SEMBLE', value: 'Augusta Ada', reason: 'LAST_WRITE_WINS' });
    expect(result.writes.semble).toEqual({ firstName: 'Augusta Ada' });
    expect(result.nextShadow?.values.firstName).toBe('Augusta Ada');
  });

  it('Semble edited it last: the Semble value is written to the CRM', () => {
    const result = plan({
      semble: sembleRecord({ firstName: 'Augusta', updatedAt: '2025-02-12T09:00:00.000Z' }),
      crm: crmRecord({ firstName: 'Augusta Ada', updatedAt: '2025-02-11T09:00:00.000Z' }),
    });
    expect(decisionFor(result, 'firstName')).toEqual({ field: 'firstName', action: 'WRITE_CRM', value: 'Augusta', reason: 'LAST_WRITE_WINS' });
  });

  it("prefers HubSpot's per-property timestamp over the contact's last-modified date", () => {
    // The contact was touched last (another property), but its first name was edited before Semble's edit.
    const result = plan({
      semble: sembleRecord({ firstName: 'Augusta', updatedAt: '2025-02-12T09:00:00.000Z' }),
      crm: crmRecord({ firstName: 'Augusta Ada', updatedAt: '2025-02-20T09:00:00.000Z', fieldUpdatedAt: { firstName: '2025-02-11T09:00:00.000Z' } }),
    });
    expect(decisionFor(result, 'firstName')).toMatchObject({ action: 'WRITE_CRM', value: 'Augusta' });
  });

  it('compares instants, not strings (offsets and precision differ between vendors)', () => {
    const result = plan({
      semble: sembleRecord({ firstName: 'Augusta', updatedAt: '2025-02-11T10:00:00+01:00' }), // 09:00Z
      crm: crmRecord({ firstName: 'Augusta Ada', updatedAt: '2025-02-11T09:30:00Z' }),
    });
    expect(decisionFor(result, 'firstName')).toMatchObject({ action: 'WRITE_SEMBLE', value: 'Augusta Ada' });
  });

  it('a tie goes to the owner (Semble, for names)', () => {
    const at = '2025-02-11T09:00:00.000Z';
    const result = plan({
      semble: sembleRecord({ lastName: 'King', updatedAt: at }),
      crm: crmRecord({ lastName: 'Byron', updatedAt: '2025-02-11T09:00:00Z' }),
    });
    expect(decisionFor(result, 'lastName')).toEqual({ field: 'lastName', action: 'WRITE_CRM', value: 'King', reason: 'TIE_OWNER_WINS' });
  });

  it('a side with no timestamp counts as older; neither with one is a tie', () => {
    const crmUndated = plan({
      semble: sembleRecord({ lastName: 'King', updatedAt: '2025-02-11T09:00:00.000Z' }),
      crm: crmRecord({ lastName: 'Byron', updatedAt: null }),
    });
    expect(decisionFor(crmUndated, 'lastName')).toMatchObject({ action: 'WRITE_CRM', reason: 'LAST_WRITE_WINS' });
    const bothUndated = plan({
      semble: sembleRecord({ lastName: 'King', updatedAt: null }),
      crm: crmRecord({ lastName: 'Byron', updatedAt: 'not a date' }),
    });
    expect(decisionFor(bothUndated, 'lastName')).toMatchObject({ action: 'WRITE_CRM', value: 'King', reason: 'TIE_OWNER_WINS' });
  });

  it('when only the CRM changed a name, that change is the last write: it flows to Semble whatever its timestamp', () => {
    const result = plan({ crm: crmRecord({ lastName: 'Byron', updatedAt: '2025-01-01T00:00:00.000Z' }) });
    expect(decisionFor(result, 'lastName')).toEqual({ field: 'lastName', action: 'WRITE_SEMBLE', value: 'Byron', reason: 'NON_OWNER_CHANGED' });
    expect(result.nextShadow?.values.lastName).toBe('Byron');
  });

  it('decides each field on its own timestamps', () => {
    const result = plan({
      semble: sembleRecord({ firstName: 'Augusta', lastName: 'King', updatedAt: '2025-02-15T00:00:00.000Z' }),
      crm: crmRecord({
        firstName: 'Augusta Ada',
        lastName: 'Byron',
        fieldUpdatedAt: { firstName: '2025-02-16T00:00:00.000Z', lastName: '2025-02-14T00:00:00.000Z' },
      }),
    });
    expect(result.writes).toEqual({ semble: { firstName: 'Augusta Ada' }, crm: { lastName: 'King' } });
  });
});

describe('the clock-skew allowance: changes closer than clockSkewMs count as simultaneous and the owner wins', () => {
  const SEMBLE_AT = '2025-02-11T09:00:00.000Z';
  const crmLaterBy = (ms: number) => new Date(Date.parse(SEMBLE_AT) + ms).toISOString();
  const bothChanged = (crmAfterMs: number) => ({
    semble: sembleRecord({ firstName: 'Augusta', updatedAt: SEMBLE_AT }),
    crm: crmRecord({ firstName: 'Augusta Ada', fieldUpdatedAt: { firstName: crmLaterBy(crmAfterMs) } }),
  });

  it('defaults to 2000 ms, inclusive: a CRM edit 2000 ms later loses to the owner, 2001 ms later wins', () => {
    expect(DEFAULT_CLOCK_SKEW_MS).toBe(2000);
    expect(decisionFor(plan(bothChanged(2000)), 'firstName')).toEqual({ field: 'firstName', action: 'WRITE_CRM', value: 'Augusta', reason: 'TIE_OWNER_WINS' });
    expect(decisionFor(plan(bothChanged(2001)), 'firstName')).toEqual({ field: 'firstName', action: 'WRITE_SEMBLE', value: 'Augusta Ada', reason: 'LAST_WRITE_WINS' });
  });

  it('is symmetric: a Semble edit just inside the allowance after the CRM one is a tie too (the owner wins either way)', () => {
    expect(decisionFor(plan(bothChanged(-1500)), 'firstName')).toMatchObject({ action: 'WRITE_CRM', value: 'Augusta', reason: 'TIE_OWNER_WINS' });
    expect(decisionFor(plan(bothChanged(-2500)), 'firstName')).toMatchObject({ action: 'WRITE_CRM', value: 'Augusta', reason: 'LAST_WRITE_WINS' });
  });

  it('is configurable: with 0 ms a CRM edit 1 ms later wins, with 5000 ms one 4 s later does not', () => {
    expect(decisionFor(plan(bothChanged(1), { clockSkewMs: 0 }), 'firstName')).toMatchObject({ action: 'WRITE_SEMBLE', reason: 'LAST_WRITE_WINS' });
    expect(decisionFor(plan(bothChanged(4000), { clockSkewMs: 5000 }), 'firstName')).toMatchObject({ action: 'WRITE_CRM', reason: 'TIE_OWNER_WINS' });
  });

  it('does not apply to a field changed on one side only (no race to decide)', () => {
    const result = plan({ crm: crmRecord({ firstName: 'Augusta Ada', fieldUpdatedAt: { firstName: crmLaterBy(1) } }) }, { clockSkewMs: 60_000 });
    expect(decisionFor(result, 'firstName')).toMatchObject({ action: 'WRITE_SEMBLE', value: 'Augusta Ada', reason: 'NON_OWNER_CHANGED' });
  });

  it('refuses a negative or non-finite allowance', () => {
    expect(() => plan({}, { clockSkewMs: -1 })).toThrow(new SyncPlanInputError('clockSkewMs: expected a number of milliseconds ≥ 0, got -1'));
    expect(() => plan({}, { clockSkewMs: Number.NaN })).toThrow(SyncPlanInputError);
  });
});
