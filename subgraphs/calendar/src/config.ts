/**
 * The calendar subgraph's configuration: one zod schema, read from environment variables and
 * validated once at start-up. A problem names the environment variable, what was expected and
 * what was found (never the token itself).
 */
import { z } from 'zod';
import { envInt, parseConfig } from '../../../lib/config';
import { INTERNAL_TOKEN_SECRET_ENV, internalTokenSecretSchema } from '../../../lib/internal-identity';
import { SEED_CALENDAR_ID } from '../../../lib/seed';

const calendarConfigSchema = z.object({
  /** Port the subgraph listens on; 0 picks a free one. @default 4004 */
  port: z.number().int().min(0).max(65535).default(4004),
  /** Interface to bind. @default 127.0.0.1 */
  host: z.string().min(1).default('127.0.0.1'),
  /** Google Calendar API base URL (the client appends /calendar/v3/…). @default the local emulator */
  baseUrl: z.url({ protocol: /^https?$/ }).default('http://127.0.0.1:4104'),
  /** OAuth access token for Google Calendar. @default the emulator's dev token */
  token: z.string().min(1).default('google-dev-token'),
  /** The clinic's calendar, where appointments are mirrored. @default the seed's calendar */
  calendarId: z.string().min(1).default(SEED_CALENDAR_ID),
  /** Abort one vendor attempt after this long, in ms. @default 10000 */
  timeoutMs: z.number().int().positive().default(10_000),
  /** Verifies the gateway's internal identity tokens; a call without one is refused (lib/internal-identity.ts). */
  internalTokenSecret: internalTokenSecretSchema,
});

export type CalendarConfig = z.infer<typeof calendarConfigSchema>;

const ENV_KEYS: Record<keyof CalendarConfig, string> = {
  port: 'PORT',
  host: 'HOST',
  baseUrl: 'GOOGLE_CALENDAR_BASE_URL',
  token: 'GOOGLE_CALENDAR_TOKEN',
  calendarId: 'GOOGLE_CALENDAR_ID',
  timeoutMs: 'GOOGLE_CALENDAR_TIMEOUT_MS',
  internalTokenSecret: INTERNAL_TOKEN_SECRET_ENV,
};

/** An empty variable counts as unset, so `HOST=` falls back to the default. */
const text = (value: string | undefined) => (value === '' ? undefined : value);

export function loadCalendarConfig(env: NodeJS.ProcessEnv): CalendarConfig {
  return parseConfig(
    calendarConfigSchema,
    {
      port: envInt(env.PORT),
      host: text(env.HOST),
      baseUrl: text(env.GOOGLE_CALENDAR_BASE_URL),
      token: text(env.GOOGLE_CALENDAR_TOKEN),
      calendarId: text(env.GOOGLE_CALENDAR_ID),
      timeoutMs: envInt(env.GOOGLE_CALENDAR_TIMEOUT_MS),
      internalTokenSecret: text(env[INTERNAL_TOKEN_SECRET_ENV]),
    },
    {
      keyOf: (path) => ENV_KEYS[path[0] as keyof CalendarConfig] ?? path.join('.'),
      secretKeys: [ENV_KEYS.token, ENV_KEYS.internalTokenSecret],
    },
  );
}
