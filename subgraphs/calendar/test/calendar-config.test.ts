/** Configuration from the environment: defaults, the env names in messages, the token hidden. */
import { ConfigError } from '../../../lib/config';
import { SEED_CALENDAR_ID } from '../../../lib/seed';
import { TEST_INTERNAL_TOKEN_SECRET } from '../../../lib/test/as-gateway';
import { loadCalendarConfig } from '../src/config';

/** The subgraph's configuration from `env` and the secret every subgraph needs (test/trusted-subgraphs.test.ts checks it). */
const load = (env: NodeJS.ProcessEnv) => loadCalendarConfig({ INTERNAL_TOKEN_SECRET: TEST_INTERNAL_TOKEN_SECRET, ...env });

describe('loadCalendarConfig', () => {
  it('falls back to the local emulator and the seed calendar', () => {
    expect(load({})).toEqual({
      port: 4004,
      host: '127.0.0.1',
      baseUrl: 'http://127.0.0.1:4104',
      token: 'google-dev-token',
      calendarId: SEED_CALENDAR_ID,
      timeoutMs: 10000,
      internalTokenSecret: TEST_INTERNAL_TOKEN_SECRET,
    });
  });

  it('reads every key from its environment variable', () => {
    expect(
      load({
        PORT: '0',
        HOST: '0.0.0.0',
        GOOGLE_CALENDAR_BASE_URL: 'https://www.googleapis.com',
        GOOGLE_CALENDAR_TOKEN: 'ya29.secret',
        GOOGLE_CALENDAR_ID: 'primary',
        GOOGLE_CALENDAR_TIMEOUT_MS: '2500',
      }),
    ).toEqual({
      port: 0,
      host: '0.0.0.0',
      baseUrl: 'https://www.googleapis.com',
      token: 'ya29.secret',
      calendarId: 'primary',
      timeoutMs: 2500,
      internalTokenSecret: TEST_INTERNAL_TOKEN_SECRET,
    });
  });

  it('names the variable, what was expected and what was found', () => {
    const error = (() => {
      try {
        load({ PORT: 'eighty', GOOGLE_CALENDAR_BASE_URL: 'ftp://calendar', GOOGLE_CALENDAR_TIMEOUT_MS: '-5' });
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
    expect(load({ HOST: '', GOOGLE_CALENDAR_ID: '', GOOGLE_CALENDAR_TOKEN: '' })).toMatchObject({
      host: '127.0.0.1',
      calendarId: SEED_CALENDAR_ID,
      token: 'google-dev-token',
    });
  });
});
