/**
 * Entrypoint of the Google Calendar emulator. Env: PORT (4104), HOST (127.0.0.1),
 * SEED_PATIENTS (500), SEED (42), GOOGLE_CALENDAR_TOKEN (google-dev-token).
 */
import { runEmulator } from '../../../lib/emulator-main';
import { startGoogleCalendarEmulator } from './server';

runEmulator({
  name: 'google-calendar-emulator',
  defaultPort: 4104,
  tokenEnv: 'GOOGLE_CALENDAR_TOKEN',
  defaultToken: 'google-dev-token',
  start: (base) => startGoogleCalendarEmulator(base),
});
