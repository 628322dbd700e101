/**
 * How a vendor failure reaches a GraphQL client: a field error with a stable code and the
 * vendor named, never a crash and never the vendor's response body (it may hold PHI).
 */
import { GraphQLError } from 'graphql';

export enum VendorErrorCode {
  /** The vendor rejected our credentials (401/403). */
  Unauthorized = 'VENDOR_UNAUTHORIZED',
  /** The vendor rate-limited us and retries did not get through. */
  RateLimited = 'VENDOR_RATE_LIMITED',
  /** The vendor could not be reached, timed out or answered 5xx. */
  Unavailable = 'VENDOR_UNAVAILABLE',
  /** The vendor answered with something we do not understand, or a 4xx we did not expect. */
  BadResponse = 'VENDOR_BAD_RESPONSE',
}

export class VendorError extends GraphQLError {
  constructor(
    readonly vendor: string,
    readonly code: VendorErrorCode,
    detail: string,
    readonly status?: number,
  ) {
    super(`${vendor}: ${detail}`, { extensions: { code, vendor, ...(status ? { vendorStatus: status } : {}) } });
  }
}

/** Map an HTTP status from a vendor to our code. */
export function vendorErrorForStatus(vendor: string, status: number): VendorError {
  if (status === 401 || status === 403) return new VendorError(vendor, VendorErrorCode.Unauthorized, `rejected the credentials (HTTP ${status})`, status);
  if (status === 429) return new VendorError(vendor, VendorErrorCode.RateLimited, 'rate limit exceeded (HTTP 429)', status);
  if (status >= 500) return new VendorError(vendor, VendorErrorCode.Unavailable, `unavailable (HTTP ${status})`, status);
  return new VendorError(vendor, VendorErrorCode.BadResponse, `unexpected response (HTTP ${status})`, status);
}
