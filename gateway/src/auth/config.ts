/**
 * The gateway's authentication settings (`auth` in the gateway configuration): which tokens are
 * accepted (OIDC with the identity provider's published keys, or HS256 with a shared secret for
 * local development), how the provider's claims become our roles and clinic, and the rules that
 * depend on the rest of the configuration (production takes OIDC only, with an issuer and an
 * audience; the role map names roles of the authorisation table).
 */
import { z } from 'zod';

/** The clinic `npm start` mints its development token for: what jwt mode serves unless told otherwise. */
export const DEV_CLINIC = 'dev-clinic';

/**
 * Signature algorithms an identity provider may use: asymmetric only. HS* would make the
 * provider's shared secret (or, misused, its public key) a way to mint tokens; `none` signs nothing.
 */
export const OIDC_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'] as const;

const httpUrl = z.url({ protocol: /^https?$/ });

/** How a verified token's claims become an AuthIdentity; the same in both token modes. */
const claimMapping = {
  /**
   * Where the roles are: a claim path, dot-separated (`roles`, `groups`, `realm_access.roles`).
   * A claim whose own name has dots or slashes (a namespaced `https://example.org/roles`) is
   * matched whole: at each level the longest claim name that matches wins. The value is an array
   * of strings or one string of values separated by spaces or commas. @default "roles"
   */
  rolesClaim: z.string().min(1).default('roles'),
  /**
   * The identity provider's values (group ids, app role names) → our roles, the roles of the
   * authorisation table (`authorization.roles` in the config file). Unmapped values are dropped; a
   * value that is already one of our role names maps to itself unless listed here (map it to `[]`
   * to drop it). @default {}
   */
  roleMap: z.record(z.string().min(1), z.array(z.string().min(1))).default({}),
  /** The claim path of the clinic (tenant) id, a string; same syntax as rolesClaim. @default "clinic" */
  clinicClaim: z.string().min(1).default('clinic'),
  /** Leeway for `exp` and `nbf` against clocks that disagree a little. @default 30 */
  clockToleranceSeconds: z.number().int().min(0).max(300).default(30),
};

/** The clinic ids this deployment serves; a token for any other clinic (or none) is refused. */
const clinics = z.array(z.string().min(1));
const CLINICS_EXPECTED = 'the clinic id(s) this deployment serves, comma-separated';

export const authConfigSchema = z.discriminatedUnion(
  'mode',
  [
    z
      .object({
        /**
         * OIDC: tokens signed by an identity provider, verified with the keys it publishes (JWKS).
         * The production mode.
         */
        mode: z.literal('oidc'),
        /**
         * The provider's issuer URL: every token's `iss` must equal it exactly (mind a trailing
         * slash), and unless jwksUrl is set the keys are found through OIDC discovery at
         * `<issuer>/.well-known/openid-configuration` (its `jwks_uri`). Required in production.
         */
        issuer: httpUrl.optional(),
        /** The key set, when it is not found through discovery (or without an issuer, outside production). */
        jwksUrl: httpUrl.optional(),
        /** The `aud` every token must carry: this API's identifier at the provider. Required in production. */
        audience: z.string().min(1).optional(),
        /** Accepted signature algorithms. @default ["RS256", "ES256"] */
        algorithms: z.array(z.enum(OIDC_ALGORITHMS)).min(1).default(['RS256', 'ES256']),
        /**
         * A token whose `kid` is not in the cached key set makes the gateway fetch the set again
         * (the provider rotated its keys), at most once per this interval; tokens with unknown
         * keys in between are refused without a fetch. @default 30000
         */
        jwksCooldownMs: z.number().int().min(0).default(30_000),
        /**
         * The key set is fetched again when it is older than this: how long a key the provider
         * retired may still be accepted. @default 600000 (10 minutes)
         */
        jwksMaxAgeMs: z.number().int().positive().default(600_000),
        clinics: clinics.default([]),
        ...claimMapping,
      })
      .refine((auth) => auth.issuer !== undefined || auth.jwksUrl !== undefined, {
        message: 'an issuer URL (OIDC discovery), or AUTH_JWKS_URL for keys alone (outside production)',
        path: ['issuer'],
      })
      .refine((auth) => auth.clinics.length > 0, { message: CLINICS_EXPECTED, path: ['clinics'] }),
    z
      .object({
        /** HS256 with a shared secret: local development and tests only (refused in production). */
        mode: z.literal('jwt'),
        /** HMAC secret, at least 32 characters. */
        secret: z.string().min(32),
        /** Checked against `iss` when set. */
        issuer: z.string().min(1).optional(),
        /** Checked against `aud` when set. */
        audience: z.string().min(1).optional(),
        /** @default ["dev-clinic"], the clinic of `npm start`'s development token */
        clinics: clinics.default([DEV_CLINIC]),
        ...claimMapping,
      })
      .refine((auth) => auth.clinics.length > 0, { message: CLINICS_EXPECTED, path: ['clinics'] }),
    z.object({
      /** No authentication. Only for local experiments: refused in production. */
      mode: z.literal('none'),
    }),
  ],
  { error: 'one of "oidc", "jwt", "none"' },
);

export type AuthConfig = z.infer<typeof authConfigSchema>;
export type OidcAuthConfig = Extract<AuthConfig, { mode: 'oidc' }>;
export type JwtAuthConfig = Extract<AuthConfig, { mode: 'jwt' }>;

/** Roles the map gives that the authorisation table does not list (they would grant nothing): paths relative to `auth`. */
export function unknownMappedRoles(auth: AuthConfig, tableRoles: string[]): Array<{ path: Array<string | number>; message: string }> {
  if (auth.mode === 'none' || tableRoles.length === 0) return [];
  const message = `a role of the config file's authorization.roles (${tableRoles.join(', ')})`;
  return Object.entries(auth.roleMap).flatMap(([value, roles]) =>
    roles.flatMap((role, index) => (tableRoles.includes(role) ? [] : [{ path: ['roleMap', value, index], message }])),
  );
}

/**
 * What production asks of `auth` beyond its schema: OIDC only, an issuer and an audience to
 * check, and keys fetched over https. Paths are relative to `auth`.
 */
export function productionAuthProblems(auth: AuthConfig): Array<{ path: string[]; message: string }> {
  if (auth.mode !== 'oidc') return [{ path: ['mode'], message: '"oidc" in production (jwt and none are for development)' }];
  const problems: Array<{ path: string[]; message: string }> = [];
  // Without either, the schema has already asked for the issuer.
  if (!auth.issuer && auth.jwksUrl) problems.push({ path: ['issuer'], message: "the identity provider's issuer URL in production (every token's iss is checked)" });
  if (!auth.audience) problems.push({ path: ['audience'], message: "this API's audience in production (every token's aud is checked)" });
  for (const key of ['issuer', 'jwksUrl'] as const) {
    if (auth[key]?.startsWith('http:')) problems.push({ path: [key], message: 'an https URL in production (the keys that sign tokens come from it)' });
  }
  return problems;
}
