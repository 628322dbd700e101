/** For tests of start-up validation: the problems a gateway configuration is rejected with. */
import { ConfigError } from '../../lib/config';
import { loadGatewayConfig } from '../src/config';

/** What every gateway needs whatever else a test is about: the secret it signs subgraph calls with. */
export const INTERNAL_TOKEN_ENV = { INTERNAL_TOKEN_SECRET: 'internal-secret-0123456789abcdef0123' };

export function problemsOf(env: NodeJS.ProcessEnv): string[] {
  try {
    loadGatewayConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  throw new Error('expected the configuration to be rejected');
}
