/** Configuration from the environment: defaults, the env names in messages, the token hidden. */
import { ConfigError } from '../../../lib/config';
import { SEED_CALENDAR_ID } from '../../../lib/seed';
import { loadCalendarConfig } from '../src/config';

describe('loadCalendarConfig', () => {
  it('falls back to the local emulator and the seed calendar', () => {
    expect(loadCalendarConfig({})).toEqual({
      port: 4004,
      host: '127.0.0.1',
      baseUrl: 'http://127.0.0.1:4104',
      token: 'google-dev-token',
      calendarId: SEED_CALENDAR_ID,
      timeoutMs: 10000,
    });
  });

  it('reads every key from its environment variable', () => {
    expect(
      loadCalendarConfig({
        PORT: '0',
        HOST: '0.0.0.0',
        GOOGLE_CALENDAR_BASE_URL: 'https://www.googleapis.com',
        GOOGLE_CALENDAR_TOKEN: 'ya29.secret',
        GOOGLE_CALENDAR_ID: 'primary',
        GOOGLE_CALENDAR_TIMEOUT_MS: '2500',
      }),
    ).toEqual({ port: 0, host: '0.0.0.0', baseUrl: 'https://www.googleapis.com', token: 'ya29.secret', calendarId: 'primary', timeoutMs: 2500 });
  });

  it('names the variable, what was expected and what was found', () => {
    const error = (() => {
      try {
        loadCalendarConfig({ PORT: 'eighty', GOOGLE_CALENDAR_BASE_URL: 'ftp://calendar', GOOGLE_CALENDAR_TIMEOUT_MS: '-5' });
      } catch (caught) {
        return caught as ConfigError;
      }
      throw new Error('expected a ConfigError');
    })();
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.problems).toEqual([
      'PORT: expected number, found "eighty"',
      'GOOGLE_CALENDAR_BASE_URL: expected an http(s) URL, found "ftp://calendar"',
      expect.stringMatching(/^GOOGLE_CALENDAR_TIMEOUT_MS: expected .*, found -5$/),
    ]);
  });

  it('treats an empty variable as unset', () => {
    expect(loadCalendarConfig({ HOST: '', GOOGLE_CALENDAR_ID: '', GOOGLE_CALENDAR_TOKEN: '' })).toMatchObject({
      host: '127.0.0.1',
      calendarId: SEED_CALENDAR_ID,
      token: 'google-dev-token',
    });
  });
});
