/**
 * Authentication: every GraphQL request carries `Authorization: Bearer <JWT>` (HS256), verified
 * before anything else runs. The verified identity (subject, roles, clinic) becomes the request's
 * auth context, which field-level authorisation and cache scoping will key on.
 */
import { createSecretKey } from 'node:crypto';
import jwt from 'jsonwebtoken';
import type { GatewayConfig } from './config';

export interface AuthIdentity {
  subject: string;
  roles: string[];
  /** The clinic (tenant) the token is for. */
  clinic?: string;
  /** Epoch ms the token expires; long-lived connections check it again per event. */
  expiresAt?: number;
}

export type AuthResult = { ok: true; identity: AuthIdentity } | { ok: false; reason: string };

const ANONYMOUS: AuthIdentity = { subject: 'anonymous', roles: [] };

export function createAuthenticator(auth: GatewayConfig['auth']): (authorization: string | undefined) => AuthResult {
  switch (auth.mode) {
    case 'none':
      return () => ({ ok: true, identity: ANONYMOUS });
    case 'jwt': {
      // A KeyObject, made once: given the secret as a string, jsonwebtoken first tries (and
      // fails) to read it as a public key on every verification, about a millisecond each.
      const key = createSecretKey(Buffer.from(auth.secret, 'utf8'));
      return (authorization) => {
        if (!authorization) return { ok: false, reason: 'missing Authorization header: expected "Bearer <token>"' };
        const match = /^Bearer\s+(\S+)$/i.exec(authorization);
        if (!match) return { ok: false, reason: 'malformed Authorization header: expected "Bearer <token>"' };
        try {
          const claims = jwt.verify(match[1]!, key, {
            algorithms: ['HS256'],
            issuer: auth.issuer,
            audience: auth.audience,
          }) as jwt.JwtPayload;
          const roles = Array.isArray(claims.roles) ? claims.roles.filter((r): r is string => typeof r === 'string') : [];
          return {
            ok: true,
            identity: {
              subject: String(claims.sub ?? 'unknown'),
              roles,
              clinic: typeof claims.clinic === 'string' ? claims.clinic : undefined,
              expiresAt: typeof claims.exp === 'number' ? claims.exp * 1000 : undefined,
            },
          };
        } catch (error) {
          // jsonwebtoken's messages ("jwt expired", "invalid signature") name no secret and no claim values.
          return { ok: false, reason: `invalid token: ${(error as Error).message}` };
        }
      };
    }
  }
}

/** Mint a token: used by the launcher for its development token, and by tests. */
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
