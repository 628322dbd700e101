/**
 * Data-quality scoring of a patient record as the practice system holds it: email, phones
 * (E.164 with GB as the default region) and the NHS number (modulus 11). Pure functions, so
 * the subgraph and the sync engine's rules can be tested without any server.
 */
import { parsePhoneNumberFromString } from 'libphonenumber-js';

/** EMAIL_DUPLICATE: another patient already uses the email (the sync engine's check; see DataQualityInput). */
export type DataQualityIssue = 'EMAIL_MISSING' | 'EMAIL_INVALID' | 'EMAIL_DUPLICATE' | 'PHONE_MISSING' | 'PHONE_INVALID' | 'NHS_NUMBER_INVALID';
export type DataQualityRoute = 'DIRECT' | 'SYNC_AND_FLAG' | 'HOLD_FOR_REVIEW';

export interface DataQuality {
  score: number;
  issues: DataQualityIssue[];
  route: DataQualityRoute;
}

export interface DataQualityInput {
  email: string | null | undefined;
  /** Phone numbers as entered. */
  phones: ReadonlyArray<string | null | undefined>;
  /** The NHS number as entered (spaces and hyphens allowed); absent is not an issue. */
  nhsNumber: string | null | undefined;
  /**
   * Another patient already uses this email (compared trimmed and lower-cased). Needs a lookup
   * across patients, so only callers that made one say so. An EMAIL_DUPLICATE issue, and the
   * patient is at least flagged for review (route SYNC_AND_FLAG): two patients sharing an email
   * is for a person to look at, never something to merge silently. @default false
   */
  emailUsedByAnotherPatient?: boolean;
}

/**
 * One local part, an @, and a domain of dot-separated labels ending in a 2+ letter TLD.
 * Deliberately not RFC 5322: it should catch what staff mistype (missing domain, spaces,
 * double dots), not reject unusual but deliverable addresses.
 */
const EMAIL = /^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}$/;

export function isValidEmail(email: string): boolean {
  const trimmed = email.trim();
  if (!EMAIL.test(trimmed)) return false;
  const local = trimmed.slice(0, trimmed.lastIndexOf('@'));
  return !local.startsWith('.') && !local.endsWith('.') && !local.includes('..');
}

/** E.164 form of a phone number (GB default region), or null when it does not validate. */
export function toE164(number: string): string | null {
  const parsed = parsePhoneNumberFromString(number, 'GB');
  return parsed && parsed.isValid() ? parsed.number : null;
}

/** The NHS number's digits when it has the right shape (10 digits after removing spaces and hyphens). */
export function normaliseNhsNumber(value: string): string | null {
  const digits = value.replace(/[\s-]/g, '');
  return /^\d{10}$/.test(digits) ? digits : null;
}

/** Modulus 11: weights 10..2 on digits 1–9; check = 11 − (sum mod 11); 11 → 0; 10 → never valid. */
export function isValidNhsNumber(value: string): boolean {
  const digits = normaliseNhsNumber(value);
  if (!digits) return false;
  let sum = 0;
  for (let i = 0; i < 9; i++) sum += Number(digits[i]) * (10 - i);
  const check = 11 - (sum % 11);
  if (check === 10) return false;
  return (check === 11 ? 0 : check) === Number(digits[9]);
}

export function scoreOf(issueCount: number): number {
  return Math.max(0, 100 - 20 * issueCount);
}

export function routeOf(score: number): DataQualityRoute {
  if (score >= 80) return 'DIRECT';
  if (score >= 60) return 'SYNC_AND_FLAG';
  return 'HOLD_FOR_REVIEW';
}

export function assessDataQuality(input: DataQualityInput): DataQuality {
  const issues: DataQualityIssue[] = [];
  const email = input.email?.trim() ?? '';
  if (!email) issues.push('EMAIL_MISSING');
  else if (!isValidEmail(email)) issues.push('EMAIL_INVALID');
  else if (input.emailUsedByAnotherPatient) issues.push('EMAIL_DUPLICATE');

  const phones = input.phones.map((phone) => phone?.trim() ?? '').filter((phone) => phone !== '');
  if (phones.length === 0) issues.push('PHONE_MISSING');
  // One issue however many numbers fail: the score measures the record, not the phone book.
  else if (phones.some((phone) => toE164(phone) === null)) issues.push('PHONE_INVALID');

  const nhs = input.nhsNumber?.trim() ?? '';
  if (nhs && !isValidNhsNumber(nhs)) issues.push('NHS_NUMBER_INVALID');

  const score = scoreOf(issues.length);
  const route = routeOf(score);
  return { score, issues, route: issues.includes('EMAIL_DUPLICATE') && route === 'DIRECT' ? 'SYNC_AND_FLAG' : route };
}
