import { applyPlan, crmRecord, decisionFor, plan, sembleRecord, shadowOf, writesOf } from './patient-records';

describe('a critical field changed on both sides since the last sync', () => {
  it("changing a contact's phone in HubSpot and the same patient's phone in Semble gives one conflict", () => {
    const result = plan({
      semble: sembleRecord({ phone: '07912 111222', updatedAt: '2025-02-20T09:00:00.000Z' }),
      crm: crmRecord({ phone: '+447912 333444', updatedAt: '2025-02-21T09:00:00.000Z' }),
    });
    expect(result.conflicts).toEqual([
      { field: 'phone', sembleValue: '+447912111222', crmValue: '+447912333444', lastSyncedValue: '+447912345678' },
    ]);
    expect(decisionFor(result, 'phone')).toEqual({ field: 'phone', action: 'CONFLICT', reason: 'CRITICAL_CHANGED_ON_BOTH_SIDES' });
    expect(result.writes).toEqual({ semble: {}, crm: {} });
  });

  it('writes neither side for that field, while the other fields still sync', () => {
    const result = plan({
      semble: sembleRecord({ email: 'ada@semble.example', lastName: 'King' }),
      crm: crmRecord({ email: 'ada@crm.example' }),
    });
    expect(result.conflicts.map((conflict) => conflict.field)).toEqual(['email']);
    expect(writesOf(result)).toEqual([{ field: 'lastName', action: 'WRITE_CRM', value: 'King', reason: 'OWNER_CHANGED' }]);
    expect(result.status).toBe('WRITE');
  });

  it('keeps the last agreed value in the shadow, so the conflict stands until someone resolves it', () => {
    const semble = sembleRecord({ dateOfBirth: '1985-12-01' });
    const crm = crmRecord({ dateOfBirth: '1985-10-12' });
    const first = plan({ semble, crm });
    expect(first.nextShadow?.values.dateOfBirth).toBe('1985-12-10');
    const second = plan({ semble, crm, shadow: first.nextShadow });
    expect(second.conflicts).toEqual(first.conflicts);
  });

  it('is a conflict whatever the timestamps say: last write wins is for non-critical fields only', () => {
    const result = plan({
      semble: sembleRecord({ email: 'ada@semble.example', updatedAt: '2025-02-02T00:00:00.000Z' }),
      crm: crmRecord({ email: 'ada@crm.example', fieldUpdatedAt: { email: '2025-02-28T00:00:00.000Z' } }),
    });
    expect(decisionFor(result, 'email').action).toBe('CONFLICT');
  });

  it('gives one conflict per field when several critical fields clash', () => {
    const result = plan({
      semble: sembleRecord({ email: 'ada@semble.example', phone: '07912 111222', dateOfBirth: '1985-12-11' }),
      crm: crmRecord({ email: 'ada@crm.example', phone: '07912 333444', dateOfBirth: '1985-12-12' }),
    });
    expect(result.conflicts.map((conflict) => conflict.field)).toEqual(['email', 'phone', 'dateOfBirth']);
    expect(result.status).toBe('NO_WRITES');
  });

  it('is no conflict when both sides made the same change (after normalisation): the shadow catches up', () => {
    const result = plan({
      semble: sembleRecord({ phone: '07912 111222', email: 'Ada@New.example' }),
      crm: crmRecord({ phone: '+44 7912 111222', email: 'ada@new.example' }),
    });
    expect(result.conflicts).toEqual([]);
    expect(decisionFor(result, 'phone')).toEqual({ field: 'phone', action: 'SKIP', value: '+447912111222', reason: 'SAME_CHANGE_ON_BOTH_SIDES' });
    expect(decisionFor(result, 'email')).toMatchObject({ action: 'SKIP', reason: 'SAME_CHANGE_ON_BOTH_SIDES' });
    expect(result.nextShadow?.values).toMatchObject({ phone: '+447912111222', email: 'ada@new.example' });
    expect(result.writes).toEqual({ semble: {}, crm: {} });
  });

  it('counts clearing a field as a change: cleared in Semble, edited in the CRM is a conflict', () => {
    const result = plan({ semble: sembleRecord({ email: null }), crm: crmRecord({ email: 'ada@crm.example' }) });
    expect(result.conflicts).toEqual([
      { field: 'email', sembleValue: null, crmValue: 'ada@crm.example', lastSyncedValue: 'ada.lovelace@example.co.uk' },
    ]);
  });

});

describe('a critical field that differs, whoever changed it', () => {
  it('a CRM-only change is a conflict, not a silent revert: neither side is written', () => {
    const result = plan({ crm: crmRecord({ phone: '07912 111222' }) });
    expect(result.conflicts).toEqual([{ field: 'phone', sembleValue: '+447912345678', crmValue: '+447912111222', lastSyncedValue: '+447912345678' }]);
    expect(decisionFor(result, 'phone')).toEqual({ field: 'phone', action: 'CONFLICT', reason: 'CRITICAL_CHANGED_ON_ONE_SIDE' });
    expect(result.writes).toEqual({ semble: {}, crm: {} });
    expect(result.nextShadow?.values.phone).toBe('+447912345678');
  });

  it('a Semble-only change is a conflict too (the seed: "whoever changed it")', () => {
    const result = plan({ semble: sembleRecord({ dateOfBirth: '1985-12-11' }) });
    expect(result.conflicts).toEqual([{ field: 'dateOfBirth', sembleValue: '1985-12-11', crmValue: '1985-12-10', lastSyncedValue: '1985-12-10' }]);
    expect(result.writes).toEqual({ semble: {}, crm: {} });
  });

  it('on the first sync (no shadow), two different values are a conflict and neither side is written', () => {
    const result = plan({ shadow: null, crm: crmRecord({ email: 'ada@crm.example' }) });
    expect(result.conflicts).toEqual([{ field: 'email', sembleValue: 'ada.lovelace@example.co.uk', crmValue: 'ada@crm.example', lastSyncedValue: null }]);
    expect(decisionFor(result, 'email')).toEqual({ field: 'email', action: 'CONFLICT', reason: 'CRITICAL_DIFFERS_AT_FIRST_SYNC' });
    expect(result.writes.crm).not.toHaveProperty('email');
    expect(result.writes.semble).toEqual({});
  });

  it('a conflict opened at the first sync is settled once the sides agree', () => {
    const result = plan({
      shadow: null,
      semble: sembleRecord({ email: 'ada@crm.example' }),
      crm: crmRecord({ email: 'Ada@CRM.example' }),
      openConflictFields: ['email'],
    });
    expect(result.settledConflicts).toEqual([{ field: 'email', value: 'ada@crm.example' }]);
    expect(result.nextShadow?.values.email).toBe('ada@crm.example');
  });

  it('does not block applying the rest: after applying, only the conflict remains', () => {
    const state = {
      semble: sembleRecord({ phone: '07912 111222', firstName: 'Augusta' }),
      crm: crmRecord({ phone: '07912 333444' }),
      shadow: shadowOf(),
    };
    const after = applyPlan(state, plan(state));
    const again = plan(after);
    expect(again.decisions.filter((decision) => decision.action !== 'SKIP')).toEqual([
      { field: 'phone', action: 'CONFLICT', reason: 'CRITICAL_CHANGED_ON_BOTH_SIDES' },
    ]);
  });
});

describe('a field with an open conflict', () => {
  it('is written on neither side while it waits for review, even when only one side changed again', () => {
    // Semble went back to the last agreed phone; without the open conflict that would revert the CRM.
    const result = plan({ crm: crmRecord({ phone: '07912 333444' }), openConflictFields: ['phone'] });
    expect(decisionFor(result, 'phone')).toEqual({ field: 'phone', action: 'CONFLICT', reason: 'UNDER_REVIEW' });
    expect(result.conflicts).toEqual([
      { field: 'phone', sembleValue: '+447912345678', crmValue: '+447912333444', lastSyncedValue: '+447912345678' },
    ]);
    expect(result.writes).toEqual({ semble: {}, crm: {} });
    expect(result.settledConflicts).toEqual([]);
  });

  it('is settled when both sides come to hold the same value: no writes, and the shadow takes it', () => {
    const result = plan({
      semble: sembleRecord({ phone: '07912 333444' }),
      crm: crmRecord({ phone: '+44 7912 333444' }),
      openConflictFields: ['phone'],
    });
    expect(decisionFor(result, 'phone')).toEqual({ field: 'phone', action: 'SKIP', value: '+447912333444', reason: 'CONFLICT_SETTLED' });
    expect(result.settledConflicts).toEqual([{ field: 'phone', value: '+447912333444' }]);
    expect(result.conflicts).toEqual([]);
    expect(result.nextShadow?.values.phone).toBe('+447912333444');
    expect(result.writes).toEqual({ semble: {}, crm: {} });
  });

  it('leaves the other fields to sync as usual', () => {
    const result = plan({ semble: sembleRecord({ lastName: 'King' }), crm: crmRecord({ phone: '07912 333444' }), openConflictFields: ['phone'] });
    expect(writesOf(result)).toEqual([{ field: 'lastName', action: 'WRITE_CRM', value: 'King', reason: 'OWNER_CHANGED' }]);
  });
});
