/**
 * The admin surface emulators share for webhooks. lib/emulator.ts counts (and injects faults
 * into) every route registered after it is created, so admin routes added later would be
 * counted; instead they live on a router placed in front of the emulator app:
 *
 *   GET    /__admin/webhooks   → { deliveries: [{ id, url, event, status, attempts, lastStatusCode, lastError, createdAt }] }
 *   DELETE /__admin/webhooks   → forget finished deliveries
 *   POST   /__admin/webhooks/drop { count?: 1 } → { dropping }: lose the next `count` webhooks
 *          (listed as failed, lastError DROPPED, never sent), as a vendor sometimes does
 *   POST   /__admin/webhooks/duplicate { count?: 1, afterMs?: 0 } → { duplicating }: send each of
 *          the next `count` webhooks twice, the copy `afterMs` later (listed with `duplicateOf`),
 *          as a vendor does when it missed our acknowledgement
 *   POST   /__admin/webhooks/delay { count?: 1, ms } → { delaying }: hold each of the next `count`
 *          webhooks back `ms` before sending it, so later ones overtake it
 *
 * Each emulator adds its own "change a record as a person in the vendor's UI would" routes to
 * `admin` (answering with the updated record and, when webhooks went out, the delivery ids in
 * X-Emulator-Webhook-Delivery); requests not matched there fall through to the emulator app
 * unchanged.
 */
import express from 'express';
import type { Express, NextFunction, Request, Response, Router } from 'express';
import type { WebhookSender } from './delivery';

export interface AdminFront {
  /** Serve this (not the emulator app): admin routes first, then the emulator. */
  root: Express;
  /** Routes here answer /__admin/…, uncounted and never faulted. JSON bodies are parsed. */
  admin: Router;
}

export function createAdminFront(app: Express, sender: WebhookSender): AdminFront {
  const root = express();
  root.disable('x-powered-by');
  const admin = express.Router();
  admin.use(express.json());
  // A body that is not JSON: a plain 400 rather than express's HTML page.
  admin.use((error: Error & { status?: number }, _req: Request, res: Response, next: NextFunction) => {
    if (error.status === 400 || error instanceof SyntaxError) {
      res.status(400).json({ message: 'Invalid JSON body.' });
      return;
    }
    next(error);
  });
  admin.get('/webhooks', (_req, res) => {
    res.json({ deliveries: sender.list() });
  });
  admin.delete('/webhooks', (_req, res) => {
    sender.clear();
    res.status(204).end();
  });
  /** A body's integer `key`, or a message naming it; `fallback` when absent. */
  const integer = (req: Request, key: string, min: number, fallback?: number): number | string => {
    const value = (req.body as Record<string, unknown> | undefined)?.[key] ?? fallback;
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) {
      return `${key}: expected ${min === 1 ? 'a positive' : 'a non-negative'} integer, got ${JSON.stringify(value)}`;
    }
    return value;
  };
  admin.post('/webhooks/drop', (req, res) => {
    const count = integer(req, 'count', 1, 1);
    if (typeof count === 'string') {
      res.status(400).json({ message: count });
      return;
    }
    res.json({ dropping: sender.dropNext(count) });
  });
  admin.post('/webhooks/duplicate', (req, res) => {
    const count = integer(req, 'count', 1, 1);
    const afterMs = integer(req, 'afterMs', 0, 0);
    const invalid = [count, afterMs].find((value) => typeof value === 'string');
    if (invalid !== undefined) {
      res.status(400).json({ message: invalid });
      return;
    }
    res.json({ duplicating: sender.duplicateNext(count as number, afterMs as number) });
  });
  admin.post('/webhooks/delay', (req, res) => {
    const count = integer(req, 'count', 1, 1);
    const ms = integer(req, 'ms', 0);
    const invalid = [count, ms].find((value) => typeof value === 'string');
    if (invalid !== undefined) {
      res.status(400).json({ message: invalid });
      return;
    }
    res.json({ delaying: sender.delayNext(count as number, ms as number) });
  });
  root.use('/__admin', admin);
  root.use(app);
  return { root, admin };
}

/** Answers an admin request after the first delivery attempt (if any), naming the delivery in a header. */
export function sendAdminResult(res: Response, record: unknown, deliveryIds: readonly string[]): void {
  if (deliveryIds.length > 0) res.setHeader('X-Emulator-Webhook-Delivery', deliveryIds.join(', '));
  res.json(record);
}
