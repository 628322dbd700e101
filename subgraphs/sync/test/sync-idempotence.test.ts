import type { SyncDirection, SyncPlan } from '../src/rules/plan';
import type { PatientRecord, ShadowCopy } from '../src/rules/types';
import { applyPlan, crmRecord, plan, sembleRecord, shadowOf } from './patient-records';
import type { SyncState } from './patient-records';

/** Plans, applies the plan, and plans again with the same direction. */
function planTwice(state: SyncState, direction: SyncDirection = 'BOTH'): { first: SyncPlan; second: SyncPlan } {
  const first = plan({ ...state, direction });
  const second = plan({ ...applyPlan(state, first), direction });
  return { first, second };
}

function nonSkips(syncPlan: SyncPlan): string[] {
  return syncPlan.decisions.filter((decision) => decision.action !== 'SKIP').map((decision) => `${decision.field}:${decision.action}`);
}

describe('planning again with the result applied gives an all-SKIP plan', () => {
  it('after the first sync of a new patient', () => {
    const { first, second } = planTwice({ semble: sembleRecord(), crm: null, shadow: null });
    expect(first.createCrmContact).toBe(true);
    expect(nonSkips(second)).toEqual([]);
    expect(second.status).toBe('NO_WRITES');
    expect(second.createCrmContact).toBe(false);
  });

  it('after a plan that mixes propagation, a revert, last write wins and a shared change', () => {
    const { first, second } = planTwice({
      semble: sembleRecord({ lastName: 'King', firstName: 'Augusta', email: 'Ada@New.example', updatedAt: '2025-02-10T00:00:00.000Z' }),
      crm: crmRecord({
        address: { line: '1 Elsewhere Road', city: 'Leeds', postcode: 'LS1 1AA', country: 'GB' },
        firstName: 'Augusta Ada',
        email: 'ada@new.example',
        fieldUpdatedAt: { firstName: '2025-02-11T00:00:00.000Z' },
      }),
      shadow: shadowOf(),
    });
    expect(nonSkips(first)).toEqual(['firstName:WRITE_SEMBLE', 'lastName:WRITE_CRM', 'address:WRITE_CRM']);
    expect(nonSkips(second)).toEqual([]);
  });

  it('after a flagged plan (the flag does not make it come back)', () => {
    // A bad second phone (never synced) and a bad NHS number: two issues, and no critical change.
    const { first, second } = planTwice({ semble: sembleRecord({ lastName: 'King', otherPhones: ['07700 900123'], nhsNumber: '943 476 5918' }), crm: crmRecord(), shadow: shadowOf() });
    expect(first.status).toBe('WRITE_AND_FLAG');
    expect(nonSkips(second)).toEqual([]);
  });

  it('after a held plan: nothing was applied, so the same changes are still held, and still only SKIPs', () => {
    const { first, second } = planTwice({ semble: sembleRecord({ lastName: 'King', phone: '07700 900123', nhsNumber: '943 476 5918', email: 'ada@' }), crm: crmRecord(), shadow: shadowOf() });
    expect(first.status).toBe('HELD');
    expect(second).toEqual(first);
  });

  // Every combination of a shadow value (or none), a Semble value and a CRM value, in every
  // direction, with both timestamp orders: a second run never writes. A critical field that
  // conflicted stays a conflict (on purpose: only a resolution ends it), and nothing else does.
  describe('for every combination of values on each side', () => {
    const emails = [undefined, null, 'ada@example.com', ' ADA@example.com', 'ada@other.example'];
    const names = [undefined, null, 'Ada', ' Ada ', 'Augusta'];
    const directions: SyncDirection[] = ['BOTH', 'SEMBLE_TO_CRM', 'CRM_TO_SEMBLE'];
    const times: Array<[string, string]> = [
      ['2025-02-10T00:00:00.000Z', '2025-02-11T00:00:00.000Z'],
      ['2025-02-11T00:00:00.000Z', '2025-02-10T00:00:00.000Z'],
    ];

    it.each([
      ['email (critical)', 'email'],
      ['firstName (last write wins)', 'firstName'],
    ] as const)('%s', (_label, field) => {
      const values = field === 'email' ? emails : names;
      let cases = 0;
      for (const agreed of values) {
        for (const sembleValue of values.slice(1)) {
          for (const crmValue of values.slice(1)) {
            for (const direction of directions) {
              for (const [sembleAt, crmAt] of times) {
                const shadow: ShadowCopy = shadowOf();
                if (agreed === undefined) delete shadow.values[field];
                else shadow.values[field] = agreed === null ? null : agreed.trim().toLowerCase() === 'ada@example.com' ? 'ada@example.com' : agreed.trim();
                const semble: PatientRecord = sembleRecord({ [field]: sembleValue, updatedAt: sembleAt });
                const crm: PatientRecord = crmRecord({ [field]: crmValue, updatedAt: crmAt });
                const { first, second } = planTwice({ semble, crm, shadow }, direction);
                const conflicted = first.conflicts.map((conflict) => `${conflict.field}:CONFLICT`);
                expect({ direction, agreed, sembleValue, crmValue, second: nonSkips(second) }).toEqual({
                  direction,
                  agreed,
                  sembleValue,
                  crmValue,
                  second: conflicted,
                });
                cases++;
              }
            }
          }
        }
      }
      expect(cases).toBe(5 * 4 * 4 * 3 * 2);
    });
  });
});
