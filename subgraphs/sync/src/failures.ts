/**
 * Which failures are worth a retry. A vendor that is down, slow or rate-limiting, or a store
 * that cannot be reached, will answer later: the worker throws so the bus redelivers the
 * event. A vendor that refused the data (a 4xx, Semble's error payload) will refuse it again:
 * the worker gives up, publishes a FAILED sync event and acknowledges.
 */
import { VendorError, VendorErrorCode } from '../../../lib/vendor-error';
import { SembleWriteRefusedError } from './clients';

export function isPermanentFailure(error: unknown): boolean {
  if (error instanceof SembleWriteRefusedError) return true;
  if (error instanceof VendorError && error.code === VendorErrorCode.BadResponse) {
    const status = error.status;
    // No status: the vendor answered 2xx with something unusable (a GraphQL error), which a retry repeats.
    return status === undefined || (status >= 400 && status < 500 && status !== 408 && status !== 409 && status !== 429);
  }
  return false;
}

/** A short, value-free description for logs and events. */
export function describeFailure(error: unknown): string {
  if (error instanceof VendorError) return `${error.vendor}:${error.code}${error.status ? `:${error.status}` : ''}`;
  if (error instanceof Error) return error.name;
  return 'unknown';
}
