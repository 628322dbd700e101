import { assessDataQuality, isValidEmail, isValidNhsNumber, routeOf, scoreOf, toE164 } from '../../../lib/data-quality';

const GOOD = { email: 'ada.lovelace@example.co.uk', phones: ['07912 345678'], nhsNumber: '943 476 5919' };

describe('NHS number (modulus 11)', () => {
  it('accepts the documented example with spaces, hyphens or none', () => {
    expect(isValidNhsNumber('943 476 5919')).toBe(true);
    expect(isValidNhsNumber('943-476-5919')).toBe(true);
    expect(isValidNhsNumber('9434765919')).toBe(true);
  });
  it('rejects a wrong check digit', () => {
    expect(isValidNhsNumber('943 476 5918')).toBe(false);
  });
  it('computes the check digit as 11 − (sum mod 11)', () => {
    // 400 000 000x: sum = 4 × 10 = 40; 40 mod 11 = 7 → check 4.
    expect(isValidNhsNumber('4000000004')).toBe(true);
    // 110 000 000x: sum = 1 × 10 + 1 × 9 = 19; 19 mod 11 = 8 → check 3.
    expect(isValidNhsNumber('1100000003')).toBe(true);
    expect(isValidNhsNumber('1100000004')).toBe(false);
  });
  it('maps a check of 11 to 0', () => {
    // 000 000 000x: sum 0 → 11 − 0 = 11 → 0.
    expect(isValidNhsNumber('0000000000')).toBe(true);
    // 100 000 001x: sum = 10 + 2 = 12; 12 mod 11 = 1 → 10 (invalid); 200 000 001x: 20 + 2 = 22 → 0 → 11 → 0.
    expect(isValidNhsNumber('2000000010')).toBe(true);
  });
  it('rejects a check value of 10 whatever the last digit', () => {
    for (let d = 0; d <= 9; d++) expect(isValidNhsNumber(`999000000${d}`)).toBe(false);
  });
  it('rejects the wrong length and non-digits', () => {
    expect(isValidNhsNumber('943476591')).toBe(false);
    expect(isValidNhsNumber('94347659190')).toBe(false);
    expect(isValidNhsNumber('943 476 591X')).toBe(false);
    expect(isValidNhsNumber('')).toBe(false);
  });
});

describe('phones', () => {
  it('gives E.164 for a valid GB number', () => {
    expect(toE164('07912 345678')).toBe('+447912345678');
    expect(toE164('+44 7912 345678')).toBe('+447912345678');
  });
  it('gives null for an Ofcom drama number, which parses but does not validate', () => {
    expect(toE164('07700 900123')).toBeNull();
  });
  it('gives null for something that is not a phone number', () => {
    expect(toE164('12345')).toBeNull();
    expect(toE164('not a phone')).toBeNull();
  });
});

describe('email', () => {
  it.each(['a@b.co', 'first.last+tag@example.co.uk', '  padded@example.com  ', "o'brien@example.ie"])('accepts %j', (email) => {
    expect(isValidEmail(email)).toBe(true);
  });
  it.each(['olivia.smith12@', '@example.com', 'no-at.example.com', 'two@@example.com', 'sp ace@example.com', 'a..b@example.com', 'a@example', 'a@-x.com'])(
    'rejects %j',
    (email) => {
      expect(isValidEmail(email)).toBe(false);
    },
  );
});

describe('score and route', () => {
  it('scores 100 − 20 per issue, never below 0', () => {
    expect([0, 1, 2, 3, 4, 5, 6].map(scoreOf)).toEqual([100, 80, 60, 40, 20, 0, 0]);
  });
  it('routes by the 80 and 60 thresholds', () => {
    expect(routeOf(100)).toBe('DIRECT');
    expect(routeOf(80)).toBe('DIRECT');
    expect(routeOf(79)).toBe('SYNC_AND_FLAG');
    expect(routeOf(60)).toBe('SYNC_AND_FLAG');
    expect(routeOf(59)).toBe('HOLD_FOR_REVIEW');
    expect(routeOf(0)).toBe('HOLD_FOR_REVIEW');
  });
});

describe('assessDataQuality', () => {
  it('finds nothing wrong with a clean record', () => {
    expect(assessDataQuality(GOOD)).toEqual({ score: 100, issues: [], route: 'DIRECT' });
  });
  it('does not count an absent NHS number', () => {
    expect(assessDataQuality({ ...GOOD, nhsNumber: null }).issues).toEqual([]);
    expect(assessDataQuality({ ...GOOD, nhsNumber: '  ' }).issues).toEqual([]);
  });
  it('flags a missing email (null, empty or blank)', () => {
    for (const email of [null, undefined, '', '   ']) expect(assessDataQuality({ ...GOOD, email }).issues).toEqual(['EMAIL_MISSING']);
  });
  it('flags an invalid email, after trimming', () => {
    expect(assessDataQuality({ ...GOOD, email: 'olivia.smith12@' }).issues).toEqual(['EMAIL_INVALID']);
    expect(assessDataQuality({ ...GOOD, email: '  ok@example.com ' }).issues).toEqual([]);
  });
  it('flags no phones as PHONE_MISSING, blanks included', () => {
    expect(assessDataQuality({ ...GOOD, phones: [] }).issues).toEqual(['PHONE_MISSING']);
    expect(assessDataQuality({ ...GOOD, phones: ['', null] }).issues).toEqual(['PHONE_MISSING']);
  });
  it('flags any invalid phone once', () => {
    const quality = assessDataQuality({ ...GOOD, phones: ['07912 345678', '07700 900123', '12345'] });
    expect(quality).toEqual({ score: 80, issues: ['PHONE_INVALID'], route: 'DIRECT' });
  });
  it('flags an NHS number failing modulus 11', () => {
    expect(assessDataQuality({ ...GOOD, nhsNumber: '943 476 5918' }).issues).toEqual(['NHS_NUMBER_INVALID']);
    expect(assessDataQuality({ ...GOOD, nhsNumber: '12345' }).issues).toEqual(['NHS_NUMBER_INVALID']);
  });
  it('adds issues up into the score and route', () => {
    expect(assessDataQuality({ email: 'bad@', phones: ['07700 900123'], nhsNumber: '943 476 5919' })).toEqual({
      score: 60,
      issues: ['EMAIL_INVALID', 'PHONE_INVALID'],
      route: 'SYNC_AND_FLAG',
    });
    expect(assessDataQuality({ email: null, phones: [], nhsNumber: '0000000001' })).toEqual({
      score: 40,
      issues: ['EMAIL_MISSING', 'PHONE_MISSING', 'NHS_NUMBER_INVALID'],
      route: 'HOLD_FOR_REVIEW',
    });
  });
});
