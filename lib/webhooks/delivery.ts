/**
 * Outgoing webhook delivery, as the vendors do it: POST with a timeout, a 2xx is success and
 * anything else (3xx included, redirects are not followed) or a network error is retried after
 * a growing delay, a fresh request built for every attempt (HubSpot bumps `attemptNumber`,
 * Stripe and HubSpot sign each attempt with a new timestamp). The record of each delivery
 * (never its body: webhooks carry PHI) is kept so emulator tests can wait for it.
 */

/** pending: first attempt in flight (or held back by `delayNext`); retrying: waiting for the next; delivered / failed: final. */
export type WebhookDeliveryStatus = 'pending' | 'retrying' | 'delivered' | 'failed';

/**
 * Why the last attempt did not succeed, without details that could leak a payload. DROPPED:
 * never sent, on purpose (`dropNext`), standing for a notification the vendor lost.
 */
export type WebhookDeliveryError = 'HTTP_STATUS' | 'TIMEOUT' | 'NETWORK' | 'BUILD' | 'STOPPED' | 'DROPPED';

export interface WebhookDelivery {
  id: string;
  url: string;
  /** A label for the listing, such as `contact.propertyChange` or `PATIENT_UPDATED`; never PHI. */
  event: string;
  status: WebhookDeliveryStatus;
  attempts: number;
  /** HTTP status of the last answered attempt, null when the last attempt got no answer. */
  lastStatusCode: number | null;
  lastError: WebhookDeliveryError | null;
  createdAt: string;
  /** Set on the second copy `duplicateNext` sends: the id of the delivery it repeats. */
  duplicateOf?: string;
}

export interface WebhookAttempt {
  headers: Record<string, string>;
  /** Absent for bodiless notifications (Google push). */
  body?: string;
}

export interface WebhookRequest {
  url: string;
  event: string;
  /**
   * Build the request for attempt `attempt` (1 for the first). Called once per attempt so a
   * retry can carry its own attempt number and a fresh signature. If it throws, the delivery
   * is marked failed (lastError BUILD) without being sent.
   */
  build(attempt: number): WebhookAttempt;
}

/** The retry settings an emulator's `webhook` option passes through to its sender. */
export interface WebhookRetryOptions {
  /** Per-attempt timeout; a slower receiver counts as failed. @default 5000 */
  timeoutMs?: number;
  /** Delay before each retry; see WebhookSenderOptions. @default [1000, 5000, 30000, 120000] */
  retryDelaysMs?: readonly number[];
}

export interface WebhookSenderOptions {
  /** Per-attempt timeout; a slower receiver counts as failed. @default 5000 */
  timeoutMs?: number;
  /**
   * Delay before each retry; its length is the number of retries, so attempts = length + 1.
   * @default [1000, 5000, 30000, 120000] (the real vendors retry for hours or days; an emulator
   * need not)
   */
  retryDelaysMs?: readonly number[];
  /** How many delivery records the listing keeps, oldest dropped first. @default 500 */
  keep?: number;
  /** @default globalThis.fetch */
  fetch?: typeof fetch;
}

export interface WebhookSender {
  /**
   * Start a delivery. Resolves with a snapshot of the record once the first attempt has
   * succeeded or failed (retries continue in the background). Never rejects.
   */
  send(request: WebhookRequest): Promise<WebhookDelivery>;
  /** Snapshots of the deliveries, oldest first. */
  list(): WebhookDelivery[];
  /** Forget finished deliveries (pending and retrying ones stay). */
  clear(): void;
  /** Cancel scheduled retries (those deliveries end as failed with lastError STOPPED); later sends fail the same way. */
  stop(): void;
  /**
   * Lose the next `count` deliveries, as a vendor sometimes does: each is listed as failed with
   * lastError DROPPED and 0 attempts, and nothing is sent. Adds to any drops still pending;
   * returns how many are pending now.
   */
  dropNext(count: number): number;
  /**
   * Send each of the next `count` deliveries twice, as vendors do when they lose our
   * acknowledgement: a second delivery (its own record, `duplicateOf` naming the first) with the
   * same request, `afterMs` after the first was started. Returns how many are pending now.
   */
  duplicateNext(count: number, afterMs?: number): number;
  /**
   * Hold each of the next `count` deliveries back for `ms` before its first attempt (listed as
   * pending meanwhile), so later notifications can overtake it: a slow vendor queue. `send`
   * resolves at once for a held delivery. Returns how many are pending now.
   */
  delayNext(count: number, ms: number): number;
}

export const DEFAULT_WEBHOOK_TIMEOUT_MS = 5000;
export const DEFAULT_WEBHOOK_RETRY_DELAYS_MS: readonly number[] = [1000, 5000, 30_000, 120_000];

export function createWebhookSender(options: WebhookSenderOptions = {}): WebhookSender {
  const timeoutMs = options.timeoutMs ?? DEFAULT_WEBHOOK_TIMEOUT_MS;
  const retryDelaysMs = options.retryDelaysMs ?? DEFAULT_WEBHOOK_RETRY_DELAYS_MS;
  const keep = options.keep ?? 500;
  const fetchImpl = options.fetch ?? globalThis.fetch;
  let deliveries: WebhookDelivery[] = [];
  const timers = new Map<string, NodeJS.Timeout>();
  let stopped = false;
  let sequence = 0;
  let drops = 0;
  /** afterMs of each duplicate still to make, and ms of each delay still to apply, in order. */
  const duplicates: number[] = [];
  const delays: number[] = [];

  const snapshot = (delivery: WebhookDelivery): WebhookDelivery => ({ ...delivery });

  const unfinished = (d: WebhookDelivery) => d.status === 'pending' || d.status === 'retrying';

  /** Add to the listing, dropping the oldest finished records beyond `keep` (unfinished ones stay). */
  function remember(delivery: WebhookDelivery): void {
    deliveries.push(delivery);
    let excess = deliveries.length - keep;
    if (excess <= 0) return;
    const kept: WebhookDelivery[] = [];
    for (const d of deliveries) {
      if (excess > 0 && !unfinished(d)) excess -= 1;
      else kept.push(d);
    }
    deliveries = kept;
  }

  async function attempt(delivery: WebhookDelivery, request: WebhookRequest): Promise<void> {
    delivery.attempts += 1;
    let built: WebhookAttempt;
    try {
      built = request.build(delivery.attempts);
    } catch {
      delivery.status = 'failed';
      delivery.lastError = 'BUILD';
      return;
    }
    try {
      const response = await fetchImpl(request.url, {
        method: 'POST',
        headers: built.headers,
        body: built.body,
        redirect: 'manual',
        signal: AbortSignal.timeout(timeoutMs),
      });
      // Drain the answer so the connection can be reused; its content does not matter.
      await response.arrayBuffer().catch(() => undefined);
      delivery.lastStatusCode = response.status;
      if (response.status >= 200 && response.status < 300) {
        delivery.status = 'delivered';
        delivery.lastError = null;
        return;
      }
      delivery.lastError = 'HTTP_STATUS';
    } catch (error) {
      delivery.lastStatusCode = null;
      const name = (error as { name?: unknown } | null)?.name;
      delivery.lastError = name === 'TimeoutError' || name === 'AbortError' ? 'TIMEOUT' : 'NETWORK';
    }
    scheduleRetry(delivery, request);
  }

  function scheduleRetry(delivery: WebhookDelivery, request: WebhookRequest): void {
    const delay = retryDelaysMs[delivery.attempts - 1];
    if (stopped) {
      delivery.status = 'failed';
      delivery.lastError = 'STOPPED';
      return;
    }
    if (delay === undefined) {
      delivery.status = 'failed';
      return;
    }
    delivery.status = 'retrying';
    const timer = setTimeout(() => {
      timers.delete(delivery.id);
      void attempt(delivery, request);
    }, delay);
    // A pending retry must not keep a process (or a test run) alive on its own.
    timer.unref();
    timers.set(delivery.id, timer);
  }

  /** A new delivery record: failed at once when dropped or stopped, else pending. */
  function start(request: WebhookRequest, duplicateOf?: string): WebhookDelivery {
    sequence += 1;
    const delivery: WebhookDelivery = {
      id: `whd_${sequence}`,
      url: request.url,
      event: request.event,
      status: 'pending',
      attempts: 0,
      lastStatusCode: null,
      lastError: null,
      createdAt: new Date().toISOString(),
      ...(duplicateOf ? { duplicateOf } : {}),
    };
    remember(delivery);
    if (drops > 0 && !duplicateOf) {
      drops -= 1;
      delivery.status = 'failed';
      delivery.lastError = 'DROPPED';
    } else if (stopped) {
      delivery.status = 'failed';
      delivery.lastError = 'STOPPED';
    }
    return delivery;
  }

  /** Runs `action` after `ms` unless stopped first (a held delivery then ends as failed, STOPPED). */
  function later(key: string, ms: number, action: () => void): void {
    const timer = setTimeout(() => {
      timers.delete(key);
      action();
    }, ms);
    timer.unref();
    timers.set(key, timer);
  }

  return {
    async send(request) {
      const delivery = start(request);
      if (delivery.status === 'failed') return snapshot(delivery);
      const copyAfterMs = duplicates.shift();
      if (copyAfterMs !== undefined) {
        const copy = (): void => {
          const repeat = start(request, delivery.id);
          if (repeat.status === 'pending') void attempt(repeat, request);
        };
        later(`${delivery.id}:duplicate`, copyAfterMs, copy);
      }
      const delayMs = delays.shift();
      if (delayMs !== undefined) {
        later(delivery.id, delayMs, () => void attempt(delivery, request));
        return snapshot(delivery);
      }
      await attempt(delivery, request);
      return snapshot(delivery);
    },
    list: () => deliveries.map(snapshot),
    clear() {
      deliveries = deliveries.filter(unfinished);
    },
    dropNext(count) {
      if (!Number.isSafeInteger(count) || count < 0) throw new RangeError(`count: expected a non-negative integer, got ${String(count)}`);
      drops += count;
      return drops;
    },
    duplicateNext(count, afterMs = 0) {
      if (!Number.isSafeInteger(count) || count < 0) throw new RangeError(`count: expected a non-negative integer, got ${String(count)}`);
      if (!Number.isSafeInteger(afterMs) || afterMs < 0) throw new RangeError(`afterMs: expected a non-negative integer, got ${String(afterMs)}`);
      for (let i = 0; i < count; i++) duplicates.push(afterMs);
      return duplicates.length;
    },
    delayNext(count, ms) {
      if (!Number.isSafeInteger(count) || count < 0) throw new RangeError(`count: expected a non-negative integer, got ${String(count)}`);
      if (!Number.isSafeInteger(ms) || ms < 0) throw new RangeError(`ms: expected a non-negative integer, got ${String(ms)}`);
      for (let i = 0; i < count; i++) delays.push(ms);
      return delays.length;
    },
    stop() {
      stopped = true;
      for (const [id, timer] of timers) {
        clearTimeout(timer);
        const delivery = deliveries.find((d) => d.id === id);
        if (delivery) {
          delivery.status = 'failed';
          delivery.lastError = 'STOPPED';
        }
      }
      timers.clear();
    },
  };
}
