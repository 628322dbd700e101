/**
 * Page cursors of conflict listings and review queues: the sequence number of the conflict's
 * detection or of the patient's entry into the queue, as text. Both store implementations hand
 * out the same shape, so a client's cursor survives a switch.
 */
import { SyncStoreError } from './types';

export function parsePageCursor(after: string): number {
  if (!/^\d{1,15}$/.test(after)) {
    throw new SyncStoreError('INVALID_PAGE_CURSOR', `after: expected a cursor from a previous page, got ${JSON.stringify(after.slice(0, 40))}`);
  }
  return Number(after);
}
