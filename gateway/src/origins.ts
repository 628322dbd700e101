/**
 * Which browser origins may use the gateway: a page of the gateway's own origin, the configured
 * ones (CORS_ORIGINS), and in development any page served from this machine (localhost,
 * 127.x.y.z, [::1], any port). Used for WebSocket upgrades (a page of another site must not open
 * a socket that the browser authenticates for it).
 */
import { isLoopbackHost } from './loopback';

export type OriginPolicy = (origin: string, host: string | undefined) => boolean;

export function createOriginPolicy(options: { allowed: readonly string[]; development: boolean }): OriginPolicy {
  const allowed = new Set(options.allowed.map((origin) => new URL(origin).origin));
  return (origin, host) => {
    let parsed: URL;
    try {
      parsed = new URL(origin);
    } catch {
      return false;
    }
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') return false;
    if (allowed.has(parsed.origin)) return true;
    if (host !== undefined && parsed.host === host.toLowerCase()) return true;
    return options.development && isLoopbackHost(parsed.hostname);
  };
}
