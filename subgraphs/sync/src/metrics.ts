/**
 * The sync service's Prometheus metrics (prom-client), in a registry of its own so several
 * services can live in one process (tests), as the gateway's (gateway/src/metrics.ts): inbox
 * events handled, failed and set aside, the sync events published, webhook deliveries accepted
 * and refused by vendor, the review queues, reconciliation sweep runs and the patients they
 * scanned and repaired, and the process's own metrics. They are taken at the edges (the bus the
 * service uses, the webhook routes' answers, the store at scrape time), so the sync engine knows
 * nothing of them.
 *
 * The sync counters are derived from the sync events as this process publishes them, by type,
 * outcome and target, not from the code paths that cause them: a new event type is counted
 * (sync_events_total) without a change here. Counting at publication rather than by reading the
 * topic back means each event is counted once, by the process that published it, however many
 * replicas share a Redis bus: sum the counters over instances. The queue gauges read the shared
 * store, so every replica reports the same value: take their max, not their sum.
 */
import type { RequestHandler } from 'express';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { BusEvent, DeadLetter, EventBus } from '../../../lib/event-bus';
import { INBOX_TOPIC, SYNC_EVENTS_TOPIC } from './inbox';
import type { InboxPayload, SyncEventPayload } from './inbox';
import type { SyncStore } from './store';
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
  /**
   * Reports the store's review queues and open conflicts at each scrape. A store that does not
   * answer leaves the gauges at their last values (/readyz reports the store as unreachable).
   */
  gaugeStore(store: SyncStore): void;
}

/** Outcomes of a sync event that wrote to its target. */
const WRITTEN: ReadonlySet<string> = new Set(['APPLIED', 'FLAGGED']);
/** Sync event types that refuse a change (REJECTED_NOT_OWNER, …), whatever comes next. */
const isRejection = (type: string) => type.startsWith('REJECTED_');
/** From a webhook's round trip to a backfill of an old record: seconds to a day. */
const LAG_BUCKETS = [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600, 86_400];

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
  const processed = new Counter({
    name: 'sync_events_processed_total',
    help: 'Inbox events (vendor notifications, Semble polls) the worker handled to the end, by the vendor they came from',
    labelNames: ['vendor'],
    registers: [registry],
  });
  const syncEvents = new Counter({
    name: 'sync_events_total',
    help: 'Sync events published, by type and outcome (every type, including ones added later)',
    labelNames: ['type', 'outcome'],
    registers: [registry],
  });
  const writes = new Counter({
    name: 'sync_writes_applied_total',
    help: 'Sync events that wrote to their target system (outcome APPLIED or FLAGGED), by target',
    labelNames: ['target'],
    registers: [registry],
  });
  const rejected = new Counter({ name: 'sync_changes_rejected_total', help: 'Changes the sync engine refused (sync events of a REJECTED_* type)', registers: [registry] });
  const conflictsOpened = new Counter({
    name: 'sync_conflicts_opened_total',
    help: 'CONFLICT_OPENED sync events: a conflict opened, or an open one whose values changed again',
    registers: [registry],
  });
  const conflictsClosed = new Counter({ name: 'sync_conflicts_closed_total', help: 'CONFLICT_RESOLVED sync events: resolved by a person or settled by the two systems', registers: [registry] });
  const held = new Counter({ name: 'sync_held_total', help: 'HELD_FOR_REVIEW sync events: syncs whose writes data quality below 60 stopped', registers: [registry] });
  const deadLettered = new Counter({ name: 'sync_dead_lettered_total', help: 'DEAD_LETTERED sync events: inbox events set aside after their last try', registers: [registry] });
  const lag = new Histogram({
    name: 'sync_apply_lag_seconds',
    help: "From the source system's change (its record's updatedAt) to the sync event of the write, by target",
    labelNames: ['target'],
    buckets: LAG_BUCKETS,
    registers: [registry],
  });
  let store: SyncStore | undefined;
  /** A gauge whose value is read from the store at scrape time. */
  const storeGauge = (name: string, help: string, read: (store: SyncStore) => Promise<number>) =>
    new Gauge({
      name,
      help,
      registers: [registry],
      async collect() {
        if (!store) return;
        try {
          this.set(await read(store));
        } catch {
          // Last value kept: a scrape must not fail because the store is away.
        }
      },
    });
  storeGauge('sync_patients_held', 'Patients in the held review queue (Query.heldPatients: data quality below 60)', async (s) => (await s.listReviewQueue('HELD', { first: 0 })).totalCount);
  storeGauge('sync_patients_flagged', 'Patients in the flagged review queue (Query.flaggedPatients: data quality 60-79)', async (s) => (await s.listReviewQueue('FLAGGED', { first: 0 })).totalCount);
  storeGauge('sync_conflicts_open', 'Conflicts open for review (Query.conflicts(status: OPEN))', async (s) => (await s.listConflicts({ status: 'OPEN', first: 0 })).totalCount);

  // Present from the start, so a dashboard tells "none yet" from "not measured".
  for (const outcome of ['handled', 'failed', 'dead_lettered']) inbox.inc({ outcome }, 0);
  for (const target of ['SEMBLE', 'CRM', 'CALENDAR']) writes.inc({ target }, 0);
  for (const outcome of ['completed', 'skipped', 'failed']) sweepRuns.inc({ outcome }, 0);

  /** Every counter a published sync event moves: by its type, outcome and target, never its values. */
  function countSyncEvent(payload: Partial<SyncEventPayload> | null): void {
    const type: string = payload?.type ?? 'unknown';
    const outcome: string = payload?.outcome ?? 'unknown';
    published.inc({ type });
    syncEvents.inc({ type, outcome });
    if (isRejection(type)) rejected.inc();
    switch (type) {
      case 'CONFLICT_OPENED':
        conflictsOpened.inc();
        break;
      case 'CONFLICT_RESOLVED':
        conflictsClosed.inc();
        break;
      case 'HELD_FOR_REVIEW':
        held.inc();
        break;
      case 'DEAD_LETTERED':
        deadLettered.inc();
        break;
    }
    const target = payload?.target;
    if (!target || !WRITTEN.has(outcome)) return;
    writes.inc({ target });
    const changedAt = payload.sourceChangedAt ? Date.parse(payload.sourceChangedAt) : NaN;
    const appliedAt = payload.time ? Date.parse(payload.time) : NaN;
    // Clocks of different systems: a change "after" its write is a skew, observed as no lag.
    if (Number.isFinite(changedAt) && Number.isFinite(appliedAt)) lag.observe({ target }, Math.max(0, appliedAt - changedAt) / 1000);
  }

  const meter = (bus: EventBus): EventBus => ({
    async publish(input) {
      const event = await bus.publish(input);
      if (input.topic === SYNC_EVENTS_TOPIC) countSyncEvent(input.payload as Partial<SyncEventPayload> | null);
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
        const vendor = (event.payload as Partial<InboxPayload> | null)?.items?.[0]?.vendor ?? '';
        processed.inc({ vendor: isWebhookVendor(vendor) ? vendor : 'unknown' });
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

  return {
    registry,
    meter,
    countWebhookDeliveries,
    countSweep,
    gaugeStore(watched) {
      store = watched;
    },
  };
}
