/**
 * Webhook ingress: POST /webhooks/{hubspot,stripe,gocardless,google-calendar,semble}. Each
 * delivery is verified over its raw bytes, de-duplicated by the vendor's event id(s), and
 * handed on as ONE InboxPayload event on the sync-inbox topic; the worker does the rest. The
 * records it names are announced on `entity-changes` (entity-changes.ts) for caches to evict.
 *
 * Webhooks are hints: the worker re-reads every record it is told about, and the shadow copy
 * makes a repeated hint a no-op. So de-duplication only saves work and may drop nothing but a
 * provable repeat of one delivery: the same vendor event id (HubSpot, Stripe, GoCardless) or
 * Google's channel + message number. Semble sends no id, and two real edits of one patient send
 * identical bodies, so its deliveries are never de-duplicated (vendors.ts).
 *
 * Acknowledgement is the promise to the vendor that nothing is lost, so a delivery is
 * answered 2xx only after bus.publish resolved. When the bus (or the dedupe store) is down,
 * the claimed ids are released and the answer is 503: the vendor retries, and the retry is
 * accepted as new. Answers:
 *   200 { duplicate: false, accepted, duplicates }  published (accepted = items on the event)
 *   200 { duplicate: true }                          every event id was seen before (never for Semble)
 *   200 { duplicate: false, accepted: 0 }            Google `sync` (a new channel), not published
 *   400 WEBHOOK_BODY_INVALID                         authentic, but not the vendor's shape
 *   401 WEBHOOK_SIGNATURE_INVALID { reason }         missing/bad/stale signature or token
 *   404 WEBHOOK_ENDPOINT_DISABLED                    the vendor's secret is not configured
 *   413 PAYLOAD_TOO_LARGE
 *   503 WEBHOOK_NOT_ACCEPTED                         bus or dedupe store unavailable: retry
 * Nothing is recorded or published for any non-2xx answer. Bodies carry PHI and are never
 * logged; logs name the vendor, the outcome and counts.
 */
import express from 'express';
import type { NextFunction, Request, Response, Router } from 'express';
import type { EventBus } from '../../../../lib/event-bus';
import type { Logger } from '../../../../lib/logger';
import { entitiesNamedBy, publishEntityChanges } from '../entity-changes';
import { INBOX_TOPIC } from '../inbox';
import type { InboxPayload } from '../inbox';
import type { WebhookDedupe } from './dedupe';
import { vendorEndpoints } from './vendors';
import type { InboxEntry, VendorEndpoint, VendorSecrets } from './vendors';

export interface WebhookRouterOptions {
  bus: EventBus;
  dedupe: WebhookDedupe;
  secrets: VendorSecrets;
  /**
   * The origin (plus any path prefix a proxy strips) vendors call, e.g. https://sync.example.org.
   * HubSpot signs the full URL it called; it is rebuilt as publicUrl + the request's path and
   * query, not from the listener's own address (which a proxy hides).
   */
  publicUrl: string;
  logger: Pick<Logger, 'info' | 'warn' | 'error'>;
  /** Larger bodies are refused with 413 before they are read. @default 1 MiB */
  maxBodyBytes?: number;
}

/** Event type of the inbox events, per vendor. */
export const inboxEventType = (vendor: string) => `webhook.${vendor}`;

const DEFAULT_MAX_BODY_BYTES = 1024 * 1024;

function errorBody(code: string, extra: Record<string, unknown> = {}) {
  return { error: { code, ...extra } };
}

export function createWebhookRouter(options: WebhookRouterOptions): Router {
  const { bus, dedupe, logger } = options;
  const publicUrl = options.publicUrl.replace(/\/+$/, '');
  const router = express.Router();
  // Every content type, as bytes: signatures are over the exact body, and vendors differ in
  // what they declare (Google sends none at all).
  const rawBody = express.raw({ type: () => true, limit: options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES });

  /**
   * Claims every key, in parallel. On a store failure, or when another delivery of one of the
   * keys is still being handed on (it may yet fail), releases what it got and reports it.
   */
  async function claimAll(entries: InboxEntry[]): Promise<{ fresh: InboxEntry[]; inProgress: boolean }> {
    // Entries without a key are never duplicates: they are fresh without asking the store.
    const results = await Promise.allSettled(entries.map((entry) => (entry.key === null ? Promise.resolve('claimed' as const) : dedupe.claim(entry.key))));
    const failed = results.find((result): result is PromiseRejectedResult => result.status === 'rejected');
    const outcome = (index: number) => {
      const result = results[index]!;
      return result.status === 'fulfilled' ? result.value : undefined;
    };
    const fresh = entries.filter((_, index) => outcome(index) === 'claimed');
    if (failed) {
      await releaseAll(fresh);
      throw failed.reason;
    }
    const inProgress = entries.some((_, index) => outcome(index) === 'pending');
    if (inProgress) await releaseAll(fresh);
    return { fresh: inProgress ? [] : fresh, inProgress };
  }

  const keysOf = (entries: InboxEntry[]): string[] => entries.flatMap((entry) => (entry.key === null ? [] : [entry.key]));

  /** Best effort: a key left pending lets retries through once PENDING_TTL_MS has passed. */
  async function confirmAll(entries: InboxEntry[]): Promise<void> {
    const results = await Promise.allSettled(keysOf(entries).map((key) => dedupe.confirm(key)));
    const failures = results.filter((result) => result.status === 'rejected').length;
    if (failures > 0) logger.error({ failures }, 'webhook dedupe keys could not be confirmed');
  }

  /** Best effort: a key that cannot be released only turns the retry into a duplicate answer. */
  async function releaseAll(entries: InboxEntry[]): Promise<void> {
    const results = await Promise.allSettled(keysOf(entries).map((key) => dedupe.release(key)));
    const failures = results.filter((result) => result.status === 'rejected').length;
    if (failures > 0) logger.error({ failures }, 'webhook dedupe keys could not be released');
  }

  function mount(endpoint: VendorEndpoint): void {
    const vendor = endpoint.vendor;
    router.post(endpoint.path, (_req: Request, res: Response, next: NextFunction) => {
      // Checked before the body is read: a disabled endpoint does not take uploads.
      if (!endpoint.enabled) {
        res.status(404).json(errorBody('WEBHOOK_ENDPOINT_DISABLED', { message: `${vendor} webhooks are not configured` }));
        return;
      }
      next();
    });
    router.post(endpoint.path, rawBody, async (req: Request, res: Response) => {
      const body = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
      const checked = endpoint.check({ headers: req.headers, method: req.method, uri: publicUrl + req.originalUrl, body });
      if (!checked.ok) {
        const malformed = checked.reason === 'MALFORMED_BODY' || checked.reason === 'MALFORMED_NOTIFICATION';
        logger.warn({ vendor, reason: checked.reason }, 'webhook refused');
        res
          .status(malformed ? 400 : 401)
          .json(errorBody(malformed ? 'WEBHOOK_BODY_INVALID' : 'WEBHOOK_SIGNATURE_INVALID', { reason: checked.reason }));
        return;
      }
      if (checked.entries.length === 0) {
        logger.info({ vendor, outcome: 'acknowledged' }, 'webhook acknowledged without inbox event');
        res.json({ duplicate: false, accepted: 0 });
        return;
      }

      let fresh: InboxEntry[];
      try {
        const claimed = await claimAll(checked.entries);
        if (claimed.inProgress) {
          // Acknowledging now would lose the event if the delivery in progress fails to publish.
          logger.info({ vendor, outcome: 'in-progress' }, 'webhook delivery already being handled');
          res.status(503).json(errorBody('WEBHOOK_IN_PROGRESS', { message: 'this delivery is already being handled; retry later' }));
          return;
        }
        fresh = claimed.fresh;
      } catch (error) {
        logger.error({ vendor, err: { name: (error as Error).name, message: (error as Error).message } }, 'webhook dedupe unavailable');
        res.status(503).json(errorBody('WEBHOOK_NOT_ACCEPTED', { message: 'dedupe store unavailable; retry later' }));
        return;
      }
      const duplicates = checked.entries.length - fresh.length;
      if (fresh.length === 0) {
        logger.info({ vendor, outcome: 'duplicate', items: duplicates }, 'webhook replay ignored');
        res.json({ duplicate: true });
        return;
      }

      const payload: InboxPayload = { receivedAt: new Date().toISOString(), items: fresh.map((entry) => entry.item) };
      try {
        const event = await bus.publish({ topic: INBOX_TOPIC, type: inboxEventType(vendor), payload });
        await confirmAll(fresh);
        logger.info({ vendor, outcome: 'published', items: fresh.length, duplicates, cursor: event.cursor }, 'webhook accepted');
        // Caches drop what the notification names now, before the worker has even read it.
        await publishEntityChanges(bus, fresh[0]!.item.vendor, fresh.flatMap((entry) => entitiesNamedBy(entry.item)), logger);
      } catch (error) {
        // Not acknowledged, so the vendor retries; the released ids let that retry through.
        await releaseAll(fresh);
        logger.error({ vendor, err: { name: (error as Error).name, message: (error as Error).message } }, 'webhook not published');
        res.status(503).json(errorBody('WEBHOOK_NOT_ACCEPTED', { message: 'event bus unavailable; retry later' }));
        return;
      }
      res.json({ duplicate: false, accepted: fresh.length, duplicates });
    });
  }

  for (const endpoint of vendorEndpoints(options.secrets)) mount(endpoint);

  // Body-reading failures: JSON answers, and never the body (body-parser errors may carry it).
  router.use((error: Error & { status?: number; type?: string }, req: Request, res: Response, next: NextFunction) => {
    if (res.headersSent) return next(error);
    if (error.type === 'entity.too.large' || error.status === 413) {
      res.status(413).json(errorBody('PAYLOAD_TOO_LARGE', { message: 'webhook body too large' }));
      return;
    }
    const status = error.status && error.status >= 400 && error.status < 500 ? error.status : 500;
    logger.warn({ path: req.path, status, type: error.type }, 'webhook body could not be read');
    res.status(status).json(errorBody(status === 500 ? 'INTERNAL' : 'WEBHOOK_BODY_UNREADABLE'));
  });
  return router;
}
