/**
 * The identity provider's signing keys, for OIDC mode: where they are (OIDC discovery at
 * `<issuer>/.well-known/openid-configuration` → `jwks_uri`, or AUTH_JWKS_URL as given) and when
 * they are fetched again. Caching and refetching are jose's remote key set: a token with an
 * unknown `kid` makes it refetch, at most once per cooldown, and a set older than its max age is
 * refetched before use.
 */
import { createRemoteJWKSet, errors } from 'jose';
import type { JWTVerifyGetKey } from 'jose';
import type { OidcAuthConfig } from './config';

/** A discovery document or key set request gives up after this; the request it serves is refused. */
const FETCH_TIMEOUT_MS = 5000;

/** The keys could not be had (the provider is down or misconfigured): not the token's fault. */
export class KeysUnavailableError extends Error {
  override name = 'KeysUnavailableError';
}

/** OIDC Discovery 1.0 §4: a trailing slash of the issuer is removed before the well-known path is appended. */
export function discoveryUrlOf(issuer: string): string {
  return `${issuer.replace(/\/+$/, '')}/.well-known/openid-configuration`;
}

async function discoverJwksUri(issuer: string): Promise<URL> {
  const response = await fetch(discoveryUrlOf(issuer), { headers: { accept: 'application/json' }, signal: AbortSignal.timeout(FETCH_TIMEOUT_MS) });
  if (!response.ok) throw new KeysUnavailableError(`the discovery document answered HTTP ${response.status}`);
  const document = (await response.json()) as { issuer?: unknown; jwks_uri?: unknown };
  // §4.3: a document naming another issuer is not this provider's (a proxy or a typo in AUTH_ISSUER).
  if (document.issuer !== issuer) throw new KeysUnavailableError('the discovery document names another issuer than AUTH_ISSUER');
  if (typeof document.jwks_uri !== 'string' || !URL.canParse(document.jwks_uri)) throw new KeysUnavailableError('the discovery document has no jwks_uri URL');
  const jwksUri = new URL(document.jwks_uri);
  // Keys over plain http only from an issuer that is itself plain http (a local provider).
  if (jwksUri.protocol !== 'https:' && !(jwksUri.protocol === 'http:' && issuer.startsWith('http:'))) {
    throw new KeysUnavailableError('the discovery document points at keys that are not served over https');
  }
  return jwksUri;
}

/**
 * A key resolver for jose's jwtVerify. Discovery runs on first use (a provider that is down at
 * start-up does not stop the gateway) and is kept once it succeeded; after a failure it is tried
 * again at most once per cooldown. `onUnavailable` hears every failure to get keys.
 */
export function createOidcKeys(auth: OidcAuthConfig, onUnavailable: (error: KeysUnavailableError) => void = () => undefined): JWTVerifyGetKey {
  let keySet: Promise<JWTVerifyGetKey> | undefined;
  let failedAt = Number.NEGATIVE_INFINITY;

  const unavailable = (error: unknown): KeysUnavailableError => {
    const wrapped = error instanceof KeysUnavailableError ? error : new KeysUnavailableError(`the signing keys could not be fetched: ${(error as Error).message}`, { cause: error });
    onUnavailable(wrapped);
    return wrapped;
  };

  const currentKeySet = (): Promise<JWTVerifyGetKey> => {
    if (keySet) return keySet;
    if (Date.now() - failedAt < auth.jwksCooldownMs) return Promise.reject(new KeysUnavailableError('discovery failed moments ago'));
    keySet = (async () => {
      const url = auth.jwksUrl ? new URL(auth.jwksUrl) : await discoverJwksUri(auth.issuer!);
      return createRemoteJWKSet(url, { cooldownDuration: auth.jwksCooldownMs, cacheMaxAge: auth.jwksMaxAgeMs, timeoutDuration: FETCH_TIMEOUT_MS });
    })().catch((error: unknown) => {
      keySet = undefined;
      failedAt = Date.now();
      throw unavailable(error);
    });
    return keySet;
  };

  return async (header, token) => {
    const keys = await currentKeySet();
    try {
      return await keys(header, token);
    } catch (error) {
      // No key for the token is the token's problem; anything else (a fetch that failed, a key set
      // that does not parse) is the provider's.
      if (error instanceof errors.JWKSNoMatchingKey || error instanceof errors.JWKSMultipleMatchingKeys) throw error;
      throw unavailable(error);
    }
  };
}
