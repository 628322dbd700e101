/**
 * Outgoing webhook delivery, as the vendors do it: POST with a timeout, a 2xx is success and
 * anything else (3xx included, redirects are not followed) or a network error is retried after
 * a growing delay, a fresh request built for every attempt (HubSpot bumps `attemptNumber`,
 * Stripe and HubSpot sign each attempt with a new timestamp). The record of each delivery
 * (never its body: webhooks carry PHI) is kept so emulator tests can wait for it.
 */

/** pending: first attempt in flight; retrying: waiting for the next; delivered / failed: final. */
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

  return {
    async send(request) {
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
      };
      remember(delivery);
      if (drops > 0) {
        drops -= 1;
        delivery.status = 'failed';
        delivery.lastError = 'DROPPED';
        return snapshot(delivery);
      }
      if (stopped) {
        delivery.status = 'failed';
        delivery.lastError = 'STOPPED';
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
