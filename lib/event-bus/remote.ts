/**
 * An EventBus that is a client of another process's bus, served by ./http-host.ts: the
 * gateway's view of the sync service's in-memory bus in the embedded default (no REDIS_URL).
 *
 * publish and read are one request each. subscribe resolves its start (the given cursor, or
 * the topic's current last cursor from GET /tail for live-only), then loops on GET /poll from
 * the last delivered cursor: the host answers at once with the next page while there is
 * backlog (the replay) and waits for new events once caught up (live), so replay and live are
 * one walk along the topic with no gap and no duplicate at the seam. A lost connection goes to
 * onError once per outage and the loop retries from the same cursor; CursorExpiredError ends
 * the subscription, as with the local buses.
 *
 * consume() is not offered: consumer groups need the pending-entry state of the bus itself, so
 * workers run in the process that owns the bus (or against Redis). It rejects with
 * `consume is not available over the remote bus; run workers where the bus is`.
 *
 * Inputs are checked here with the same functions the local buses use, so a bad topic, limit or
 * cursor fails with the same error (type and message) before any request is made. The host
 * caps one read at 10 000 events (a larger limit is a RemoteEventBusError BAD_REQUEST), and a
 * host that refuses the token (401) is reported to a subscriber like an outage: once, while
 * the loop keeps retrying.
 */
import { setMaxListeners } from 'node:events';
import http from 'node:http';
import https from 'node:https';
import { parseCursor } from './cursor';
import { busClosedError, checkHandler, checkPublishInput, checkTopic, pause, resolveReadLimit } from './inputs';
import { CursorExpiredError, InvalidCursorError } from './types';
import type { BusEvent, EventBus, PublishInput, ReadOptions, SubscribeOptions, Unsubscribe } from './types';

/** The subset of fetch the remote bus uses (the global fetch fits). */
export type RemoteFetch = (
  url: string,
  init: { method: string; headers: Record<string, string>; body?: string; signal: AbortSignal },
) => Promise<{ status: number; text(): Promise<string> }>;

export interface RemoteEventBusOptions {
  /** Base URL where the host router is mounted, e.g. http://127.0.0.1:4010/__bus. */
  url: string;
  /** The host's bearer token. */
  token: string;
  /**
   * Transport for the requests. Default: node:http(s) with a keep-alive agent the bus owns, so
   * close() also closes its sockets (a global fetch pool would keep them open a while).
   */
  fetch?: RemoteFetch;
  /** How long one long-poll may wait on the host (it caps this at 30 s). @default 25000 */
  pollWaitMs?: number;
  /** Limit for one request's answer (a poll gets its wait on top). @default 10000 */
  requestTimeoutMs?: number;
}

/** A failure reported by (or on the way to) the host, with the host's error code. */
export class RemoteEventBusError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status?: number,
  ) {
    super(message);
    this.name = 'RemoteEventBusError';
  }
}

export const REMOTE_CONSUME_UNAVAILABLE = 'consume is not available over the remote bus; run workers where the bus is';

const PAGE_SIZE = 100;
const PING_TIMEOUT_MS = 2000;
const RETRY_MIN_MS = 100;
const RETRY_MAX_MS = 2000;

interface Transport {
  fetch: RemoteFetch;
  destroy(): void;
}

/** node:http(s) behind the RemoteFetch shape, on agents owned (and destroyed) by the bus. */
function nodeTransport(): Transport {
  const agents = { http: new http.Agent({ keepAlive: true }), https: new https.Agent({ keepAlive: true }) };
  const send = (url: string, init: Parameters<RemoteFetch>[1], retryOnStaleSocket: boolean): ReturnType<RemoteFetch> =>
    new Promise((resolve, reject) => {
      const target = new URL(url);
      const secure = target.protocol === 'https:';
      const request = (secure ? https : http).request(
        target,
        { method: init.method, headers: init.headers, agent: secure ? agents.https : agents.http, signal: init.signal },
        (response) => {
          const chunks: Buffer[] = [];
          response.on('data', (chunk: Buffer) => chunks.push(chunk));
          response.on('error', reject);
          response.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            resolve({ status: response.statusCode ?? 0, text: async () => text });
          });
        },
      );
      request.on('error', (error: NodeJS.ErrnoException) => {
        // A kept-alive socket the host closed as idle just as we reused it: the host never read
        // the request, so sending it again on a new socket is safe (what Node's docs advise).
        if (retryOnStaleSocket && request.reusedSocket && error.code === 'ECONNRESET' && !init.signal?.aborted) {
          send(url, init, false).then(resolve, reject);
          return;
        }
        reject(error);
      });
      request.end(init.body);
    });
  return {
    fetch: (url, init) => send(url, init, true),
    destroy() {
      agents.http.destroy();
      agents.https.destroy();
    },
  };
}

function abortError(): Error {
  return new RemoteEventBusError('ABORTED', 'request aborted');
}

interface HostErrorBody {
  error?: { code?: string; message?: string; cursor?: string; topic?: string; after?: string; oldest?: string | null };
}

/** The host's error answer as the error a local bus would throw. */
function hostError(status: number, body: HostErrorBody | undefined): Error {
  const error = body?.error ?? {};
  const code = typeof error.code === 'string' ? error.code : `HTTP_${status}`;
  if (code === 'INVALID_CURSOR') return new InvalidCursorError(String(error.cursor ?? ''));
  if (code === 'CURSOR_EXPIRED') {
    return new CursorExpiredError(String(error.topic ?? ''), String(error.after ?? ''), error.oldest ?? undefined);
  }
  const message = typeof error.message === 'string' ? error.message : `event bus host answered ${status}`;
  return new RemoteEventBusError(code, message, status);
}

export function createRemoteEventBus(options: RemoteEventBusOptions): EventBus {
  if (typeof options?.url !== 'string' || !/^https?:\/\//.test(options.url)) {
    throw new TypeError('url: expected an http(s) URL');
  }
  if (typeof options.token !== 'string' || options.token === '') throw new TypeError('token: expected a non-empty string');
  const base = options.url.replace(/\/+$/, '');
  const origin = new URL(base).origin; // for messages: never the token
  const transport: Transport = options.fetch ? { fetch: options.fetch, destroy: () => undefined } : nodeTransport();
  const pollWaitMs = options.pollWaitMs ?? 25_000;
  const requestTimeoutMs = options.requestTimeoutMs ?? 10_000;
  const closing = new AbortController();
  // Every request in flight listens for close(); dozens at once is normal, not a leak.
  setMaxListeners(0, closing.signal);
  const loops = new Set<Promise<void>>();
  let closed = false;

  function assertOpen(): void {
    if (closed) throw busClosedError();
  }

  /** One request; resolves with the parsed JSON of a 2xx answer, rejects with the mapped error. */
  async function call<T>(
    method: 'GET' | 'POST',
    path: string,
    query: Record<string, string | number | undefined>,
    body?: unknown,
    extra: { signal?: AbortSignal; timeoutMs?: number } = {},
  ): Promise<T> {
    const search = new URLSearchParams();
    for (const [name, value] of Object.entries(query)) if (value !== undefined) search.set(name, String(value));
    const queryText = search.toString();
    const url = `${base}${path}${queryText === '' ? '' : `?${queryText}`}`;
    // One signal for: the bus closing, the caller's (an unsubscribe), and this request's deadline.
    const controller = new AbortController();
    const abort = () => controller.abort();
    const signals = [closing.signal, ...(extra.signal ? [extra.signal] : [])];
    for (const signal of signals) {
      if (signal.aborted) throw abortError();
      signal.addEventListener('abort', abort, { once: true });
    }
    let timedOut = false;
    const timeoutMs = extra.timeoutMs ?? requestTimeoutMs;
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort();
    }, timeoutMs);
    try {
      const headers: Record<string, string> = { authorization: `Bearer ${options.token}`, accept: 'application/json' };
      if (body !== undefined) headers['content-type'] = 'application/json';
      let response: { status: number; text(): Promise<string> };
      let text: string;
      try {
        response = await transport.fetch(url, {
          method,
          headers,
          ...(body === undefined ? {} : { body: JSON.stringify(body) }),
          signal: controller.signal,
        });
        text = await response.text();
      } catch (error) {
        if (timedOut) throw new RemoteEventBusError('TIMEOUT', `event bus host at ${origin} did not answer within ${timeoutMs} ms`);
        if (controller.signal.aborted) throw abortError();
        const cause = (error as { code?: string; cause?: { code?: string } }).cause?.code ?? (error as { code?: string }).code;
        throw new RemoteEventBusError('UNREACHABLE', `event bus host at ${origin} is not reachable${cause ? ` (${cause})` : ''}`);
      }
      let parsed: unknown;
      try {
        parsed = text === '' ? undefined : JSON.parse(text);
      } catch {
        parsed = undefined;
      }
      if (response.status < 200 || response.status >= 300) throw hostError(response.status, parsed as HostErrorBody | undefined);
      return parsed as T;
    } finally {
      clearTimeout(timer);
      for (const signal of signals) signal.removeEventListener('abort', abort);
    }
  }

  return {
    async publish<Payload>(input: PublishInput<Payload>): Promise<BusEvent<Payload>> {
      assertOpen();
      const { topic, type, payloadJson } = checkPublishInput(input);
      // Sent as the bus would store it, so both ends see the same JSON value.
      return call<BusEvent<Payload>>('POST', '/publish', {}, { topic, type, payload: JSON.parse(payloadJson) as unknown });
    },

    async read(topic: string, readOptions: ReadOptions = {}): Promise<BusEvent[]> {
      assertOpen();
      checkTopic(topic);
      const limit = resolveReadLimit(readOptions.limit);
      if (readOptions.after !== undefined) parseCursor(readOptions.after);
      const answer = await call<{ events: BusEvent[] }>('GET', '/read', { topic, after: readOptions.after, limit });
      return answer.events;
    },

    async subscribe(
      topic: string,
      subscribeOptions: SubscribeOptions,
      onEvent: (event: BusEvent) => void | Promise<void>,
      onError?: (error: Error) => void,
    ): Promise<Unsubscribe> {
      assertOpen();
      checkTopic(topic);
      checkHandler('onEvent', onEvent);
      const after = subscribeOptions?.after;
      if (after !== undefined) parseCursor(after);
      // Live only: start after whatever is newest right now (undefined: the topic is empty,
      // so everything that arrives is new).
      let cursor: string | undefined =
        after ?? (await call<{ cursor: string | null }>('GET', '/tail', { topic })).cursor ?? undefined;
      const stop = new AbortController();
      const signal = stop.signal;

      const loop = (async () => {
        let retryMs = RETRY_MIN_MS;
        let reportedOutage = false;
        while (!signal.aborted && !closed) {
          let events: BusEvent[];
          try {
            ({ events } = await call<{ events: BusEvent[] }>(
              'GET',
              '/poll',
              { topic, after: cursor, limit: PAGE_SIZE, waitMs: pollWaitMs },
              undefined,
              { signal, timeoutMs: pollWaitMs + requestTimeoutMs },
            ));
            retryMs = RETRY_MIN_MS;
            reportedOutage = false;
          } catch (error) {
            if (signal.aborted || closed) return;
            if (error instanceof CursorExpiredError) {
              onError?.(error);
              return; // an expired cursor cannot continue without a gap
            }
            if (!reportedOutage) {
              reportedOutage = true;
              onError?.(error as Error);
            }
            await pause(retryMs, signal);
            retryMs = Math.min(retryMs * 2, RETRY_MAX_MS);
            continue;
          }
          for (const event of events) {
            if (signal.aborted || closed) return;
            cursor = event.cursor;
            try {
              await onEvent(event);
            } catch (error) {
              // A subscriber's own failure is reported, not retried, as with the local buses.
              onError?.(error instanceof Error ? error : new Error(String(error)));
            }
          }
        }
      })();
      loops.add(loop);
      loop.finally(() => loops.delete(loop)).catch(() => undefined);
      const onClose = () => stop.abort();
      closing.signal.addEventListener('abort', onClose, { once: true });
      return async () => {
        closing.signal.removeEventListener('abort', onClose);
        stop.abort();
        await loop;
      };
    },

    async consume(): Promise<Unsubscribe> {
      throw new Error(REMOTE_CONSUME_UNAVAILABLE);
    },

    async ping(): Promise<boolean> {
      if (closed) return false;
      try {
        await call('GET', '/ping', {}, undefined, { timeoutMs: PING_TIMEOUT_MS });
        return true;
      } catch {
        return false;
      }
    },

    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      closing.abort();
      await Promise.all([...loops]);
      transport.destroy();
    },
  };
}
