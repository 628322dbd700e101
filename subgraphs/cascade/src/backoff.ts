/** When a failed step is tried again: exponential backoff with jitter, and never before the vendor's Retry-After. */
import type { DeliverySettings } from './cascade-config';

/**
 * The delay before attempt `attempts + 1`: base × 2^(attempts − 1), capped at maxDelayMs, drawn
 * from its upper half ("equal jitter": replicas retrying together spread out, yet no retry comes
 * almost at once); at least `retryAfterMs` when the vendor said so.
 */
export function retryDelayMs(
  attempts: number,
  settings: Pick<DeliverySettings, 'baseDelayMs' | 'maxDelayMs'>,
  retryAfterMs: number | undefined,
  random: () => number = Math.random,
): number {
  const exponential = Math.min(settings.maxDelayMs, settings.baseDelayMs * 2 ** Math.max(0, attempts - 1));
  const jittered = Math.round(exponential / 2 + random() * (exponential / 2));
  return Math.max(jittered, retryAfterMs ?? 0);
}
