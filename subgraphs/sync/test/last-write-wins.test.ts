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

  it('does not apply when only one side changed: a lone CRM edit of a Semble-owned name is reverted, however recent', () => {
    const result = plan({ crm: crmRecord({ lastName: 'Byron', updatedAt: '2025-02-28T00:00:00.000Z' }) });
    expect(decisionFor(result, 'lastName')).toMatchObject({ action: 'WRITE_CRM', value: 'Lovelace', reason: 'REVERT_NON_OWNER_CHANGE' });
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
