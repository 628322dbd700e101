/**
 * How a verified token's claims become the gateway's AuthIdentity (roles wherever the identity
 * provider puts them, through the role map; a clinic this deployment serves), and the same rules
 * for development tokens in jwt mode, which must expire too.
 */
import jwt from 'jsonwebtoken';
import { createAuthenticator, signToken } from '../src/auth';
import { claimAt, identityFromClaims, rolesOf } from '../src/auth/claims';
import type { ClaimMapping } from '../src/auth/claims';
import { DEV_CLINIC } from '../src/auth/config';
import { loadGatewayConfig } from '../src/config';
import { fromRoot } from '../../lib/root';
import { INTERNAL_TOKEN_ENV } from './config-problems';

const NAMESPACED = 'https://patient-graph.example/roles';

describe('a claim path', () => {
  const claims = {
    roles: ['admin'],
    realm_access: { roles: ['clinician'] },
    [NAMESPACED]: ['finance'],
    'https://patient-graph.example/claims': { roles: ['analyst'] },
    'a.b': 'whole',
    a: { b: 'nested' },
  };

  it('is dot-separated, and a claim whose own name has dots is matched whole', () => {
    expect(claimAt(claims, 'roles')).toEqual(['admin']);
    expect(claimAt(claims, 'realm_access.roles')).toEqual(['clinician']);
    expect(claimAt(claims, NAMESPACED)).toEqual(['finance']);
    expect(claimAt(claims, 'https://patient-graph.example/claims.roles')).toEqual(['analyst']);
  });

  it('prefers the longest claim name that matches, and finds nothing where nothing is', () => {
    expect(claimAt(claims, 'a.b')).toBe('whole');
    expect(claimAt({ a: { b: 'nested' } }, 'a.b')).toBe('nested');
    expect(claimAt(claims, 'realm_access.groups')).toBeUndefined();
    expect(claimAt(claims, 'roles.0')).toBeUndefined();
  });
});

describe('roles', () => {
  /** The patient graph's roles, as its authorisation table lists them. */
  const knownRoles = new Set(['clinician', 'admin', 'marketing', 'finance', 'analyst', 'integration']);
  const mapping = (roleMap: ClaimMapping['roleMap'] = {}, rolesClaim = 'groups') => ({ rolesClaim, roleMap, knownRoles });

  it('keep only our role names, from a list or a string separated by spaces or commas', () => {
    expect(rolesOf({ groups: ['clinician', 'superuser', 42, 'finance'] }, mapping())).toEqual(['clinician', 'finance']);
    expect(rolesOf({ groups: 'clinician finance,analyst, root' }, mapping())).toEqual(['clinician', 'finance', 'analyst']);
    expect(rolesOf({ groups: { admin: true } }, mapping())).toEqual([]);
    expect(rolesOf({}, mapping())).toEqual([]);
  });

  it("map the provider's values to ours, drop what the map does not know, and let the map override our own names", () => {
    const groups = ['6f1c-clinicians', 'b2d4-front-desk', 'b2d4-front-desk', 'unmapped-group', 'admin', 'marketing'];
    const roleMap = { '6f1c-clinicians': ['clinician'], 'b2d4-front-desk': ['admin', 'analyst'], admin: [] };
    expect(rolesOf({ groups }, mapping(roleMap))).toEqual(['clinician', 'admin', 'analyst', 'marketing']);
    expect(rolesOf({ groups: ['admin'] }, mapping(roleMap))).toEqual([]);
  });

  it('are kept as they are when the gateway knows no role names (no authorisation table, no role map)', () => {
    expect(rolesOf({ groups: ['reader', 'clerk'] }, { rolesClaim: 'groups', roleMap: {} })).toEqual(['reader', 'clerk']);
  });

  it('never reach into the prototype of the role map', () => {
    expect(rolesOf({ groups: ['constructor', 'toString', '__proto__'] }, mapping())).toEqual([]);
  });
});

describe('the clinic', () => {
  const mapping: ClaimMapping = { rolesClaim: 'roles', roleMap: {}, clinicClaim: 'tenant.clinic', clinics: ['north', 'south'] };

  it('must be one this deployment serves; a refusal names the claim and never its value', () => {
    expect(identityFromClaims({ sub: 'u1', roles: ['clinician'], exp: 2_000_000_000, tenant: { clinic: 'south' } }, mapping)).toEqual({
      ok: true,
      identity: { subject: 'u1', roles: ['clinician'], clinic: 'south', expiresAt: 2_000_000_000_000 },
    });
    const elsewhere = identityFromClaims({ sub: 'u1', tenant: { clinic: 'west-end-clinic' } }, mapping);
    expect(elsewhere).toEqual({ ok: false, reason: 'the token\'s "tenant.clinic" claim is not a clinic this gateway serves' });
    expect(JSON.stringify(elsewhere)).not.toContain('west-end');
    expect(identityFromClaims({ sub: 'u1' }, mapping)).toEqual({ ok: false, reason: 'the token has no "tenant.clinic" claim: every token is for one clinic' });
    expect(identityFromClaims({ sub: 'u1', tenant: { clinic: ['north', 'south'] } }, mapping)).toEqual({
      ok: false,
      reason: 'the token\'s "tenant.clinic" claim is not one clinic id (a string)',
    });
  });
});

describe('jwt mode (development)', () => {
  const SECRET = 'development-secret-0123456789abcdef';
  // As npm start runs it: the patient graph's config file, whose authorisation table names our roles.
  const config = loadGatewayConfig({ AUTH_JWT_SECRET: SECRET, ...INTERNAL_TOKEN_ENV, GATEWAY_CONFIG: fromRoot('schema', 'gateway.json') });
  const authenticate = createAuthenticator(config.auth, { roles: Object.keys(config.authorization.roles) });

  it("serves npm start's clinic by default and refuses tokens for others", async () => {
    const result = await authenticate(`Bearer ${signToken(SECRET, { subject: 'dev-user', roles: ['clinician', 'root'], clinic: DEV_CLINIC })}`);
    expect(result).toEqual({ ok: true, identity: { subject: 'dev-user', roles: ['clinician'], clinic: DEV_CLINIC, expiresAt: expect.any(Number) } });
    expect(await authenticate(`Bearer ${signToken(SECRET, { subject: 'dev-user', roles: ['clinician'], clinic: 'test' })}`)).toEqual({
      ok: false,
      reason: 'the token\'s "clinic" claim is not a clinic this gateway serves',
    });
  });

  it('refuses a token without an expiry, which signToken never makes', async () => {
    const forever = jwt.sign({ roles: ['admin'], clinic: DEV_CLINIC }, SECRET, { algorithm: 'HS256', subject: 'dev-user' });
    expect(await authenticate(`Bearer ${forever}`)).toEqual({ ok: false, reason: 'invalid token: jwt has no exp claim' });
    const minted = jwt.decode(signToken(SECRET, { subject: 'dev-user', roles: [], clinic: DEV_CLINIC })) as jwt.JwtPayload;
    expect(minted.exp).toBe(minted.iat! + 12 * 3600);
  });

  it('refuses a token that is not a JWT at all without throwing', async () => {
    expect(await authenticate('Bearer not-a-token')).toEqual({ ok: false, reason: 'invalid token: jwt malformed' });
    expect(await authenticate('Bearer a.b.c')).toEqual({ ok: false, reason: 'invalid token: jwt malformed' });
  });
});
