/**
 * Entrypoint of the Stripe emulator. Env: PORT (4103), HOST (127.0.0.1), SEED_PATIENTS (500),
 * SEED (42), STRIPE_SECRET_KEY (sk_test_patientgraph), STRIPE_SEARCH_MAX_CLAUSES (10).
 */
import { z } from 'zod';
import { runEmulator } from '../../../lib/emulator-main';
import { startStripeEmulator } from './server';

runEmulator({
  name: 'stripe-emulator',
  defaultPort: 4103,
  tokenEnv: 'STRIPE_SECRET_KEY',
  defaultToken: 'sk_test_patientgraph',
  extra: {
    shape: { maxSearchClauses: z.number().int().min(1).default(10) },
    env: { maxSearchClauses: 'STRIPE_SEARCH_MAX_CLAUSES' },
  },
  start: (base, extra) => startStripeEmulator({ ...base, maxSearchClauses: extra.maxSearchClauses }),
});
