/**
 * @apollo/gateway refuses a supergraph that links a `for: SECURITY` feature it does not know,
 * rightly: it would serve fields whose protection it cannot apply. This gateway applies
 * `@authenticated`, `@requiresScopes` and `@policy` itself (authorizing-gateway.ts), so before
 * the supergraph is handed over, exactly those links lose their `for: SECURITY`. Any other
 * security feature is still refused.
 */
const ENFORCED = ['https://specs.apollo.dev/authenticated/', 'https://specs.apollo.dev/requiresScopes/', 'https://specs.apollo.dev/policy/'];

export function markEnforcedSecurityFeatures(supergraphSdl: string): string {
  return supergraphSdl.replace(/@link\(\s*url:\s*"([^"]+)"([^)]*)\)/g, (link, url: string, rest: string) =>
    ENFORCED.some((prefix) => url.startsWith(prefix)) ? `@link(url: "${url}"${rest.replace(/,?\s*for:\s*SECURITY/, '')})` : link,
  );
}
