/**
 * The data-steward table: which scopes each role grants. It is configuration (the `authorization`
 * section of the config file; the patient graph's is in schema/gateway.json), so the gateway stays
 * generic and the table has one home. A role the table does not list grants nothing.
 */
import { z } from 'zod';
import type { AuthIdentity } from '../auth';
import type { Caller } from './rules';

export const authorizationConfigSchema = z.object({
  /** Role → the scopes it grants, as `@requiresScopes` in the subgraphs names them. @default {} */
  roles: z.record(z.string(), z.array(z.string().min(1))).default({}),
});

export type AuthorizationConfig = z.infer<typeof authorizationConfigSchema>;

/** Who a token's holder is to authorisation; `authenticated` is false only without authentication (AUTH_MODE=none). */
export function callerOf(config: AuthorizationConfig, authenticated: boolean): (auth: AuthIdentity) => Caller {
  const byRoles = new Map<string, Caller>();
  return (auth) => {
    const key = [...auth.roles].sort().join('\u0000');
    let caller = byRoles.get(key);
    if (!caller) {
      caller = { authenticated, scopes: new Set(auth.roles.flatMap((role) => config.roles[role] ?? [])) };
      if (byRoles.size < 1000) byRoles.set(key, caller);
    }
    return caller;
  };
}
