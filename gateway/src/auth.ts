/**
 * Authentication: every GraphQL request carries `Authorization: Bearer <JWT>`, verified before
 * anything else runs. In production the token comes from an OIDC identity provider and is
 * verified with the keys it publishes (auth/oidc-keys.ts); in development it may be HS256 with a
 * shared secret. Either way it must expire, and its claims become the request's AuthIdentity
 * (auth/claims.ts: roles through the role map, a clinic this deployment serves), which
 * field-level authorisation and cache scoping key on.
 */
import { createSecretKey } from 'node:crypto';
import { decodeProtectedHeader, errors, jwtVerify } from 'jose';
import type { JWTPayload, JWTVerifyGetKey, JWTVerifyOptions } from 'jose';
import jwt from 'jsonwebtoken';
import type { Logger } from '../../lib/logger';
import { identityFromClaims } from './auth/claims';
import type { ClaimMapping } from './auth/claims';
import type { AuthConfig } from './auth/config';
import { createOidcKeys, KeysUnavailableError } from './auth/oidc-keys';

export interface AuthIdentity {
  subject: string;
  roles: string[];
  /** The clinic (tenant) the token is for. */
  clinic?: string;
  /** Epoch ms the token expires; long-lived connections check it again per event. */
  expiresAt?: number;
}

/**
 * `unavailable`: the token could not be checked because the identity provider's keys are not to be
 * had; the refusal says nothing about the caller (the rate limits do not count it against them).
 */
export type AuthResult = { ok: true; identity: AuthIdentity } | { ok: false; reason: string; unavailable?: true };

/** Verifies an Authorization header. Never rejects for a bad token: a refusal is `ok: false` with a reason free of token contents. */
export type Authenticate = (authorization: string | undefined) => Promise<AuthResult>;

const ANONYMOUS: AuthIdentity = { subject: 'anonymous', roles: [] };
const UNAVAILABLE_WARNING_INTERVAL_MS = 10_000;

/**
 * `roles`: our role names, those of the authorisation table (`authorization.roles`); with the role
 * map's roles, a token's value that is none of them is dropped. Without either, values are kept.
 */
export function createAuthenticator(auth: AuthConfig, options: { logger?: Logger; roles?: readonly string[] } = {}): Authenticate {
  if (auth.mode === 'none') return async () => ({ ok: true, identity: ANONYMOUS });
  const known = new Set([...(options.roles ?? []), ...Object.values(auth.roleMap).flat()]);
  const mapping = { ...auth, knownRoles: known.size > 0 ? known : undefined };
  switch (mapping.mode) {
    case 'jwt': {
      // A KeyObject, made once: verification then never parses the secret again.
      const key = createSecretKey(Buffer.from(mapping.secret, 'utf8'));
      return tokenAuthenticator(mapping, async () => key, { algorithms: ['HS256'], issuer: mapping.issuer, audience: mapping.audience });
    }
    case 'oidc': {
      // jose fetches again for every request while the provider is down: one warning per interval, not per request.
      let warnedAt = Number.NEGATIVE_INFINITY;
      const keys = createOidcKeys(mapping, (error) => {
        if (Date.now() - warnedAt < UNAVAILABLE_WARNING_INTERVAL_MS) return;
        warnedAt = Date.now();
        options.logger?.warn({ err: error.message }, "the identity provider's signing keys are unavailable");
      });
      return tokenAuthenticator(mapping, keys, { algorithms: mapping.algorithms, issuer: mapping.issuer, audience: mapping.audience });
    }
  }
}

function tokenAuthenticator(
  mapping: ClaimMapping & { clockToleranceSeconds: number },
  keys: JWTVerifyGetKey,
  checks: { algorithms: string[]; issuer?: string; audience?: string },
): Authenticate {
  const options: JWTVerifyOptions = {
    algorithms: checks.algorithms,
    clockTolerance: mapping.clockToleranceSeconds,
    // A token without an expiry would be good forever once it leaked.
    requiredClaims: ['exp'],
    ...(checks.issuer ? { issuer: checks.issuer } : {}),
    ...(checks.audience ? { audience: checks.audience } : {}),
  };
  return async (authorization) => {
    if (!authorization) return { ok: false, reason: 'missing Authorization header: expected "Bearer <token>"' };
    const match = /^Bearer\s+(\S+)$/i.exec(authorization);
    if (!match) return { ok: false, reason: 'malformed Authorization header: expected "Bearer <token>"' };
    const token = match[1]!;
    let verified: JWTPayload;
    try {
      // jose refuses `none` as an algorithm not allowed; an unsigned token deserves its own reason.
      if (decodeProtectedHeader(token).alg === 'none') return { ok: false, reason: 'invalid token: jwt signature is required' };
      verified = (await jwtVerify(token, keys, options)).payload;
    } catch (error) {
      const reason = `invalid token: ${reasonOf(error)}`;
      return error instanceof KeysUnavailableError ? { ok: false, reason, unavailable: true } : { ok: false, reason };
    }
    return identityFromClaims(verified, mapping);
  };
}

/** Why a token was refused, in words that quote nothing from it. Anything else is a bug, rethrown. */
function reasonOf(error: unknown): string {
  if (error instanceof KeysUnavailableError) return "the identity provider's signing keys are unavailable";
  if (error instanceof errors.JWTClaimValidationFailed) {
    if (error.reason === 'missing') return `jwt has no ${error.claim} claim`;
    if (error.claim === 'iss') return 'jwt issuer invalid';
    if (error.claim === 'aud') return 'jwt audience invalid';
    if (error.claim === 'nbf') return 'jwt not active yet';
    return `jwt ${error.claim} claim invalid`;
  }
  if (error instanceof errors.JWTExpired) return 'jwt expired';
  if (error instanceof errors.JWSSignatureVerificationFailed) return 'invalid signature';
  if (error instanceof errors.JOSEAlgNotAllowed) return 'jwt algorithm not allowed';
  if (error instanceof errors.JWKSNoMatchingKey) return "no key of the identity provider's key set matches the token";
  if (error instanceof errors.JWKSMultipleMatchingKeys) return 'several keys match a token that names none (no kid)';
  // jose throws a TypeError for a token it cannot even take apart (not three base64url parts of JSON).
  if (error instanceof errors.JOSEError || error instanceof TypeError) return 'jwt malformed';
  throw error;
}

/** Mint an HS256 token (jwt mode): the launcher's development token, and tests. It always expires. */
export function signToken(
  secret: string,
  identity: { subject: string; roles: string[]; clinic?: string },
  options: { expiresIn?: jwt.SignOptions['expiresIn']; issuer?: string; audience?: string } = {},
): string {
  return jwt.sign({ roles: identity.roles, ...(identity.clinic ? { clinic: identity.clinic } : {}) }, secret, {
    algorithm: 'HS256',
    subject: identity.subject,
    expiresIn: options.expiresIn ?? '12h',
    ...(options.issuer ? { issuer: options.issuer } : {}),
    ...(options.audience ? { audience: options.audience } : {}),
  });
}
