/**
 * The cascade service's Prometheus metrics (prom-client), in a registry of its own so several
 * services can live in one process (tests), as the sync's (subgraphs/sync/src/metrics.ts). They
 * are taken at the edges, so the engine knows nothing of them:
 *
 *   cascade_steps_total{connector,step,state}          every step state change, as the engine
 *                                                      publishes it on `cascade-steps`
 *   cascade_delivery_attempts_total{connector,outcome} every call of a connector: sent, retry,
 *                                                      failed (not worth retrying), error (threw)
 *   cascade_steps_scheduled / cascade_steps_due         the store's due-time queue: waiting (short-term
 *                                                      steps, retries, in flight) and due now (a backlog)
 *   cascade_dead_letters                               DEAD steps waiting for a redrive
 *   cascade_breaker_state{connector,state}             1 for the breaker's state in this process
 *   cascade_sweep_runs_total{outcome}, cascade_sweep_patients_found_total
 *
 * Labels carry connector, step and state names from the configuration and fixed outcome words,
 * never a patient id or a field value. Counters count what this process did: sum them over
 * replicas. The queue gauges read the shared store, so every replica reports the same value: take
 * their max. A breaker is per process.
 */
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import type { EventBus } from '../../../lib/event-bus';
import type { CascadeFile } from './cascade-config';
import type { Connector } from './connectors/types';
import type { CascadeEngine, StepChangePayload } from './engine';
import { CASCADE_STEPS_TOPIC } from './events';
import type { StepState } from './store';
import type { CascadeStore } from './store';
import type { CascadeSweepRun } from './sweep';

const STATES: readonly StepState[] = ['PENDING', 'SENT', 'FAILED', 'DEAD', 'SKIPPED'];
const ATTEMPT_OUTCOMES = ['sent', 'retry', 'failed', 'error'] as const;
const BREAKER_STATES = ['closed', 'open', 'half-open'] as const;

export interface CascadeMetrics {
  registry: Registry;
  /** `bus` with each step change published through it counted; give it to the engine as `changes`. */
  meterChanges(bus: EventBus): EventBus;
  /** The connectors, each call of `send` counted by outcome. */
  meterConnectors(connectors: ReadonlyMap<string, Connector>): Map<string, Connector>;
  /** Counts one sweep run (the sweep's `onRun`). */
  countSweep(run: CascadeSweepRun): void;
  /** Reads the queue gauges from `store` and the breakers from `engine` at each scrape. */
  watch(sources: { store: CascadeStore; engine: Pick<CascadeEngine, 'breakerState'> }): void;
}

export function createCascadeMetrics(file: CascadeFile): CascadeMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'cascade_' });
  const connectorNames = Object.keys(file.connectors);

  const steps = new Counter({
    name: 'cascade_steps_total',
    help: 'Step state changes, by connector, step and the state entered (PENDING when created; SENT, FAILED, DEAD, SKIPPED; PENDING again on a redrive)',
    labelNames: ['connector', 'step', 'state'],
    registers: [registry],
  });
  const attempts = new Counter({
    name: 'cascade_delivery_attempts_total',
    help: 'Delivery attempts, by connector and outcome: sent, retry (429, 5xx, timeout, unreachable), failed (refused for good), error (the connector threw)',
    labelNames: ['connector', 'outcome'],
    registers: [registry],
  });
  const sweepRuns = new Counter({
    name: 'cascade_sweep_runs_total',
    help: 'Reconciliation sweep runs, by outcome: completed, skipped (another replica was sweeping), failed (the listing or the store failed)',
    labelNames: ['outcome'],
    registers: [registry],
  });
  const sweepFound = new Counter({
    name: 'cascade_sweep_patients_found_total',
    help: 'Patients the sweep found created since its checkpoint and handed to the engine (those whose webhook arrived too get nothing twice)',
    registers: [registry],
  });

  let watched: { store: CascadeStore; engine: Pick<CascadeEngine, 'breakerState'> } | undefined;
  const queueGauge = (name: string, help: string, key: 'scheduled' | 'due' | 'dead') =>
    new Gauge({
      name,
      help,
      registers: [registry],
      async collect() {
        if (!watched) return;
        try {
          this.set((await watched.store.queueCounts(Date.now()))[key]);
        } catch {
          // Last value kept: a scrape must not fail because the store is away.
        }
      },
    });
  queueGauge('cascade_steps_scheduled', "Steps in the due-time queue: short-term steps not yet due, retries waiting their backoff, steps handed to a deliverer", 'scheduled');
  queueGauge('cascade_steps_due', 'Steps due now and not yet handed to a deliverer (a backlog when it stays above 0)', 'due');
  queueGauge('cascade_dead_letters', 'DEAD steps waiting for a redrive (Query.cascadeDeadLetters)', 'dead');
  new Gauge({
    name: 'cascade_breaker_state',
    help: "Each connector's circuit breaker in this process: 1 for its current state (closed, open, half-open), 0 for the others",
    labelNames: ['connector', 'state'],
    registers: [registry],
    collect() {
      if (!watched) return;
      for (const connector of connectorNames) {
        const current = watched.engine.breakerState(connector);
        for (const state of BREAKER_STATES) this.set({ connector, state }, current === state ? 1 : 0);
      }
    },
  });

  // Present from the start, so a dashboard tells "none yet" from "not measured".
  for (const step of file.steps) for (const state of STATES) steps.inc({ connector: step.connector, step: step.name, state }, 0);
  for (const connector of connectorNames) for (const outcome of ATTEMPT_OUTCOMES) attempts.inc({ connector, outcome }, 0);
  for (const outcome of ['completed', 'skipped', 'failed']) sweepRuns.inc({ outcome }, 0);

  const meterChanges = (bus: EventBus): EventBus => ({
    publish(input) {
      if (input.topic === CASCADE_STEPS_TOPIC) {
        // Counted whether or not the notification gets out: the change is in the store.
        const change = input.payload as Partial<StepChangePayload> | null;
        if (change?.connector && change.step && change.state) steps.inc({ connector: change.connector, step: change.step, state: change.state });
      }
      return bus.publish(input);
    },
    read: (topic, options) => bus.read(topic, options),
    subscribe: (topic, options, onEvent, onError) => bus.subscribe(topic, options, onEvent, onError),
    consume: (topic, options, handler) => bus.consume(topic, options, handler),
    ping: () => bus.ping(),
    close: () => bus.close(),
  });

  const meterConnectors = (connectors: ReadonlyMap<string, Connector>): Map<string, Connector> =>
    new Map(
      [...connectors].map(([name, connector]) => [
        name,
        {
          name: connector.name,
          kind: connector.kind,
          fields: connector.fields,
          async send(message, signal) {
            try {
              const outcome = await connector.send(message, signal);
              attempts.inc({ connector: name, outcome: outcome.status });
              return outcome;
            } catch (error) {
              attempts.inc({ connector: name, outcome: 'error' });
              throw error;
            }
          },
        } satisfies Connector,
      ]),
    );

  return {
    registry,
    meterChanges,
    meterConnectors,
    countSweep(run) {
      sweepRuns.inc({ outcome: run.outcome });
      if (run.outcome === 'completed') sweepFound.inc(run.report.found);
    },
    watch(sources) {
      watched = sources;
    },
  };
}
