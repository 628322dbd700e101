/**
 * A real HTTP webhook receiver for tests of senders (the delivery machinery and the vendor
 * emulators): it records every request exactly as received (method, path, headers, raw body)
 * and answers with the status the test chooses, so a test can check signatures over the
 * bytes that actually crossed the wire.
 */
import http from 'node:http';
import type { IncomingHttpHeaders } from 'node:http';
import { listen } from '../listen';
import type { WebhookDelivery } from './delivery';

export interface ReceivedWebhook {
  method: string;
  /** Path and query as requested. */
  path: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
  /** The status this request was answered with. */
  answeredWith: number;
}

export interface RecordingReceiver {
  /** The URL to configure as the webhook target (path included). */
  url: string;
  received: ReceivedWebhook[];
  /** Status for the next requests: a number for all, or a function of the 1-based request count. @default 200 */
  respondWith(status: number | ((count: number) => number)): void;
  /** Resolves once `count` requests have arrived; rejects after `timeoutMs` (a deadline, not a timing assertion). */
  waitFor(count: number, timeoutMs?: number): Promise<ReceivedWebhook[]>;
  stop(): Promise<void>;
}

export async function startRecordingReceiver(path = '/webhooks'): Promise<RecordingReceiver> {
  const received: ReceivedWebhook[] = [];
  let status: number | ((count: number) => number) = 200;
  let waiters: Array<() => void> = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const answeredWith = typeof status === 'function' ? status(received.length + 1) : status;
      received.push({ method: req.method ?? '', path: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks), answeredWith });
      res.statusCode = answeredWith;
      res.end();
      const wake = waiters;
      waiters = [];
      for (const waiter of wake) waiter();
    });
  });
  const listening = await listen(server);
  return {
    url: `${listening.url}${path}`,
    received,
    respondWith(next) {
      status = next;
    },
    waitFor(count, timeoutMs = 10_000) {
      return new Promise((resolve, reject) => {
        const deadline = setTimeout(() => reject(new Error(`expected ${count} webhook requests, got ${received.length}`)), timeoutMs);
        const check = () => {
          if (received.length >= count) {
            clearTimeout(deadline);
            resolve(received.slice(0, count));
          } else {
            waiters.push(check);
          }
        };
        check();
      });
    },
    stop: () => listening.stop(),
  };
}

/** The deliveries an emulator lists under GET /__admin/webhooks. */
export async function readDeliveries(emulatorUrl: string): Promise<WebhookDelivery[]> {
  const response = await fetch(`${emulatorUrl}/__admin/webhooks`);
  return ((await response.json()) as { deliveries: WebhookDelivery[] }).deliveries;
}

/** Polls an emulator's delivery listing until `check` holds; rejects after `timeoutMs` (a deadline, not a timing assertion). */
export async function waitForDeliveries(
  emulatorUrl: string,
  check: (deliveries: WebhookDelivery[]) => boolean,
  timeoutMs = 10_000,
): Promise<WebhookDelivery[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const deliveries = await readDeliveries(emulatorUrl);
    if (check(deliveries)) return deliveries;
    if (Date.now() > deadline) throw new Error(`webhook deliveries did not reach the expected state: ${JSON.stringify(deliveries)}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
