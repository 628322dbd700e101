/**
 * The signed internal identity on the wire between the gateway and its subgraphs: whom a subgraph
 * call is for (the caller's subject, roles and clinic), which client request it belongs to, and
 * proof that the gateway sent it. The gateway signs a short-lived JWT for each subgraph call,
 * addressed to that subgraph by name (`aud`), with a secret it shares with every subgraph;
 * lib/subgraph.ts refuses a /graphql call without a valid one. This module owns the token's
 * claims, its header, the secret's validation, signing and verification; nothing else reads or
 * writes them.
 *
 * HS256 with one shared secret (README, Trusted subgraphs, says what an asymmetric key would add).
 */
import { createSecretKey } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { errors, jwtVerify, SignJWT } from 'jose';
import type { JWTPayload } from 'jose';
import { z } from 'zod';

/** The header a subgraph call carries its token in; never the client's Authorization header, which the gateway does not forward. */
export const INTERNAL_IDENTITY_HEADER = 'x-internal-identity';
/** `iss` of every internal token: only the gateway signs them. */
export const INTERNAL_TOKEN_ISSUER = 'patient-graph-gateway';
/** How long a token is good for: one try of one subgraph call, with room for a slow answer. */
export const INTERNAL_TOKEN_TTL_SECONDS = 60;
/** Leeway for the clocks of different hosts; small, since tokens live a minute. */
const CLOCK_TOLERANCE_SECONDS = 5;

/** The variable the gateway and every subgraph read the shared secret from. */
export const INTERNAL_TOKEN_SECRET_ENV = 'INTERNAL_TOKEN_SECRET';

/**
 * INTERNAL_TOKEN_SECRET: the HS256 secret the gateway signs with and every subgraph verifies
 * with, 32+ characters (e.g. `openssl rand -hex 32`). Required; a secret, never printed.
 */
export const internalTokenSecretSchema = z.string().min(32);

/** Who a subgraph call is for, as the gateway vouches for it. */
export interface InternalIdentity {
  /** The caller's token subject (`sub`). */
  subject: string;
  roles: string[];
  /** The clinic (tenant) of the caller's token, when it has one. */
  clinic?: string;
  /** One per client request, the same on all of that request's subgraph calls (`rid`). */
  requestId: string;
}

export interface InternalTokenSigner {
  /** The header carrying `identity` to subgraph `audience`: a token good for INTERNAL_TOKEN_TTL_SECONDS. */
  headers(audience: string, identity: InternalIdentity): Promise<Record<string, string>>;
}

export type InternalIdentityResult = { ok: true; identity: InternalIdentity } | { ok: false; reason: string };

/** Checks the header of one call; never rejects for a bad token (a refusal says why without quoting it). */
export type InternalTokenVerifier = (header: string | string[] | undefined) => Promise<InternalIdentityResult>;

/**
 * A KeyObject, made once per signer or verifier: signing happens for every subgraph call and
 * must not import the secret again each time. Configurations validate the secret first; this
 * guards against a caller that did not.
 */
function keyOf(secret: string): KeyObject {
  if (!internalTokenSecretSchema.safeParse(secret).success) throw new TypeError('secret: expected a string of at least 32 characters');
  return createSecretKey(Buffer.from(secret, 'utf8'));
}

export function createInternalTokenSigner(secret: string): InternalTokenSigner {
  const key = keyOf(secret);
  return {
    async headers(audience, identity) {
      const now = Math.floor(Date.now() / 1000);
      const token = await new SignJWT({ roles: identity.roles, rid: identity.requestId, ...(identity.clinic ? { clinic: identity.clinic } : {}) })
        .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
        .setIssuer(INTERNAL_TOKEN_ISSUER)
        .setSubject(identity.subject)
        .setAudience(audience)
        .setIssuedAt(now)
        .setExpirationTime(now + INTERNAL_TOKEN_TTL_SECONDS)
        .sign(key);
      return { [INTERNAL_IDENTITY_HEADER]: token };
    },
  };
}

/** A verifier for subgraph `audience` (its name in the supergraph). */
export function createInternalTokenVerifier(secret: string, audience: string): InternalTokenVerifier {
  const key = keyOf(secret);
  const options = {
    algorithms: ['HS256'],
    issuer: INTERNAL_TOKEN_ISSUER,
    audience,
    clockTolerance: CLOCK_TOLERANCE_SECONDS,
    // However far its `exp` says, a token is never older than a try needs.
    maxTokenAge: INTERNAL_TOKEN_TTL_SECONDS,
    requiredClaims: ['exp', 'iat', 'sub'],
  };
  return async (header) => {
    if (header === undefined || header === '') return { ok: false, reason: `missing ${INTERNAL_IDENTITY_HEADER} header: subgraphs answer the gateway only` };
    if (typeof header !== 'string') return { ok: false, reason: `more than one ${INTERNAL_IDENTITY_HEADER} header` };
    let payload: JWTPayload;
    try {
      payload = (await jwtVerify(header, key, options)).payload;
    } catch (error) {
      return { ok: false, reason: `invalid internal token: ${reasonOf(error)}` };
    }
    const identity = identityOf(payload);
    return identity ? { ok: true, identity } : { ok: false, reason: 'invalid internal token: roles, rid or clinic malformed' };
  };
}

function identityOf(payload: JWTPayload): InternalIdentity | undefined {
  const { sub, roles, clinic, rid } = payload;
  if (typeof sub !== 'string' || typeof rid !== 'string' || rid === '') return undefined;
  if (!Array.isArray(roles) || !roles.every((role): role is string => typeof role === 'string')) return undefined;
  if (clinic !== undefined && typeof clinic !== 'string') return undefined;
  return { subject: sub, roles, requestId: rid, ...(clinic === undefined ? {} : { clinic }) };
}

/** Why a token was refused, in words that quote nothing from it. Anything else is a bug, rethrown. */
function reasonOf(error: unknown): string {
  if (error instanceof errors.JWTExpired) return 'expired';
  if (error instanceof errors.JWTClaimValidationFailed) return error.reason === 'missing' ? `no ${error.claim} claim` : `${error.claim} claim invalid`;
  if (error instanceof errors.JWSSignatureVerificationFailed) return 'signature invalid';
  if (error instanceof errors.JOSEAlgNotAllowed) return 'algorithm not allowed';
  // jose throws a TypeError for a token it cannot even take apart.
  if (error instanceof errors.JOSEError || error instanceof TypeError) return 'malformed';
  throw error;
}
