/**
 * Entrypoint of the Semble emulator. Env: PORT (4101), HOST (127.0.0.1), SEED_PATIENTS (500),
 * SEED (42), SEMBLE_TOKEN (semble-dev-token).
 */
import { runEmulator } from '../../../lib/emulator-main';
import { startSembleEmulator } from './server';

runEmulator({
  name: 'semble-emulator',
  defaultPort: 4101,
  tokenEnv: 'SEMBLE_TOKEN',
  defaultToken: 'semble-dev-token',
  start: (base) => startSembleEmulator(base),
});
