/**
 * What a subgraph said about caching its answer, from the `Cache-Control` header Apollo
 * Server's cache-control plugin writes from the subgraph's `@cacheControl` hints (the minimum
 * over every hinted type and field the answer touches): `max-age=60, public`, `private`, or
 * `no-store` when something in it has no hint.
 */
export interface CachePolicy {
  /** Seconds the answer may be reused; 0: not at all. */
  maxAgeSeconds: number;
  /** PRIVATE: for one user only (the cache keys it by the token's subject too). */
  scope: 'PUBLIC' | 'PRIVATE';
}

export const UNCACHEABLE: CachePolicy = { maxAgeSeconds: 0, scope: 'PUBLIC' };

export function parseCacheControl(header: string | null): CachePolicy {
  if (!header) return UNCACHEABLE;
  let maxAgeSeconds = 0;
  let scope: CachePolicy['scope'] = 'PUBLIC';
  for (const directive of header.toLowerCase().split(',')) {
    const [name, value] = directive.trim().split('=', 2) as [string, string | undefined];
    if (name === 'no-store' || name === 'no-cache') return UNCACHEABLE;
    if (name === 'private') scope = 'PRIVATE';
    if (name === 'max-age' && value !== undefined && /^\d+$/.test(value)) maxAgeSeconds = Number(value);
  }
  return { maxAgeSeconds, scope };
}
