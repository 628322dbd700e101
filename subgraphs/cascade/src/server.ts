/**
 * The cascade subgraph: CascadeStep and its changes, Patient.cascadeSteps, the dead letters and
 * their redrive; plus, in the same process unless CASCADE_WORKER=false, the intake (sync-inbox
 * and conflicts → cascade events), the sweep that stands in for a lost PATIENT_CREATED webhook
 * (sweep.ts) and the engine (outbox, scheduler, deliverer); GET /metrics (metrics.ts). The Subscription
 * root field is served by the gateway from the `cascade-steps` topic (schema/gateway.json), with
 * Query.cascadeStepChange as its lookup. No I/O at import time.
 */
import fs from 'node:fs';
import { GraphQLError, parse } from 'graphql';
import type { DocumentNode } from 'graphql';
import type { GraphQLResolverMap } from '@apollo/subgraph/dist/schema-helper';
import { createEventBus, createMemoryEventBus, createRemoteEventBus, CursorExpiredError } from '../../../lib/event-bus';
import type { EventBus } from '../../../lib/event-bus';
import { formatCursor, parseCursor } from '../../../lib/event-bus/cursor';
import { createLogger } from '../../../lib/logger';
import type { Logger } from '../../../lib/logger';
import { fromRoot } from '../../../lib/root';
import { startSubgraph } from '../../../lib/subgraph';
import type { RunningSubgraph, VerifiedCaller } from '../../../lib/subgraph';
import { createGoCardlessClient } from '../../../lib/vendors/gocardless';
import { createHubSpotClient } from '../../../lib/vendors/hubspot';
import { cascadeConnectorSecrets, CONNECTORS_EMULATOR } from '../../../lib/services';
import { createSembleClient } from '../../../lib/vendors/semble';
import { createStripeClient } from '../../../lib/vendors/stripe';
import { loadCascadeFile } from './cascade-config';
import type { CascadeFile } from './cascade-config';
import type { CascadeConfig } from './config';
import { createHubSpotConsentLookup } from './consent';
import { createConnector } from './connectors';
import type { Connector } from './connectors/types';
import { createCascadeEngine } from './engine';
import type { CascadeEngine, StepChangePayload } from './engine';
import { CASCADE_STEPS_TOPIC } from './events';
import { createCascadeMetrics } from './metrics';
import { createMetricsRouter } from './metrics-route';
import { createEventMapper, startIntake } from './sources';
import { createCascadeStore } from './store';
import type { CascadeStore, StepRecord } from './store';
import { startCascadeSweep } from './sweep';
import type { CascadeSweep } from './sweep';

export const name = 'cascade';

/** Largest `first` of Query.cascadeDeadLetters. */
export const MAX_DEAD_LETTERS_PAGE = 500;

interface CascadeServices {
  store: CascadeStore;
  /** Where step changes are published (the shared bus). */
  changes: EventBus;
  engine: CascadeEngine;
}

export type CascadeContext = CascadeServices & VerifiedCaller;

export function loadTypeDefs(): DocumentNode {
  return parse(fs.readFileSync(fromRoot('subgraphs/cascade/schema.graphql'), 'utf8'));
}

function badInput(message: string, argumentName: string): GraphQLError {
  return new GraphQLError(message, { extensions: { code: 'BAD_USER_INPUT', argumentName } });
}

interface StepChangeModel {
  id: string;
  cursor: string;
  state: StepRecord['state'];
  attempts: number;
  errorCode: string | null;
  time: string;
  stepId: string;
}

const U64_MAX = (1n << 64n) - 1n;

/** The `cascade-steps` event whose cursor is `id`, or null (never published, or trimmed). */
async function findStepChange(bus: EventBus, id: string): Promise<StepChangeModel | null> {
  let position;
  try {
    position = parseCursor(id);
  } catch {
    throw badInput('id: expected a cascade step change id ("<ms>-<seq>")', 'id');
  }
  const before =
    position.seq > 0n ? formatCursor({ ms: position.ms, seq: position.seq - 1n }) : position.ms > 0n ? formatCursor({ ms: position.ms - 1n, seq: U64_MAX }) : undefined;
  try {
    const [event] = await bus.read(CASCADE_STEPS_TOPIC, { ...(before ? { after: before } : {}), limit: 1 });
    if (!event || event.cursor !== formatCursor(position)) return null;
    const payload = event.payload as StepChangePayload;
    return { id: event.cursor, cursor: event.cursor, state: payload.state, attempts: payload.attempts, errorCode: payload.errorCode, time: payload.time, stepId: payload.id };
  } catch (error) {
    if (error instanceof CursorExpiredError) return null;
    throw error;
  }
}

export const resolvers: GraphQLResolverMap<CascadeContext> = {
  Query: {
    cascadeStep: (_: unknown, args: { id: string }, { store }: CascadeContext) => store.get(args.id),
    cascadeStepChange: (_: unknown, args: { id: string }, { changes }: CascadeContext) => findStepChange(changes, args.id),
    cascadeDeadLetters(_: unknown, args: { first?: number | null }, { store }: CascadeContext) {
      const first = args.first ?? 100;
      if (!Number.isInteger(first) || first < 1 || first > MAX_DEAD_LETTERS_PAGE) throw badInput(`first: expected 1 to ${MAX_DEAD_LETTERS_PAGE}, got ${first}`, 'first');
      return store.dead(first);
    },
  },
  Mutation: {
    async redriveCascadeSteps(_: unknown, args: { ids?: string[] | null; all?: boolean | null }, { engine }: CascadeContext) {
      const byIds = Array.isArray(args.ids);
      if (byIds === (args.all === true)) throw badInput('expected either `ids` (the dead steps to redrive) or `all: true`, not both or neither', byIds ? 'all' : 'ids');
      if (byIds && (args.ids as string[]).length > MAX_DEAD_LETTERS_PAGE) throw badInput(`ids: expected at most ${MAX_DEAD_LETTERS_PAGE}, got ${(args.ids as string[]).length}`, 'ids');
      const steps = await engine.redrive(byIds ? (args.ids as string[]) : undefined);
      return { redriven: steps.length, steps };
    },
  },
  CascadeStep: {
    __resolveReference: (reference: { id: string }, { store }: CascadeContext) => store.get(String(reference.id)),
    event: (step: StepRecord) => step.eventType,
    stage: (step: StepRecord) => (step.stage === 'short-term' ? 'SHORT_TERM' : 'IMMEDIATE'),
    lastError: (step: StepRecord) => step.lastError && { code: step.lastError.code, reason: step.lastError.reason, httpStatus: step.lastError.httpStatus ?? null },
    patient: (step: StepRecord) => (step.patientId ? { __typename: 'Patient', id: step.patientId } : null),
  },
  CascadeStepChange: {
    step: (change: StepChangeModel, _: unknown, { store }: CascadeContext) => store.get(change.stepId),
  },
  Patient: {
    __resolveReference: (reference: { id: string }) => ({ id: String(reference.id) }),
    cascadeSteps: (patient: { id: string }, _: unknown, { store }: CascadeContext) => store.ofPatient(patient.id),
  },
};

export interface CascadeServerDeps {
  /** The stack's shared bus: used as is (outbox, intake groups, step changes) and left open on stop(). */
  bus?: EventBus;
  /** Used as is and left open on stop(). */
  store?: CascadeStore;
  /** Connectors by name, instead of building them from the file (a test's). */
  connectors?: ReadonlyMap<string, Connector>;
  /** The environment the cascade file's `${NAME}` and the connectors' secret variables are read from. @default {} */
  env?: Readonly<Record<string, string | undefined>>;
  logger?: Logger;
}

export interface CascadeServer extends RunningSubgraph {
  store: CascadeStore;
  engine: CascadeEngine;
  file: CascadeFile;
  /** The reconciliation sweep (sweep.ts), when the worker runs and CASCADE_SWEEP_INTERVAL_MS > 0. */
  sweep?: CascadeSweep;
}

/**
 * Every connector of the file, built by its kind's factory; throws a ConfigError naming the entry
 * at fault. A secret variable the default file names that is unset gets the connectors emulator's
 * development value (at CONNECTORS_BASE_URL with CONNECTORS_EMULATOR_TOKEN, or their defaults), as
 * the other services default their vendor tokens to the emulators'.
 */
export function buildConnectors(file: CascadeFile, env: Readonly<Record<string, string | undefined>>): Map<string, Connector> {
  const set = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== undefined && value !== ''));
  const development = cascadeConnectorSecrets(
    set[CONNECTORS_EMULATOR.baseUrlEnv] ?? `http://127.0.0.1:${CONNECTORS_EMULATOR.defaultPort}`,
    set[CONNECTORS_EMULATOR.tokenEnv] ?? CONNECTORS_EMULATOR.devToken,
  );
  const secrets = { ...development, ...set };
  return new Map(Object.entries(file.connectors).map(([connectorName, settings]) => [connectorName, createConnector(connectorName, settings, secrets)]));
}

export async function createServer(config: CascadeConfig, deps: CascadeServerDeps = {}): Promise<CascadeServer> {
  const logger = deps.logger ?? createLogger(name);
  const env = deps.env ?? {};
  const file = loadCascadeFile(config.configFile, env);
  const metrics = createCascadeMetrics(file);
  const connectors = metrics.meterConnectors(deps.connectors ?? buildConnectors(file, env));

  const cleanUps: Array<() => Promise<void>> = [];
  const cleanUp = async () => {
    for (const step of cleanUps.splice(0).reverse()) await step().catch(() => undefined);
  };
  try {
    // The shared bus: the stack's, Redis, or the sync service's over HTTP (which offers no consumer
    // groups: the intake then follows it from a checkpoint and the outbox stays in this process).
    let shared: EventBus;
    let outbox: EventBus;
    let intakeMode: 'group' | 'follow' = 'group';
    if (deps.bus) {
      shared = outbox = deps.bus;
    } else if (config.redisUrl) {
      shared = outbox = await createEventBus({ redisUrl: config.redisUrl, keyPrefix: config.busKeyPrefix });
      cleanUps.push(() => shared.close());
    } else if (config.busUrl && config.busToken) {
      shared = createRemoteEventBus({ url: config.busUrl, token: config.busToken });
      outbox = createMemoryEventBus();
      intakeMode = 'follow';
      cleanUps.push(() => shared.close(), () => outbox.close());
    } else {
      logger.warn('no REDIS_URL and no BUS_URL: the cascade hears from no other process');
      shared = outbox = createMemoryEventBus();
      cleanUps.push(() => shared.close());
    }
    const store = deps.store ?? createCascadeStore({ redisUrl: config.redisUrl, keyPrefix: config.cascadeKeyPrefix });
    if (!deps.store) cleanUps.push(() => store.close());

    const timeoutMs = config.vendorTimeoutMs;
    const hubspot = createHubSpotClient({ baseUrl: config.hubspotBaseUrl, token: config.hubspotToken, timeoutMs });
    const engine = createCascadeEngine({
      bus: outbox,
      changes: metrics.meterChanges(shared),
      store,
      file,
      connectors,
      consent: createHubSpotConsentLookup(hubspot),
      logger,
      consumer: config.workerName,
      pollIntervalMs: config.pollIntervalMs,
      claimAfterMs: config.claimAfterMs,
    });
    metrics.watch({ store, engine });

    const subgraph = await startSubgraph<CascadeServices>({
      name,
      typeDefs: loadTypeDefs(),
      resolvers,
      context: () => ({ store, changes: shared, engine }),
      internalTokenSecret: config.internalTokenSecret,
      port: config.port,
      host: config.host,
      routes: (app) => {
        app.use(createMetricsRouter(metrics.registry, config.adminToken));
      },
    });
    cleanUps.push(() => subgraph.stop());

    let sweep: CascadeSweep | undefined;
    if (config.worker) {
      await engine.start();
      cleanUps.push(() => engine.stop());
      const semble = createSembleClient({ baseUrl: config.sembleBaseUrl, token: config.sembleToken, timeoutMs });
      const mapper = createEventMapper({
        semble,
        stripe: createStripeClient({ baseUrl: config.stripeBaseUrl, token: config.stripeSecretKey, timeoutMs }),
        goCardless: createGoCardlessClient({ baseUrl: config.goCardlessBaseUrl, token: config.goCardlessAccessToken, timeoutMs }),
      });
      const stopIntake = await startIntake({ bus: shared, mapper, accept: engine.accept, logger, consumer: config.workerName, mode: intakeMode, store, claimAfterMs: config.claimAfterMs });
      cleanUps.push(stopIntake);
      if (config.sweepIntervalMs > 0) {
        const running = await startCascadeSweep({
          semble,
          store,
          accept: engine.accept,
          logger,
          owner: config.workerName,
          intervalMs: config.sweepIntervalMs,
          overlapMs: config.sweepOverlapMs,
          onRun: metrics.countSweep,
        });
        cleanUps.push(() => running.stop());
        sweep = running;
      }
    }
    return { ...subgraph, store, engine, file, ...(sweep ? { sweep } : {}), stop: cleanUp };
  } catch (error) {
    await cleanUp();
    throw error;
  }
}
