/**
 * The part of `SyncStore.withLock` both stores share: wait for the lock up to `waitMs`, keep it
 * alive while `fn` runs, release it when `fn` settles. Each store supplies the four primitives
 * (memory: a map in the process; Redis: SET NX PX and compare-and-delete scripts).
 *
 * Every acquisition has its own random token, and extending or releasing checks that the lock
 * still holds that token: a holder whose lock lapsed (it stalled past the TTL and someone else
 * took the lock) can neither extend nor delete the new holder's lock.
 */
import { randomUUID } from 'node:crypto';
import { LockTimeoutError } from './types';
import type { LockOptions } from './types';

export interface LockBackend {
  /** Takes the lock for `token` when it is free or has lapsed; true when taken. */
  tryAcquire(name: string, token: string, ttlMs: number): Promise<boolean>;
  /** Pushes the lock's expiry to ttlMs from now if it is still `token`'s; false when it is not. */
  extend(name: string, token: string, ttlMs: number): Promise<boolean>;
  /** Deletes the lock if it is still `token`'s. */
  release(name: string, token: string): Promise<void>;
  /** Resolves when another attempt is worth making, at most `ms` from now. */
  waitForChance(name: string, ms: number): Promise<void>;
}

function checkOptions(options: LockOptions): void {
  if (!Number.isFinite(options.ttlMs) || options.ttlMs <= 0) throw new RangeError('lock ttlMs must be a positive number');
  if (!Number.isFinite(options.waitMs) || options.waitMs < 0) throw new RangeError('lock waitMs must be 0 or more');
}

export async function runWithLock<T>(backend: LockBackend, name: string, options: LockOptions, fn: () => Promise<T>): Promise<T> {
  checkOptions(options);
  const token = randomUUID();
  const deadline = Date.now() + options.waitMs;
  while (!(await backend.tryAcquire(name, token, options.ttlMs))) {
    const remaining = deadline - Date.now();
    if (remaining <= 0) throw new LockTimeoutError(name, options.waitMs);
    await backend.waitForChance(name, remaining);
  }

  let renewal: NodeJS.Timeout | undefined;
  if (options.keepAlive !== false) {
    let extending = false;
    renewal = setInterval(
      () => {
        if (extending) return;
        extending = true;
        backend
          .extend(name, token, options.ttlMs)
          .then((stillOurs) => {
            // Lost (it lapsed and was taken): nothing left to renew. fn cannot be stopped, which
            // is why the renewal runs well inside the TTL.
            if (!stillOurs) clearInterval(renewal);
          })
          // The store is unreachable for a moment: try again next tick; the TTL covers the rest.
          .catch(() => undefined)
          .finally(() => {
            extending = false;
          });
      },
      Math.max(1, Math.floor(options.ttlMs / 3)),
    );
    // A lock held by a forgotten promise must not keep the process alive.
    renewal.unref();
  }
  try {
    return await fn();
  } finally {
    clearInterval(renewal);
    // A release that fails (store unreachable) must not hide fn's outcome: the TTL frees the lock.
    await backend.release(name, token).catch(() => undefined);
  }
}

/** Sleeps `ms`. Not unref'd: a CLI waiting for a lock must not exit in the middle of the wait. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
