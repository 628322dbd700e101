import { ConfigError } from '../../lib/config';
import { loadGatewayConfig } from '../src/config';

const SECRET = 'x'.repeat(32);

function problemsOf(env: NodeJS.ProcessEnv): string[] {
  try {
    loadGatewayConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  throw new Error('expected the configuration to be rejected');
}

describe('gateway configuration is validated at start-up', () => {
  it('starts on embedded defaults when only the JWT secret is given', () => {
    const config = loadGatewayConfig({ AUTH_JWT_SECRET: SECRET });
    expect(config).toMatchObject({ port: 4000, supergraphPath: 'schema/supergraph.graphql', auth: { mode: 'jwt' }, subgraphUrls: {} });
  });

  it('requires authentication by default and names the missing secret', () => {
    expect(problemsOf({})).toEqual(['AUTH_JWT_SECRET: expected string, found nothing (unset)']);
  });

  it('never prints the secret it rejects', () => {
    const problems = problemsOf({ AUTH_JWT_SECRET: 'hunter2' });
    expect(problems).toEqual(['AUTH_JWT_SECRET: expected at least 32 characters, found a string (hidden)']);
    expect(problems.join()).not.toContain('hunter2');
  });

  it('names the key, what was expected and what was found for a bad port', () => {
    expect(problemsOf({ AUTH_JWT_SECRET: SECRET, PORT: 'eighty' })).toEqual(['PORT: expected number, found "eighty"']);
    expect(problemsOf({ AUTH_JWT_SECRET: SECRET, PORT: '70000' })).toEqual(['PORT: expected a value <= 65535, found 70000']);
  });

  it('reads subgraph URLs from SUBGRAPH_<NAME>_URL and rejects ones that are not http(s)', () => {
    const config = loadGatewayConfig({ AUTH_JWT_SECRET: SECRET, SUBGRAPH_SEMBLE_URL: 'http://10.0.0.5:4001/graphql' });
    expect(config.subgraphUrls).toEqual({ semble: 'http://10.0.0.5:4001/graphql' });
    expect(problemsOf({ AUTH_JWT_SECRET: SECRET, SUBGRAPH_CRM_URL: 'ftp://crm' })).toEqual([
      'SUBGRAPH_CRM_URL: expected an http(s) URL, found "ftp://crm"',
    ]);
  });

  it('refuses to run without authentication in production', () => {
    expect(problemsOf({ AUTH_MODE: 'none', NODE_ENV: 'production' })).toEqual([
      'AUTH_MODE: expected authentication in production (AUTH_MODE=jwt), found "none"',
    ]);
    expect(loadGatewayConfig({ AUTH_MODE: 'none' }).auth).toEqual({ mode: 'none' });
  });

  it('rejects an unknown AUTH_MODE and NODE_ENV with the allowed values', () => {
    expect(problemsOf({ AUTH_MODE: 'basic' })).toEqual([expect.stringMatching(/^AUTH_MODE: expected .*"jwt".*"none".*, found "basic"$/)]);
    expect(problemsOf({ AUTH_JWT_SECRET: SECRET, NODE_ENV: 'staging' })).toEqual([
      'NODE_ENV: expected one of "development", "production", "test", found "staging"',
    ]);
  });

  it('lets command-line flags win over the environment', () => {
    const config = loadGatewayConfig({ AUTH_JWT_SECRET: SECRET, PORT: '5000', SUPERGRAPH_PATH: 'a.graphql' }, { port: 6000, supergraphPath: 'b.graphql' });
    expect(config.port).toBe(6000);
    expect(config.supergraphPath).toBe('b.graphql');
  });
});
