/**
 * The sync subgraph: SyncEvent and Conflict, the review mutation, and the Patient fields
 * `syncStatus` and `conflicts`; plus, in the same process when configured, the sync worker, the
 * reconciliation sweep (sweep.ts; with the worker, on by default) and the Semble poller; and its
 * operational routes (/readyz, /metrics: status-routes.ts, metrics.ts).
 * The Subscription root fields are served by the gateway from the bus, not here. No I/O at
 * import time.
 */
import fs from 'node:fs';
import { parse } from 'graphql';
import type { DocumentNode } from 'graphql';
import type { GraphQLResolverMap } from '@apollo/subgraph/dist/schema-helper';
import { createBusHost, createEventBus, CursorExpiredError } from '../../../lib/event-bus';
import type { BusEvent, EventBus } from '../../../lib/event-bus';
import { formatCursor, parseCursor } from '../../../lib/event-bus/cursor';
import { createLogger } from '../../../lib/logger';
import type { Logger } from '../../../lib/logger';
import { fromRoot } from '../../../lib/root';
import { startSubgraph } from '../../../lib/subgraph';
import type { RunningSubgraph, VerifiedCaller } from '../../../lib/subgraph';
import { createAdminRouter } from './admin';
import { createSyncClients } from './clients';
import type { SyncClients } from './clients';
import type { SyncConfig } from './config';
import { ConflictReviewError, resolveConflict } from './conflict-review';
import { redriveDeadLetters } from './dead-letters';
import { SyncErrorCode, syncError } from './errors';
import { SYNC_EVENTS_TOPIC } from './inbox';
import type { SyncEventPayload } from './inbox';
import { createPatientSync } from './patient-sync';
import { createSemblePoller } from './poller';
import type { SemblePoller } from './poller';
import type { ConflictResolution } from './rules';
import { createSyncStore, LockTimeoutError, SyncStoreError } from './store';
import type { ConflictRecord, ConflictStatus, ReviewQueue, SyncStore } from './store';
import { createMemoryWebhookDedupe, createRedisWebhookDedupe, createWebhookRouter } from './webhooks';
import type { VendorSecrets } from './webhooks';
import { startSyncWorker } from './worker';
import type { SyncWorker } from './worker';
import { listAuditRecords } from './audit-records';
import type { AuditFilter } from './audit-records';
import { createSyncMetrics } from './metrics';
import { createStatusRouter } from './status-routes';
import { createSyncSweep, readSweepReport } from './sweep';
import type { SweepReport, SyncSweep } from './sweep';
import type { WorkerPhase } from './status-routes';

export const name = 'sync';

/** Largest `first` of Query.conflicts, heldPatients and flaggedPatients. */
export const MAX_CONFLICTS_PAGE = 500;

/** What the resolvers work with; lib/subgraph.ts adds who is asking. */
interface SyncServices {
  store: SyncStore;
  bus: EventBus;
  clients: SyncClients;
  logger: Logger;
}

/**
 * A request's context. Who did something (a conflict's resolvedBy) is `identity.subject`, from
 * the gateway's signed internal token, never from a header a caller could set.
 */
export type SyncContext = SyncServices & VerifiedCaller;

export function loadTypeDefs(): DocumentNode {
  return parse(fs.readFileSync(fromRoot('subgraphs/sync/schema.graphql'), 'utf8'));
}

interface SyncEventModel {
  id: string;
  cursor: string;
  type: SyncEventPayload['type'];
  patientId: string | null;
  source: SyncEventPayload['source'];
  target: SyncEventPayload['target'];
  fields: string[];
  outcome: SyncEventPayload['outcome'];
  time: string;
  conflictId: string | null;
}

function toSyncEvent(event: BusEvent): SyncEventModel {
  const payload = event.payload as SyncEventPayload;
  return {
    id: event.cursor,
    cursor: event.cursor,
    type: payload.type,
    patientId: payload.patientId,
    source: payload.source,
    target: payload.target,
    fields: payload.fields ?? [],
    outcome: payload.outcome,
    time: payload.time ?? event.time,
    conflictId: payload.conflictId ?? null,
  };
}

const U64_MAX = (1n << 64n) - 1n;

/**
 * The sync event whose cursor is `id`: the one event after its predecessor position. Null when
 * there is none (never published, or trimmed by retention). Throws BAD_USER_INPUT for an id
 * that is not a cursor.
 */
async function findSyncEvent(bus: EventBus, id: string): Promise<SyncEventModel | null> {
  let position;
  try {
    position = parseCursor(id);
  } catch {
    throw syncError(SyncErrorCode.BadUserInput, 'id: expected a sync event id ("<ms>-<seq>")', { argumentName: 'id' });
  }
  const before =
    position.seq > 0n
      ? formatCursor({ ms: position.ms, seq: position.seq - 1n })
      : position.ms > 0n
        ? formatCursor({ ms: position.ms - 1n, seq: U64_MAX })
        : undefined;
  try {
    const [event] = await bus.read(SYNC_EVENTS_TOPIC, { ...(before ? { after: before } : {}), limit: 1 });
    return event && event.cursor === formatCursor(position) ? toSyncEvent(event) : null;
  } catch (error) {
    if (error instanceof CursorExpiredError) return null;
    throw error;
  }
}

function conflictNotFound(id: string) {
  return syncError(SyncErrorCode.NotFound, `conflict ${id} does not exist`);
}

function reviewError(error: unknown): unknown {
  if (error instanceof LockTimeoutError) {
    return syncError(SyncErrorCode.PatientBusy, 'The patient is being synced right now; retry shortly', { retryable: true });
  }
  if (!(error instanceof ConflictReviewError)) return error;
  const code = {
    NOT_FOUND: SyncErrorCode.NotFound,
    BAD_USER_INPUT: SyncErrorCode.BadUserInput,
    CONFLICT_ALREADY_RESOLVED: SyncErrorCode.ConflictAlreadyResolved,
    PATIENT_NOT_FOUND: SyncErrorCode.PatientNotFound,
  }[error.code];
  return syncError(code, error.message);
}

interface PageArgs {
  first?: number | null;
  after?: string | null;
}

/** A connection (nodes, edges, pageInfo, totalCount) of one store page, with `first` checked and a foreign cursor a BAD_USER_INPUT. */
async function connectionOf<T>(args: PageArgs, read: (page: { first: number; after?: string }) => Promise<{ edges: Array<{ cursor: string; node: T }>; hasNextPage: boolean; totalCount: number }>) {
  const first = args.first ?? 50;
  if (!Number.isInteger(first) || first < 0 || first > MAX_CONFLICTS_PAGE) {
    throw syncError(SyncErrorCode.BadUserInput, `first: expected 0 to ${MAX_CONFLICTS_PAGE}, got ${first}`, { argumentName: 'first' });
  }
  try {
    const page = await read({ first, ...(args.after ? { after: args.after } : {}) });
    const { edges } = page;
    return {
      nodes: edges.map((edge) => edge.node),
      edges,
      pageInfo: {
        hasNextPage: page.hasNextPage,
        hasPreviousPage: Boolean(args.after),
        startCursor: edges[0]?.cursor ?? null,
        endCursor: edges[edges.length - 1]?.cursor ?? null,
      },
      totalCount: page.totalCount,
    };
  } catch (error) {
    if (error instanceof SyncStoreError && error.code === 'INVALID_PAGE_CURSOR') throw syncError(SyncErrorCode.BadUserInput, error.message, { argumentName: 'after' });
    throw error;
  }
}

/** One review queue as a connection of HeldPatient / FlaggedPatient (`since` is their heldAt / flaggedAt). */
function reviewQueueConnection(store: SyncStore, queue: ReviewQueue, args: PageArgs) {
  return connectionOf(args, async (page) => {
    const listed = await store.listReviewQueue(queue, page);
    const edges = listed.edges.flatMap(({ cursor, status }) => {
      const quality = status.dataQuality;
      if (!quality) return [];
      const node = {
        patient: { __typename: 'Patient', id: status.patientId },
        score: quality.score,
        issues: quality.issues,
        since: quality.since,
        lastSyncedAt: status.lastSyncedAt,
      };
      return [{ cursor, node }];
    });
    return { ...listed, edges };
  });
}

export const resolvers: GraphQLResolverMap<SyncContext> = {
  Query: {
    conflicts(_: unknown, args: { status?: ConflictStatus | null } & PageArgs, { store }: SyncContext) {
      return connectionOf(args, async (page) => {
        const listed = await store.listConflicts({ ...page, ...(args.status ? { status: args.status } : {}) });
        return { ...listed, edges: listed.edges.map((edge) => ({ cursor: edge.cursor, node: edge.conflict })) };
      });
    },
    heldPatients(_: unknown, args: PageArgs, { store }: SyncContext) {
      return reviewQueueConnection(store, 'HELD', args);
    },
    flaggedPatients(_: unknown, args: PageArgs, { store }: SyncContext) {
      return reviewQueueConnection(store, 'FLAGGED', args);
    },
    auditRecords(_: unknown, args: AuditFilter, { bus }: SyncContext) {
      return listAuditRecords(bus, args);
    },
    async conflict(_: unknown, args: { id: string }, { store }: SyncContext) {
      const conflict = await store.getConflict(args.id);
      if (!conflict) throw conflictNotFound(args.id);
      return conflict;
    },
    syncEvent(_: unknown, args: { id: string }, { bus }: SyncContext) {
      return findSyncEvent(bus, args.id);
    },
    async syncSweep(_: unknown, _args: unknown, { store }: SyncContext) {
      const report: SweepReport | null = await readSweepReport(store);
      return report && { ...report, lastRunAt: report.finishedAt };
    },
  },
  Mutation: {
    redriveDeadLetters(_: unknown, _args: unknown, { bus, store, logger, identity }: SyncContext) {
      return redriveDeadLetters({ bus, store, logger, requestedBy: identity.subject });
    },
    async resolveConflict(_: unknown, args: { id: string; resolution: ConflictResolution; value?: string | null }, context: SyncContext) {
      try {
        return await resolveConflict(context, { id: args.id, resolution: args.resolution, value: args.value ?? null, resolvedBy: context.identity.subject });
      } catch (error) {
        throw reviewError(error);
      }
    },
  },
  SyncEvent: {
    async __resolveReference(reference: { id: string }, { bus }: SyncContext) {
      try {
        return await findSyncEvent(bus, String(reference.id));
      } catch {
        // A representation with a malformed id is simply not an entity we have.
        return null;
      }
    },
    patient(event: SyncEventModel) {
      return event.patientId ? { __typename: 'Patient', id: event.patientId } : null;
    },
    conflict(event: SyncEventModel, _: unknown, { store }: SyncContext) {
      return event.conflictId ? store.getConflict(event.conflictId) : null;
    },
  },
  Conflict: {
    __resolveReference(reference: { id: string }, { store }: SyncContext) {
      return store.getConflict(String(reference.id));
    },
    // Never published yet (a crash between storing and publishing): resuming from the start loses nothing.
    cursor: (conflict: ConflictRecord) => conflict.cursor ?? '0-0',
    patient: (conflict: ConflictRecord) => ({ __typename: 'Patient', id: conflict.patientId }),
  },
  HeldPatient: {
    heldAt: (entry: { since: string }) => entry.since,
  },
  FlaggedPatient: {
    flaggedAt: (entry: { since: string }) => entry.since,
  },
  Invoice: {
    __resolveReference(reference: { id: string }) {
      return { id: String(reference.id) };
    },
    async paymentState(invoice: { id: string }, _: unknown, { store }: SyncContext) {
      const record = await store.getInvoicePayment(invoice.id);
      return record && { ...record, currency: record.currency.toUpperCase() };
    },
  },
  Patient: {
    __resolveReference(reference: { id: string }) {
      return { id: String(reference.id) };
    },
    async syncStatus(patient: { id: string }, _: unknown, { store }: SyncContext) {
      const [status, open] = await Promise.all([store.getStatus(patient.id), store.conflictsOfPatient(patient.id, 'OPEN')]);
      return {
        state: status?.state ?? 'NEVER_SYNCED',
        lastSyncedAt: status?.lastSyncedAt ?? null,
        openConflicts: open.length,
        dataQualityIssues: status?.dataQualityIssues ?? [],
      };
    },
    conflicts(patient: { id: string }, args: { status?: ConflictStatus | null }, { store }: SyncContext) {
      return store.conflictsOfPatient(patient.id, args.status ?? undefined);
    },
  },
};

export interface SyncServerDeps {
  /** Used as is and left open on stop(); created from the config (and closed on stop) otherwise. */
  bus?: EventBus;
  /** Used as is and left open on stop(); created from the config (and closed on stop) otherwise. */
  store?: SyncStore;
  /** @default clients for the configured vendor URLs */
  clients?: SyncClients;
  logger?: Logger;
}

export interface SyncServer extends RunningSubgraph {
  bus: EventBus;
  store: SyncStore;
  /** The vendor clients the worker and resolvers use (a test can start another worker with them). */
  clients: SyncClients;
  /** Null unless SYNC_WORKER. */
  worker: SyncWorker | null;
  /** Null unless SYNC_POLL_INTERVAL_MS > 0. */
  poller: SemblePoller | null;
  /** Null unless the worker runs here with SYNC_SWEEP_ENABLED and SYNC_SWEEP_INTERVAL_MS > 0. */
  sweep: SyncSweep | null;
}

const csv = (value: string | undefined) => value?.split(',').map((part) => part.trim()).filter(Boolean);

function webhookSecrets(config: SyncConfig): VendorSecrets {
  return {
    hubspotClientSecret: csv(config.hubspotClientSecret),
    stripeWebhookSecret: csv(config.stripeWebhookSecret),
    goCardlessWebhookSecret: csv(config.goCardlessWebhookSecret),
    sembleWebhookSecret: csv(config.sembleWebhookSecret),
    googleChannelTokens:
      config.googleCalendarChannelId && config.googleCalendarChannelToken
        ? { [config.googleCalendarChannelId]: config.googleCalendarChannelToken }
        : undefined,
  };
}

export async function createServer(config: SyncConfig, deps: SyncServerDeps = {}): Promise<SyncServer> {
  const logger = deps.logger ?? createLogger(name);
  const ownBus = !deps.bus;
  const ownStore = !deps.store;
  const metrics = createSyncMetrics();
  const bus = metrics.meter(
    deps.bus ?? (await createEventBus({ redisUrl: config.redisUrl, keyPrefix: config.busKeyPrefix, maxEventsPerTopic: config.busMaxEventsPerTopic })),
  );
  const store = deps.store ?? createSyncStore({ redisUrl: config.redisUrl, keyPrefix: config.syncKeyPrefix });
  metrics.gaugeStore(store);
  const clients = deps.clients ?? createSyncClients(config);
  const dedupe = config.redisUrl
    ? createRedisWebhookDedupe({ url: config.redisUrl, keyPrefix: `${config.syncKeyPrefix}webhook-seen:` })
    : createMemoryWebhookDedupe();
  const busHost = config.busToken && !config.redisUrl ? createBusHost(bus, { token: config.busToken }) : undefined;
  const cleanUps: Array<() => Promise<void>> = [];
  cleanUps.push(() => dedupe.close());
  if (busHost) cleanUps.push(() => busHost.close());
  if (ownBus) cleanUps.push(() => bus.close());
  if (ownStore) cleanUps.push(() => store.close());
  const cleanUp = async () => {
    for (const step of cleanUps.splice(0).reverse()) await step().catch(() => undefined);
  };

  let workerPhase: WorkerPhase = config.worker ? 'starting' : 'off';
  // Made once the port is bound: HubSpot signs the URL it called, and without PUBLIC_URL that is
  // the address this service got (not necessarily PORT: see PORT_FALLBACK in lib/process.ts).
  // Nothing is served between the bind and this being set (no I/O runs in between).
  let webhookRouter: ReturnType<typeof createWebhookRouter> | undefined;

  try {
    const subgraph = await startSubgraph<SyncServices>({
      name,
      typeDefs: loadTypeDefs(),
      resolvers,
      context: () => ({ store, bus, clients, logger }),
      internalTokenSecret: config.internalTokenSecret,
      port: config.port,
      host: config.host,
      routes: (app) => {
        app.use(createStatusRouter({ bus, store, worker: () => workerPhase, registry: metrics.registry, adminToken: config.adminToken }));
        // Webhooks in: verified, de-duplicated, on the inbox before they are acknowledged.
        app.use('/webhooks', metrics.countWebhookDeliveries);
        app.use((req, res, next) => (webhookRouter ? webhookRouter(req, res, next) : next()));
        // The embedded default: other processes follow this process's in-memory bus over HTTP.
        if (busHost) app.use('/bus', busHost);
        // Operator tools (the backfill CLI) run their work here, on this service's store and bus.
        if (config.adminToken) {
          app.use(
            createAdminRouter({
              token: config.adminToken,
              semble: clients.semble,
              store,
              patientSync: createPatientSync({ clients, store, bus, logger, clockSkewMs: config.clockSkewMs }),
              logger,
            }),
          );
        }
      },
    });
    cleanUps.push(() => subgraph.stop());
    webhookRouter = createWebhookRouter({ bus, dedupe, secrets: webhookSecrets(config), publicUrl: config.publicUrl ?? subgraph.url, logger });

    const worker = config.worker
      ? await startSyncWorker({
          bus,
          store,
          clients,
          logger,
          consumer: config.workerName,
          clockSkewMs: config.clockSkewMs,
          claimAfterMs: config.workerClaimAfterMs,
          maxDeliveries: config.workerMaxDeliveries,
        })
      : null;
    if (worker) {
      workerPhase = 'running';
      cleanUps.push(() => {
        workerPhase = 'stopped';
        return worker.stop();
      });
    }
    const poller =
      config.pollIntervalMs > 0 ? createSemblePoller({ semble: clients.semble, bus, store, logger, intervalMs: config.pollIntervalMs }) : null;
    if (poller) cleanUps.push(() => poller.stop());
    // The sweep writes, as the worker does: it runs where the worker runs.
    const sweep =
      worker && config.sweepEnabled && config.sweepIntervalMs > 0
        ? createSyncSweep({
            clients,
            store,
            patientSync: createPatientSync({ clients, store, bus, logger }),
            logger,
            intervalMs: config.sweepIntervalMs,
            overlapMs: config.sweepOverlapMs,
            onRun: metrics.countSweep,
          })
        : null;
    if (sweep) cleanUps.push(() => sweep.stop());

    return { ...subgraph, bus, store, clients, worker, poller, sweep, stop: cleanUp };
  } catch (error) {
    await cleanUp();
    throw error;
  }
}
