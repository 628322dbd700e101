/**
 * The entrypoint every subgraph's main module shares: it exports `entrypoint`, which starts the
 * subgraph from an environment (its configuration loader validates it), and serves it with
 * runSubgraph only when it runs as a program. A stack in one process (test/stack.ts) starts the
 * same entrypoint with an environment of its own and the resources it shares.
 */
import type { EventBus } from './event-bus/types';
import { createLogger } from './logger';
import { reportReady, runMain, startWithPortFallback, stopOnSignals } from './process';
import type { RunningSubgraph } from './subgraph';
import { loadTracingConfig } from './tracing/config';
import { startTracing } from './tracing/setup';

/** What a stack running several services in one process hands them instead of each making its own. */
export interface SubgraphDeps {
  /** The stack's event bus (the sync service publishes on it; the gateway and vendor caches follow it). */
  bus?: EventBus;
}

export interface SubgraphEntrypoint<Server extends RunningSubgraph = RunningSubgraph> {
  /** The subgraph's name, reported to the launcher. */
  name: string;
  /** Read the configuration from `env` (a bad value throws a ConfigError naming the variable) and serve. */
  start(env: NodeJS.ProcessEnv, deps?: SubgraphDeps): Promise<Server>;
}

/**
 * Serve `entry` configured from process.env (on PORT_FALLBACK when PORT is taken and it is set),
 * report ready to a launcher, stop on signals. Tracing (OTEL_*) starts first, named after the
 * subgraph, and is flushed after the server stops.
 */
export function runSubgraph(entry: SubgraphEntrypoint): void {
  runMain(async () => {
    const tracing = startTracing(loadTracingConfig(process.env, entry.name), { logger: createLogger(entry.name) });
    const server = await startWithPortFallback(process.env, (env) => entry.start(env));
    reportReady(entry.name, server.graphqlUrl);
    stopOnSignals(async () => {
      try {
        await server.stop();
      } finally {
        await tracing.shutdown();
      }
    });
  });
}
