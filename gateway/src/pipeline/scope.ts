/**
 * Who may share a result. One answer for every stage that shares: the entity cache (entries),
 * in-flight dedupe (one upstream call for several requests) and subscription resolution (one
 * lookup per event for several subscribers). Two identities with the same roles and clinic see
 * the same data (field-level authorisation is decided by roles, tenancy by clinic), so they
 * share; anything else does not.
 */
import type { AuthIdentity } from '../auth';

export function scopeOf(auth: AuthIdentity): string {
  return JSON.stringify([[...new Set(auth.roles)].sort(), auth.clinic ?? null]);
}
