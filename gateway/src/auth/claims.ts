/**
 * From a verified token's claims to the gateway's AuthIdentity: the roles (wherever the identity
 * provider puts them, through the role map, only roles the gateway knows), the clinic (which must
 * be one this deployment serves), the subject and the expiry. Refusal reasons name claims, never
 * their values.
 */
import type { AuthResult } from '../auth';
import type { JwtAuthConfig, OidcAuthConfig } from './config';

export type ClaimMapping = Pick<OidcAuthConfig | JwtAuthConfig, 'rolesClaim' | 'roleMap' | 'clinicClaim' | 'clinics'> & {
  /**
   * Our role names: a provider's value that is one maps to itself. Undefined when the gateway
   * knows none (no authorisation table, no role map): every value is then kept as it is.
   */
  knownRoles?: ReadonlySet<string>;
};

/**
 * The value at a dot-separated claim path. At each level the longest claim name that matches
 * wins, so a namespaced claim (`https://example.org/roles`, whose name has dots) is found whole,
 * and so is a path below one (`https://example.org/claims.roles`).
 */
export function claimAt(claims: unknown, path: string): unknown {
  const walk = (node: unknown, segments: string[]): unknown => {
    if (segments.length === 0) return node;
    if (!node || typeof node !== 'object' || Array.isArray(node)) return undefined;
    for (let take = segments.length; take >= 1; take--) {
      const name = segments.slice(0, take).join('.');
      if (Object.hasOwn(node, name)) {
        const found = walk((node as Record<string, unknown>)[name], segments.slice(take));
        if (found !== undefined) return found;
      }
    }
    return undefined;
  };
  return walk(claims, path.split('.'));
}

/** The values of a roles claim: an array of strings, or one string separated by spaces or commas. */
function valuesOf(claim: unknown): string[] {
  if (typeof claim === 'string') return claim.split(/[\s,]+/).filter(Boolean);
  if (Array.isArray(claim)) return claim.filter((value): value is string => typeof value === 'string');
  return [];
}

/** Our roles for the provider's values, in the order they appear, each once. */
export function rolesOf(claims: unknown, mapping: Pick<ClaimMapping, 'rolesClaim' | 'roleMap' | 'knownRoles'>): string[] {
  const roles = new Set<string>();
  const isOurs = (value: string) => mapping.knownRoles?.has(value) ?? true;
  for (const value of valuesOf(claimAt(claims, mapping.rolesClaim))) {
    // An own-property check: a provider value such as "constructor" must not reach Object.prototype.
    const mapped = Object.hasOwn(mapping.roleMap, value) ? mapping.roleMap[value]! : isOurs(value) ? [value] : [];
    for (const role of mapped) roles.add(role);
  }
  return [...roles];
}

/** The identity a verified token stands for, or why it is refused (its clinic). */
export function identityFromClaims(claims: Record<string, unknown>, mapping: ClaimMapping): AuthResult {
  const clinic = claimAt(claims, mapping.clinicClaim);
  const claimName = JSON.stringify(mapping.clinicClaim);
  if (clinic === undefined) return { ok: false, reason: `the token has no ${claimName} claim: every token is for one clinic` };
  if (typeof clinic !== 'string') return { ok: false, reason: `the token's ${claimName} claim is not one clinic id (a string)` };
  if (!mapping.clinics.includes(clinic)) return { ok: false, reason: `the token's ${claimName} claim is not a clinic this gateway serves` };
  return {
    ok: true,
    identity: {
      subject: typeof claims.sub === 'string' ? claims.sub : 'unknown',
      roles: rolesOf(claims, mapping),
      clinic,
      expiresAt: typeof claims.exp === 'number' ? claims.exp * 1000 : undefined,
    },
  };
}
