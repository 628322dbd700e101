import { applyShadowEntry, ConflictResolutionError, planConflictResolution } from '../src/rules/resolve';
import type { PlanConflictResolutionInput } from '../src/rules/resolve';
import { applyPlan, applyWrites, crmRecord, NOW, PATIENT_ID, plan, sembleRecord, shadowOf } from './patient-records';

const PHONE_CONFLICT = { field: 'phone', sembleValue: '+447912111222', crmValue: '+447912333444' };

function rejection(input: PlanConflictResolutionInput): ConflictResolutionError {
  try {
    planConflictResolution(input);
  } catch (error) {
    if (error instanceof ConflictResolutionError) return error;
    throw error;
  }
  throw new Error('expected a ConflictResolutionError');
}

describe('resolving a conflict picks the one value both systems get', () => {
  it("KEEP_SEMBLE writes Semble's value to the CRM (Semble already has it)", () => {
    expect(planConflictResolution({ conflict: PHONE_CONFLICT, resolution: 'KEEP_SEMBLE' })).toEqual({
      field: 'phone',
      value: '+447912111222',
      writes: { semble: {}, crm: { phone: '+447912111222' } },
      shadowEntry: { field: 'phone', value: '+447912111222' },
    });
  });

  it("KEEP_CRM writes the CRM's value to Semble", () => {
    const resolution = planConflictResolution({ conflict: PHONE_CONFLICT, resolution: 'KEEP_CRM' });
    expect(resolution.value).toBe('+447912333444');
    expect(resolution.writes).toEqual({ semble: { phone: '+447912333444' }, crm: {} });
  });

  it('CUSTOM writes a third value, normalised, to both', () => {
    const resolution = planConflictResolution({ conflict: PHONE_CONFLICT, resolution: 'CUSTOM', value: ' 07912 555666 ' });
    expect(resolution.value).toBe('+447912555666');
    expect(resolution.writes).toEqual({ semble: { phone: '+447912555666' }, crm: { phone: '+447912555666' } });
  });

  it('normalises emails and dates the way the plan compares them', () => {
    const email = planConflictResolution({ conflict: { field: 'email', sembleValue: 'a@x.example', crmValue: 'b@x.example' }, resolution: 'CUSTOM', value: ' Ada@Example.COM ' });
    expect(email.value).toBe('ada@example.com');
    const date = planConflictResolution({ conflict: { field: 'dateOfBirth', sembleValue: '1985-12-01', crmValue: '1985-12-10' }, resolution: 'CUSTOM', value: '1985-12-10T00:00:00.000Z' });
    expect(date.value).toBe('1985-12-10');
    expect(date.writes).toEqual({ semble: { dateOfBirth: '1985-12-10' }, crm: {} });
  });

  it('keeping a side that has no value clears the field on the other side', () => {
    const resolution = planConflictResolution({ conflict: { field: 'email', sembleValue: null, crmValue: 'ada@crm.example' }, resolution: 'KEEP_SEMBLE' });
    expect(resolution).toMatchObject({ value: null, writes: { semble: {}, crm: { email: null } } });
  });

  it('ends the conflict: with the resolution applied and the shadow entry stored, the next plan is all SKIP', () => {
    const state = { semble: sembleRecord({ phone: '07912 111222' }), crm: crmRecord({ phone: '07912 333444' }), shadow: shadowOf() };
    const conflicted = plan(state);
    const conflict = conflicted.conflicts[0]!;
    const resolution = planConflictResolution({
      conflict: { field: conflict.field, sembleValue: conflict.sembleValue as string, crmValue: conflict.crmValue as string },
      resolution: 'KEEP_CRM',
    });
    const afterPlan = applyPlan(state, conflicted);
    const resolved = applyWrites(afterPlan, resolution.writes, applyShadowEntry(afterPlan.shadow, PATIENT_ID, resolution.shadowEntry, NOW));
    const next = plan(resolved);
    expect(next.conflicts).toEqual([]);
    expect(next.decisions.every((decision) => decision.action === 'SKIP')).toBe(true);
    expect(next.nextShadow?.values.phone).toBe('+447912333444');
  });
});

describe('resolutions are validated up front, naming the field and never the value', () => {
  it('CUSTOM needs a value', () => {
    const error = rejection({ conflict: PHONE_CONFLICT, resolution: 'CUSTOM' });
    expect(error.code).toBe('VALUE_REQUIRED');
    expect(error.message).toBe('phone: expected a valid phone number (national GB numbers or +country code) with CUSTOM, got none');
    expect(rejection({ conflict: PHONE_CONFLICT, resolution: 'CUSTOM', value: '   ' }).code).toBe('VALUE_REQUIRED');
  });

  it('KEEP_SEMBLE and KEEP_CRM take no value', () => {
    const error = rejection({ conflict: PHONE_CONFLICT, resolution: 'KEEP_CRM', value: '07912 555666' });
    expect(error.code).toBe('VALUE_NOT_ALLOWED');
    expect(error.message).toBe('phone: expected no value with KEEP_CRM (only CUSTOM takes one), got a value');
  });

  it('an invalid custom email is refused without echoing it', () => {
    const error = rejection({ conflict: { field: 'email', sembleValue: 'a@x.example', crmValue: 'b@x.example' }, resolution: 'CUSTOM', value: 'ada.lovelace@nowhere' });
    expect(error).toMatchObject({ code: 'INVALID_VALUE', field: 'email', expected: 'a valid email address' });
    expect(error.message).toBe('email: expected a valid email address, got an invalid value (the custom value)');
    expect(error.message).not.toContain('lovelace');
  });

  it('an invalid phone is refused (a drama number parses but does not validate)', () => {
    const error = rejection({ conflict: PHONE_CONFLICT, resolution: 'CUSTOM', value: '07700 900123' });
    expect(error.code).toBe('INVALID_VALUE');
    expect(error.message).not.toContain('900123');
  });

  it('a date of birth must be a real YYYY-MM-DD date, and not in the future when `now` is given', () => {
    const conflict = { field: 'dateOfBirth', sembleValue: '1985-12-01', crmValue: '1985-12-10' };
    expect(rejection({ conflict, resolution: 'CUSTOM', value: '2023-02-29' }).expected).toBe('a date of birth as YYYY-MM-DD, a real date not in the future');
    expect(rejection({ conflict, resolution: 'CUSTOM', value: '10/12/1985' }).code).toBe('INVALID_VALUE');
    expect(rejection({ conflict, resolution: 'CUSTOM', value: '2025-03-02', now: NOW }).code).toBe('INVALID_VALUE');
    expect(planConflictResolution({ conflict, resolution: 'CUSTOM', value: '2025-03-01', now: NOW }).value).toBe('2025-03-01');
  });

  it("keeping a side's invalid value is refused too, saying which side: a resolution must not spread bad data", () => {
    const error = rejection({ conflict: { field: 'phone', sembleValue: '+447912111222', crmValue: '07700 900123' }, resolution: 'KEEP_CRM' });
    expect(error.message).toBe("phone: expected a valid phone number (national GB numbers or +country code), got an invalid value (the CRM's value)");
  });

  it('refuses unknown fields, fields that cannot be resolved by a string, and unknown resolutions', () => {
    expect(rejection({ conflict: { field: 'shoeSize', sembleValue: '5', crmValue: '6' }, resolution: 'KEEP_SEMBLE' })).toMatchObject({ code: 'UNKNOWN_FIELD' });
    expect(rejection({ conflict: { field: 'marketingConsent', sembleValue: null, crmValue: 'true' }, resolution: 'KEEP_CRM' })).toMatchObject({
      code: 'FIELD_NOT_RESOLVABLE',
      message: 'marketingConsent: expected a text-valued field, got a boolean field',
    });
    expect(rejection({ conflict: PHONE_CONFLICT, resolution: 'KEEP_BOTH' as never })).toMatchObject({ code: 'UNKNOWN_RESOLUTION' });
  });
});
