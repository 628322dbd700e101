/** For tests of start-up validation: the problems a gateway configuration is rejected with. */
import { ConfigError } from '../../lib/config';
import { loadGatewayConfig } from '../src/config';

export function problemsOf(env: NodeJS.ProcessEnv): string[] {
  try {
    loadGatewayConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  throw new Error('expected the configuration to be rejected');
}
