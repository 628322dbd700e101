/**
 * The sync service's Prometheus metrics (prom-client), in a registry of its own so several
 * services can live in one process (tests), as the gateway's (gateway/src/metrics.ts): inbox
 * events handled, failed and set aside, sync events published by type, webhook deliveries
 * accepted and refused by vendor, reconciliation sweep runs and the patients they scanned and
 * repaired, and the process's own metrics. They are taken at the edges (the
 * bus the service uses, the webhook routes' answers), so the sync engine knows nothing of them.
 */
import type { RequestHandler } from 'express';
import { Counter, Registry, collectDefaultMetrics } from 'prom-client';
import type { BusEvent, DeadLetter, EventBus } from '../../../lib/event-bus';
import { INBOX_TOPIC, SYNC_EVENTS_TOPIC } from './inbox';
import type { SyncEventPayload } from './inbox';
import type { SweepRun } from './sweep';
import type { WebhookVendor } from './webhooks';

export interface SyncMetrics {
  registry: Registry;
  /** `bus`, counting the inbox events the worker consumes and the sync events published through it. */
  meter(bus: EventBus): EventBus;
  /** Counts each answer to a webhook delivery; mount it at /webhooks, before the webhook router. */
  countWebhookDeliveries: RequestHandler;
  /** Counts one reconciliation sweep run (the sweep's `onRun`). */
  countSweep(run: SweepRun): void;
}

/** Every webhook route, so a label never takes a value from an arbitrary request path. */
const WEBHOOK_VENDORS: Record<WebhookVendor, true> = { semble: true, hubspot: true, stripe: true, gocardless: true, 'google-calendar': true };
const isWebhookVendor = (name: string): name is WebhookVendor => Object.hasOwn(WEBHOOK_VENDORS, name);

export function createSyncMetrics(): SyncMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'sync_' });

  const inbox = new Counter({
    name: 'sync_inbox_events_total',
    help: 'Inbox events taken by the worker, by outcome: handled, failed (left pending for a retry), dead_lettered (set aside after its last try)',
    labelNames: ['outcome'],
    registers: [registry],
  });
  const published = new Counter({ name: 'sync_events_published_total', help: 'Sync events published on the bus, by type', labelNames: ['type'], registers: [registry] });
  const deliveries = new Counter({
    name: 'sync_webhook_deliveries_total',
    help: 'Webhook deliveries answered, by vendor, outcome (accepted: 2xx, the vendor stops; refused: anything else) and status',
    labelNames: ['vendor', 'outcome', 'status'],
    registers: [registry],
  });
  const sweepRuns = new Counter({
    name: 'sync_sweep_runs_total',
    help: 'Reconciliation sweep runs, by outcome: completed, skipped (another replica was sweeping), failed (a listing or the store failed)',
    labelNames: ['outcome'],
    registers: [registry],
  });
  const sweepScanned = new Counter({ name: 'sync_sweep_records_scanned_total', help: 'Patients the sweep found changed since its checkpoint and synced', registers: [registry] });
  const sweepRepaired = new Counter({
    name: 'sync_sweep_records_repaired_total',
    help: 'Patients the sweep found out of step with the shadow copy and wrote (changes no webhook had brought)',
    registers: [registry],
  });
  // Present from the start, so a dashboard tells "none yet" from "not measured".
  for (const outcome of ['handled', 'failed', 'dead_lettered']) inbox.inc({ outcome }, 0);
  for (const outcome of ['completed', 'skipped', 'failed']) sweepRuns.inc({ outcome }, 0);

  const meter = (bus: EventBus): EventBus => ({
    async publish(input) {
      const event = await bus.publish(input);
      if (input.topic === SYNC_EVENTS_TOPIC) published.inc({ type: (input.payload as Partial<SyncEventPayload> | null)?.type ?? 'unknown' });
      return event;
    },
    read: (topic, options) => bus.read(topic, options),
    subscribe: (topic, options, onEvent, onError) => bus.subscribe(topic, options, onEvent, onError),
    consume(topic, options, handler) {
      if (topic !== INBOX_TOPIC) return bus.consume(topic, options, handler);
      const deadLetter = options.deadLetter && {
        ...options.deadLetter,
        onDeadLetter: (letter: BusEvent<DeadLetter>) => {
          inbox.inc({ outcome: 'dead_lettered' });
          return options.deadLetter?.onDeadLetter?.(letter);
        },
      };
      return bus.consume(topic, { ...options, ...(deadLetter ? { deadLetter } : {}) }, async (event) => {
        try {
          await handler(event);
        } catch (error) {
          inbox.inc({ outcome: 'failed' });
          throw error;
        }
        inbox.inc({ outcome: 'handled' });
      });
    },
    ping: () => bus.ping(),
    close: () => bus.close(),
  });

  const countWebhookDeliveries: RequestHandler = (req, res, next) => {
    const vendor = req.path.split('/')[1] ?? '';
    if (req.method === 'POST' && isWebhookVendor(vendor)) {
      res.once('finish', () => {
        deliveries.inc({ vendor, outcome: res.statusCode >= 200 && res.statusCode < 300 ? 'accepted' : 'refused', status: String(res.statusCode) });
      });
    }
    next();
  };

  const countSweep = (run: SweepRun): void => {
    sweepRuns.inc({ outcome: run.outcome });
    if (run.outcome !== 'completed') return;
    sweepScanned.inc(run.report.scanned);
    sweepRepaired.inc(run.report.repaired);
  };

  return { registry, meter, countWebhookDeliveries, countSweep };
}
