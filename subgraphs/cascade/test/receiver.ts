/**
 * Test helpers for the cascade engine's tests: a real HTTP receiver (port 0) that records what
 * it receives and answers as told (fail a number of times, stay down, ask for Retry-After), a
 * minimal connector that POSTs a step to it over real HTTP, and a poll-until helper.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { CascadeMessage, Connector, ConnectorKind, DeliveryOutcome } from '../src/connectors/types';

export interface Received {
  path: string;
  idempotencyKey: string;
  body: { eventType: string; step: string; fields: Record<string, unknown>; text?: string };
  at: number;
}

export interface Answer {
  status: number;
  headers?: Record<string, string>;
}

export interface Receiver {
  url: string;
  received: Received[];
  /** Successful deliveries (2xx answered) per path. */
  accepted(path: string): Received[];
  /** Answer the next requests to `path` with these, in order; 200 after. */
  plan(path: string, answers: Answer[]): void;
  /** Answer every request to `path` with `answer` until `up(path)`. */
  down(path: string, answer?: Answer): void;
  up(path: string): void;
  stop(): Promise<void>;
}

export async function startReceiver(): Promise<Receiver> {
  const received: Received[] = [];
  const acceptedLog: Received[] = [];
  const plans = new Map<string, Answer[]>();
  const outages = new Map<string, Answer>();
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const path = req.url ?? '/';
      const entry: Received = { path, idempotencyKey: String(req.headers['idempotency-key'] ?? ''), body: JSON.parse(Buffer.concat(chunks).toString('utf8')), at: Date.now() };
      received.push(entry);
      const answer = outages.get(path) ?? plans.get(path)?.shift() ?? { status: 200 };
      if (answer.status >= 200 && answer.status < 300) acceptedLog.push(entry);
      res.writeHead(answer.status, { 'content-type': 'application/json', ...answer.headers });
      res.end(JSON.stringify({ ok: answer.status < 300 }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    received,
    accepted: (path) => acceptedLog.filter((entry) => entry.path === path),
    plan: (path, answers) => plans.set(path, [...answers]),
    down: (path, answer = { status: 503 }) => outages.set(path, answer),
    up: (path) => outages.delete(path),
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A connector that POSTs the step as JSON with an Idempotency-Key, and reads the answer as the contract says. */
export function httpTestConnector(name: string, kind: ConnectorKind, url: string, fields: readonly string[]): Connector {
  return {
    name,
    kind,
    fields,
    async send(message: CascadeMessage, signal: AbortSignal): Promise<DeliveryOutcome> {
      let response: Response;
      try {
        response = await fetch(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'idempotency-key': message.idempotencyKey },
          body: JSON.stringify({ eventType: message.eventType, step: message.step, fields: message.fields, text: message.text }),
          signal,
        });
        await response.arrayBuffer();
      } catch (error) {
        return { status: 'retry', reason: `request failed (${(error as Error).name})` };
      }
      const httpStatus = response.status;
      if (httpStatus < 300) return { status: 'sent', httpStatus };
      if (httpStatus === 408 || httpStatus === 429 || httpStatus >= 500) {
        const seconds = Number(response.headers.get('retry-after'));
        return { status: 'retry', reason: `answered ${httpStatus}`, httpStatus, ...(Number.isFinite(seconds) && seconds > 0 ? { retryAfterMs: seconds * 1000 } : {}) };
      }
      return { status: 'failed', reason: `answered ${httpStatus}`, httpStatus };
    },
  };
}

/** Polls `check` until it returns a value other than undefined/false, or fails after `timeoutMs`. */
export async function until<T>(check: () => T | undefined | false | Promise<T | undefined | false>, what: string, timeoutMs = 45_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
