/**
 * For tests that call a subgraph directly, as only the gateway may: the internal identity
 * header the gateway would send, signed with the tests' shared secret (or another one).
 */
import { randomUUID } from 'node:crypto';
import { createInternalTokenSigner } from '../internal-identity';
import type { InternalIdentity } from '../internal-identity';

/** INTERNAL_TOKEN_SECRET of subgraphs that tests start on their own. */
export const TEST_INTERNAL_TOKEN_SECRET = 'internal-test-secret-0123456789abcdef';

/** The header of a call to subgraph `audience` for `identity` (by default a caller with no roles). */
export function asGateway(audience: string, identity: Partial<InternalIdentity> = {}, secret = TEST_INTERNAL_TOKEN_SECRET): Promise<Record<string, string>> {
  return createInternalTokenSigner(secret).headers(audience, { subject: 'test-caller', roles: [], requestId: randomUUID(), ...identity });
}
