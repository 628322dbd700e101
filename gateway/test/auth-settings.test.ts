/**
 * The authentication settings, validated at start-up: OIDC's keys and checks, tenancy, the role
 * map, and what production insists on (OIDC with an issuer and an audience over https; never
 * jwt or none). Messages name the variable, what was expected and what was found.
 */
import { fromRoot } from '../../lib/root';
import { loadGatewayConfig } from '../src/config';
import { INTERNAL_TOKEN_ENV, problemsOf } from './config-problems';

const OIDC = { ...INTERNAL_TOKEN_ENV, AUTH_MODE: 'oidc', AUTH_ISSUER: 'https://login.example.org/tenant/v2.0', AUTH_AUDIENCE: 'api://patient-graph', AUTH_CLINICS: 'north' };
const PRODUCTION = { ...OIDC, NODE_ENV: 'production' };

describe('authentication settings', () => {
  it('take OIDC with safe defaults: RS256 and ES256, 30 s of clock tolerance, a key set refetched at most every 30 s', () => {
    expect(loadGatewayConfig(OIDC).auth).toEqual({
      mode: 'oidc',
      issuer: OIDC.AUTH_ISSUER,
      audience: OIDC.AUTH_AUDIENCE,
      clinics: ['north'],
      algorithms: ['RS256', 'ES256'],
      clockToleranceSeconds: 30,
      jwksCooldownMs: 30_000,
      jwksMaxAgeMs: 600_000,
      rolesClaim: 'roles',
      roleMap: {},
      clinicClaim: 'clinic',
    });
  });

  it('read every OIDC variable', () => {
    const auth = loadGatewayConfig({
      ...OIDC,
      AUTH_ISSUER: '',
      AUTH_JWKS_URL: 'https://keys.example.org/jwks.json',
      AUTH_ALGORITHMS: 'ES384, PS256',
      AUTH_CLOCK_TOLERANCE_SECONDS: '5',
      AUTH_JWKS_COOLDOWN_MS: '10000',
      AUTH_JWKS_MAX_AGE_MS: '60000',
      AUTH_ROLES_CLAIM: 'https://patient-graph.example/roles',
      AUTH_ROLE_MAP: '{"Clinicians": "clinician", "Front desk": ["admin", "analyst"]}',
      AUTH_CLINIC_CLAIM: 'tid',
      AUTH_CLINICS: 'north, south,',
    }).auth;
    expect(auth).toMatchObject({
      jwksUrl: 'https://keys.example.org/jwks.json',
      algorithms: ['ES384', 'PS256'],
      clockToleranceSeconds: 5,
      jwksCooldownMs: 10_000,
      jwksMaxAgeMs: 60_000,
      rolesClaim: 'https://patient-graph.example/roles',
      roleMap: { Clinicians: ['clinician'], 'Front desk': ['admin', 'analyst'] },
      clinicClaim: 'tid',
      clinics: ['north', 'south'],
    });
    expect(auth).not.toHaveProperty('issuer');
  });

  it('need where the keys are and which clinics are served', () => {
    expect(problemsOf({ ...INTERNAL_TOKEN_ENV, AUTH_MODE: 'oidc' })).toEqual([
      'AUTH_ISSUER: expected an issuer URL (OIDC discovery), or AUTH_JWKS_URL for keys alone (outside production), found nothing (unset)',
      'AUTH_CLINICS: expected the clinic id(s) this deployment serves, comma-separated, found nothing (unset)',
    ]);
    expect(problemsOf({ ...OIDC, AUTH_ISSUER: 'login.example.org' })).toEqual(['AUTH_ISSUER: expected an http(s) URL, found "login.example.org"']);
  });

  it('refuse HS* and none as OIDC algorithms', () => {
    for (const algorithm of ['HS256', 'none']) {
      expect(problemsOf({ ...OIDC, AUTH_ALGORITHMS: `RS256,${algorithm}` })).toEqual([
        `AUTH_ALGORITHMS: expected one of "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA", found "${algorithm}"`,
      ]);
    }
  });

  it('serve the clinic of the development token in jwt mode unless AUTH_CLINICS says otherwise', () => {
    expect(loadGatewayConfig({ ...INTERNAL_TOKEN_ENV, AUTH_JWT_SECRET: 'x'.repeat(32) }).auth).toMatchObject({ mode: 'jwt', clinics: ['dev-clinic'] });
    expect(loadGatewayConfig({ ...INTERNAL_TOKEN_ENV, AUTH_JWT_SECRET: 'x'.repeat(32), AUTH_CLINICS: 'test' }).auth).toMatchObject({ clinics: ['test'] });
  });

  it('check the role map: JSON, an object, and only roles of the authorisation table, naming the entry at fault', () => {
    expect(problemsOf({ ...OIDC, AUTH_ROLE_MAP: '{"Clinicians": clinician}' })).toEqual([
      'AUTH_ROLE_MAP: expected JSON {"<identity provider value>": "<role>" | ["<role>", …]}, found text that is not JSON',
    ]);
    expect(problemsOf({ ...OIDC, AUTH_ROLE_MAP: '["clinician"]' })).toEqual(['AUTH_ROLE_MAP: expected record, found ["clinician"]']);
    const roleMap = '{"Doctors": "clinician", "IT": ["admin", "superuser"]}';
    expect(problemsOf({ ...OIDC, AUTH_ROLE_MAP: roleMap, GATEWAY_CONFIG: fromRoot('schema', 'gateway.json') })).toEqual([
      'AUTH_ROLE_MAP["IT"]: expected a role of the config file\'s authorization.roles (clinician, admin, marketing, finance, analyst, integration), found "superuser"',
    ]);
    // Without a table there is nothing to check the roles against: they name the roles.
    expect(loadGatewayConfig({ ...OIDC, AUTH_ROLE_MAP: roleMap }).auth).toMatchObject({ roleMap: { Doctors: ['clinician'], IT: ['admin', 'superuser'] } });
  });

  it('name a bad number', () => {
    expect(problemsOf({ ...OIDC, AUTH_JWKS_COOLDOWN_MS: 'soon', AUTH_CLOCK_TOLERANCE_SECONDS: '3600' })).toEqual([
      'AUTH_JWKS_COOLDOWN_MS: expected number, found "soon"',
      'AUTH_CLOCK_TOLERANCE_SECONDS: expected a value <= 300, found 3600',
    ]);
  });
});

describe('authentication in production', () => {
  it('is OIDC with an issuer, an audience and the clinics served', () => {
    expect(loadGatewayConfig(PRODUCTION).auth.mode).toBe('oidc');
    // Without AUTH_MODE production asks for what OIDC needs, not for a development secret.
    expect(problemsOf({ ...INTERNAL_TOKEN_ENV, NODE_ENV: 'production' })).toEqual([
      'AUTH_ISSUER: expected an issuer URL (OIDC discovery), or AUTH_JWKS_URL for keys alone (outside production), found nothing (unset)',
      'AUTH_CLINICS: expected the clinic id(s) this deployment serves, comma-separated, found nothing (unset)',
      "AUTH_AUDIENCE: expected this API's audience in production (every token's aud is checked), found nothing (unset)",
    ]);
    expect(problemsOf({ ...PRODUCTION, AUTH_ISSUER: '', AUTH_JWKS_URL: 'https://keys.example.org/jwks.json', AUTH_AUDIENCE: '' })).toEqual([
      "AUTH_ISSUER: expected the identity provider's issuer URL in production (every token's iss is checked), found nothing (unset)",
      "AUTH_AUDIENCE: expected this API's audience in production (every token's aud is checked), found nothing (unset)",
    ]);
  });

  it('refuses jwt mode, naming the mode and never the secret', () => {
    const problems = problemsOf({ ...PRODUCTION, AUTH_MODE: 'jwt', AUTH_JWT_SECRET: 'development-secret-0123456789abcdef' });
    expect(problems).toEqual(['AUTH_MODE: expected "oidc" in production (jwt and none are for development), found "jwt"']);
    expect(problems.join()).not.toContain('development-secret');
  });

  it('fetches keys over https only', () => {
    expect(problemsOf({ ...PRODUCTION, AUTH_ISSUER: 'http://login.example.org/' })).toEqual([
      'AUTH_ISSUER: expected an https URL in production (the keys that sign tokens come from it), found "http://login.example.org/"',
    ]);
  });
});
