/**
 * A local OpenID Connect issuer for tests: a real HTTP server on port 0 serving the discovery
 * document and a JSON Web Key Set, with keys made by jose. It signs tokens, adds keys (a
 * rotation) and retires them, and counts what it served, so a test can see when the gateway
 * fetched keys. The issuer URL has a path, as Okta's authorization servers do.
 */
import { randomUUID } from 'node:crypto';
import type http from 'node:http';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import type { JWK, JWTPayload, KeyLike } from 'jose';
import { listen } from '../../lib/listen';

export interface IssuerKey {
  kid: string;
  alg: 'RS256' | 'ES256';
  privateKey: KeyLike;
  publicKey: KeyLike;
  publicJwk: JWK;
}

export interface SignOptions {
  /** Sign with this key (default: the newest published one). */
  key?: IssuerKey;
  /** The `kid` header (default: the key's own). */
  kid?: string;
  /** `exp` as epoch seconds; `null` leaves it out. Default: five minutes from now. */
  expiresAt?: number | null;
  /** `iss` (default: this issuer). */
  issuer?: string;
  /** `aud` (default: the audience the issuer was started with). */
  audience?: string;
}

export interface OidcIssuer {
  /** The issuer URL: tokens' `iss`, and where discovery starts. */
  issuer: string;
  jwksUrl: string;
  /** Requests served so far, per document. */
  served(): { discovery: number; jwks: number };
  /** The key tokens are signed with unless told otherwise: the newest published one. */
  current(): IssuerKey;
  /** A new key, published in the key set unless `publish` is false; a published key signs from then on. */
  addKey(options?: { alg?: IssuerKey['alg']; publish?: boolean }): Promise<IssuerKey>;
  /** Take a key out of the key set, as a provider retires one; tokens can still be signed with it. */
  retireKey(kid: string): void;
  /** A token with `sub`, `clinic` (north) and the given claims, signed as `options` say. */
  sign(claims?: JWTPayload, options?: SignOptions): Promise<string>;
  stop(): Promise<void>;
}

const ISSUER_PATH = '/oauth2/default';

export async function startOidcIssuer(options: { audience: string }): Promise<OidcIssuer> {
  const published: IssuerKey[] = [];
  let signing: IssuerKey | undefined;
  const served = { discovery: 0, jwks: 0 };
  let origin = '';

  const json = (res: http.ServerResponse, body: unknown) => {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify(body));
  };
  const listening = await listen((req, res) => {
    if (req.url === `${ISSUER_PATH}/.well-known/openid-configuration`) {
      served.discovery += 1;
      return json(res, {
        issuer: `${origin}${ISSUER_PATH}`,
        jwks_uri: `${origin}${ISSUER_PATH}/v1/keys`,
        id_token_signing_alg_values_supported: ['RS256', 'ES256'],
        response_types_supported: ['code'],
        subject_types_supported: ['public'],
      });
    }
    if (req.url === `${ISSUER_PATH}/v1/keys`) {
      served.jwks += 1;
      return json(res, { keys: published.map((key) => key.publicJwk) });
    }
    res.statusCode = 404;
    res.end();
  });
  origin = listening.url;
  const issuer = `${origin}${ISSUER_PATH}`;

  const addKey: OidcIssuer['addKey'] = async ({ alg = 'RS256', publish = true } = {}) => {
    const { privateKey, publicKey } = await generateKeyPair(alg);
    const kid = randomUUID();
    const key: IssuerKey = { kid, alg, privateKey, publicKey, publicJwk: { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' } };
    if (publish) {
      published.push(key);
      signing = key;
    }
    return key;
  };
  await addKey();
  const current = () => {
    if (!signing) throw new Error('the issuer has no published key');
    return signing;
  };

  return {
    issuer,
    jwksUrl: `${issuer}/v1/keys`,
    served: () => ({ ...served }),
    current,
    addKey,
    retireKey(kid) {
      const index = published.findIndex((key) => key.kid === kid);
      if (index >= 0) published.splice(index, 1);
      if (signing?.kid === kid) signing = published.at(-1);
    },
    async sign(claims = {}, signOptions = {}) {
      const key = signOptions.key ?? current();
      const expiresAt = signOptions.expiresAt === undefined ? Math.floor(Date.now() / 1000) + 300 : signOptions.expiresAt;
      const jwt = new SignJWT({ sub: 'sso-user', clinic: 'north', ...claims })
        .setProtectedHeader({ alg: key.alg, kid: signOptions.kid ?? key.kid, typ: 'JWT' })
        .setIssuedAt()
        .setIssuer(signOptions.issuer ?? issuer)
        .setAudience(signOptions.audience ?? options.audience);
      if (expiresAt !== null) jwt.setExpirationTime(expiresAt);
      return jwt.sign(key.privateKey);
    },
    stop: () => listening.stop(),
  };
}
