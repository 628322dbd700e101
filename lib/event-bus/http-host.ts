/**
 * Serving a bus over HTTP, so processes other than its owner can follow its topics. In the
 * embedded default (no REDIS_URL) the sync service owns an in-memory bus and the gateway, in
 * another process, reaches it through this host with ./remote.ts. With Redis every process
 * talks to Redis directly and this host is not needed (it works in front of any EventBus, but
 * each waiting poll holds one subscription of the bus underneath, cheap only for memory).
 *
 * Routes (all behind `Authorization: Bearer <token>`):
 *   POST /publish  { topic, type, payload }           → the BusEvent
 *   GET  /read?topic&after&limit                      → { events }
 *   GET  /poll?topic&after&limit&waitMs               → { events }: at once when there are events
 *        after the cursor, else as soon as one is published, else [] after waitMs (max 30 s)
 *   GET  /tail?topic                                   → { cursor }: the newest event's cursor, or
 *        null for a topic with no events (a live subscriber starts after it)
 *   GET  /ping                                         → { ok: true }
 * Errors are `{ error: { code, message, … } }`: 400 INVALID_CURSOR (with `cursor`) or
 * BAD_REQUEST, 410 CURSOR_EXPIRED (with topic, after, oldest), 401 UNAUTHORIZED,
 * 503 BUS_UNAVAILABLE (the bus is closed or its backend is down).
 */
import express from 'express';
import type { NextFunction, Request, Response, Router } from 'express';
import { requireBearerToken } from '../bearer-token';
import { formatCursor, parseCursor } from './cursor';
import { CursorExpiredError, InvalidCursorError } from './types';
import type { BusEvent, EventBus, Unsubscribe } from './types';

export interface BusHostOptions {
  /** The shared secret clients send as `Authorization: Bearer <token>`; must not be empty. */
  token: string;
  /** Largest POST /publish body. @default '1mb' */
  maxBodyBytes?: number | string;
}

export interface BusHost extends Router {
  /** Answers every waiting poll now (with no events) and refuses new ones; the bus stays open. */
  close(): Promise<void>;
  /** Polls currently waiting for an event (for metrics and tests). */
  waitingPolls(): number;
}

/** Longest a poll may wait: under common proxy idle timeouts, and a bound on a dead client. */
export const MAX_POLL_WAIT_MS = 30_000;
/** Largest page one read or poll returns. */
export const MAX_HOST_READ_LIMIT = 10_000;
const DEFAULT_POLL_WAIT_MS = 25_000;
/** Cursor seq part of the last position within a millisecond. */
const SEQ_MAX = (1n << 64n) - 1n;

class BadRequestError extends Error {
  readonly code = 'BAD_REQUEST';
}

class HostClosedError extends Error {
  readonly code = 'BUS_UNAVAILABLE';
}


function singleQuery(req: Request, name: string): string | undefined {
  const value = req.query[name];
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw new BadRequestError(`${name}: expected a single value`);
  return value;
}

function requiredTopic(req: Request): string {
  const topic = singleQuery(req, 'topic');
  if (topic === undefined || topic === '') throw new BadRequestError('topic: expected a non-empty string');
  return topic;
}

function integerQuery(req: Request, name: string, fallback: number, min: number, max: number): number {
  const text = singleQuery(req, name);
  if (text === undefined) return fallback;
  if (!/^\d{1,9}$/.test(text)) throw new BadRequestError(`${name}: expected an integer, got ${JSON.stringify(text.slice(0, 20))}`);
  const value = Number(text);
  if (value < min || value > max) throw new BadRequestError(`${name}: expected ${min} to ${max}, got ${value}`);
  return value;
}

/** `after` as given (validated here so a bad one is a 400 without touching the bus). */
function afterQuery(req: Request): string | undefined {
  const after = singleQuery(req, 'after');
  if (after !== undefined) parseCursor(after);
  return after;
}

/**
 * The newest event's cursor through the EventBus interface alone, which has no "last" call:
 * `read(after: <m>-<max seq>, limit 1)` says whether any event has a millisecond above m, so a
 * galloping search from the oldest event finds the newest millisecond in O(log span) cheap
 * reads, and one page read of that millisecond gives the last cursor. Publishes racing the
 * search only make it return a slightly older cursor, which a subscriber then also receives.
 */
async function findTail(bus: EventBus, topic: string): Promise<string | null> {
  const oldest = (await bus.read(topic, { limit: 1 }))[0];
  if (!oldest) return null;
  const hasEventAfterMs = async (ms: bigint): Promise<boolean> => {
    try {
      return (await bus.read(topic, { after: formatCursor({ ms, seq: SEQ_MAX }), limit: 1 })).length > 0;
    } catch (error) {
      // Trimmed past it in the meantime: there are newer events.
      if (error instanceof CursorExpiredError) return true;
      throw error;
    }
  };
  // Invariant: an event exists at a millisecond > low - 1 (the oldest, at first); none above high.
  let low = parseCursor(oldest.cursor).ms;
  if (!(await hasEventAfterMs(low))) return lastCursorAt(bus, topic, low, oldest.cursor);
  let step = 1n;
  let high = low + step;
  while (await hasEventAfterMs(high)) {
    low = high + 1n;
    step *= 2n;
    high = low + step;
    if (high > SEQ_MAX) high = SEQ_MAX; // u64 ms: the cursor space ends there
    if (low > high) break;
  }
  // Now: some event after ms low - 1 (so at >= low), none after high. Find the newest ms.
  while (low < high) {
    const middle = (low + high) / 2n;
    if (await hasEventAfterMs(middle)) low = middle + 1n;
    else high = middle;
  }
  return lastCursorAt(bus, topic, low, oldest.cursor);
}

/** The cursor of the last event at millisecond `ms` (there is at least one, or `fallback`). */
async function lastCursorAt(bus: EventBus, topic: string, ms: bigint, fallback: string): Promise<string> {
  let after: string | undefined = ms === 0n ? undefined : formatCursor({ ms: ms - 1n, seq: SEQ_MAX });
  let last = fallback;
  for (;;) {
    const page: BusEvent[] = await bus.read(topic, { ...(after === undefined ? {} : { after }), limit: 1000 });
    if (page.length > 0) last = page[page.length - 1]!.cursor;
    if (page.length < 1000) return last;
    after = last;
  }
}

function sendError(res: Response, error: unknown): void {
  if (res.headersSent) return;
  if (error instanceof InvalidCursorError) {
    res.status(400).json({ error: { code: error.code, message: error.message, cursor: error.cursor } });
  } else if (error instanceof CursorExpiredError) {
    res.status(410).json({
      error: { code: error.code, message: error.message, topic: error.topic, after: error.after, oldest: error.oldest ?? null },
    });
  } else if (error instanceof BadRequestError || error instanceof TypeError || error instanceof RangeError) {
    // The bus's own input checks throw TypeError/RangeError with "expected X, got Y" messages.
    res.status(400).json({ error: { code: 'BAD_REQUEST', message: error.message } });
  } else {
    // The bus is closed or its backend is down: worth retrying, so not a 500.
    const message = error instanceof Error ? error.message : 'event bus unavailable';
    res.status(503).json({ error: { code: 'BUS_UNAVAILABLE', message } });
  }
}

export function createBusHost(bus: EventBus, options: BusHostOptions): BusHost {
  if (typeof options?.token !== 'string' || options.token === '') {
    throw new TypeError('token: expected a non-empty string');
  }
  const router = express.Router() as BusHost;
  /** Ends waiting polls early (host closing). */
  const waiting = new Set<() => void>();
  let closed = false;

  router.use(requireBearerToken(options.token));

  const handle =
    (run: (req: Request, res: Response) => Promise<unknown>) =>
    async (req: Request, res: Response): Promise<void> => {
      try {
        if (closed) throw new HostClosedError('event bus host is closed');
        const body = await run(req, res);
        if (!res.headersSent) res.json(body);
      } catch (error) {
        sendError(res, error);
      }
    };

  router.get(
    '/ping',
    handle(async () => {
      if (!(await bus.ping())) throw new HostClosedError('event bus is not reachable');
      return { ok: true };
    }),
  );

  router.post(
    '/publish',
    express.json({ limit: options.maxBodyBytes ?? '1mb', strict: false }),
    handle(async (req) => {
      const body = req.body as { topic?: unknown; type?: unknown; payload?: unknown } | undefined;
      if (!body || typeof body !== 'object' || Array.isArray(body)) {
        throw new BadRequestError('publish: expected { topic, type, payload }');
      }
      return bus.publish({ topic: body.topic as string, type: body.type as string, payload: body.payload });
    }),
  );

  router.get(
    '/read',
    handle(async (req) => {
      const topic = requiredTopic(req);
      const after = afterQuery(req);
      const limit = integerQuery(req, 'limit', 100, 1, MAX_HOST_READ_LIMIT);
      return { events: await bus.read(topic, { ...(after === undefined ? {} : { after }), limit }) };
    }),
  );

  router.get(
    '/tail',
    handle(async (req) => ({ cursor: await findTail(bus, requiredTopic(req)) })),
  );

  router.get(
    '/poll',
    handle(async (req, res) => {
      const topic = requiredTopic(req);
      const after = afterQuery(req);
      const limit = integerQuery(req, 'limit', 100, 1, MAX_HOST_READ_LIMIT);
      const waitMs = Math.min(integerQuery(req, 'waitMs', DEFAULT_POLL_WAIT_MS, 0, 999_999_999), MAX_POLL_WAIT_MS);
      const readPage = () => bus.read(topic, { ...(after === undefined ? {} : { after }), limit });
      const first = await readPage();
      if (first.length > 0 || waitMs === 0) return { events: first };

      // Nothing yet: wait on a subscription from the same cursor, which replays anything
      // published since the read above, so no publish can slip between the two.
      let unsubscribe: Unsubscribe | undefined;
      let timer: NodeJS.Timeout | undefined;
      let wake!: () => void;
      let failure: Error | undefined;
      const woken = new Promise<void>((resolve) => (wake = resolve));
      const onClose = () => wake();
      waiting.add(wake);
      res.on('close', onClose);
      try {
        unsubscribe = await bus.subscribe(
          topic,
          { after: after ?? '0-0' },
          () => wake(),
          (error) => {
            failure = error;
            wake();
          },
        );
        timer = setTimeout(wake, waitMs);
        await woken;
      } finally {
        if (timer) clearTimeout(timer);
        waiting.delete(wake);
        res.off('close', onClose);
        await unsubscribe?.();
      }
      if (failure) throw failure;
      if (closed || res.destroyed) return { events: [] };
      return { events: await readPage() };
    }),
  );

  // Body-parser failures (bad JSON, too large): JSON answers rather than express's HTML page.
  router.use((error: Error & { status?: number; type?: string }, _req: Request, res: Response, next: NextFunction) => {
    if (res.headersSent) return next(error);
    const status = error.status && error.status >= 400 && error.status < 500 ? error.status : 500;
    const code = status === 413 ? 'PAYLOAD_TOO_LARGE' : status === 500 ? 'INTERNAL' : 'BAD_REQUEST';
    res.status(status).json({ error: { code, message: status === 500 ? 'internal error' : error.message } });
  });

  router.waitingPolls = () => waiting.size;
  router.close = async () => {
    closed = true;
    for (const wake of [...waiting]) wake();
  };
  return router;
}
