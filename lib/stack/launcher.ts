/**
 * Starts a set of services as child processes, in dependency order, and owns their lifecycle:
 * each child reports where it listens over the IPC channel (lib/process.ts reportReady), later
 * services get earlier services' URLs through their environment, and stop() (or a signal, or
 * one child dying) stops every child that was started. Knows nothing about what the services are.
 */
import { fork } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import type { ReadyMessage } from '../process';

export interface ServiceSpec {
  name: string;
  /** Compiled entrypoint to run with node. */
  script: string;
  /** Environment for the child, given the URLs of the services started before it. */
  env(urls: Readonly<Record<string, string>>): Record<string, string | undefined>;
}

export type LauncherPhase = 'starting' | 'running' | 'stopping' | 'stopped';

export interface RunningStack {
  urls: Readonly<Record<string, string>>;
  pids: Readonly<Record<string, number>>;
  phase(): LauncherPhase;
  /** Kill one service on purpose (SIGKILL by default); the rest keep running. */
  kill(name: string, signal?: NodeJS.Signals): Promise<void>;
  /** Start a killed service again on the port it had, with the environment it had. */
  restart(name: string): Promise<void>;
  /** Resolves once every child has exited. */
  stop(): Promise<void>;
  /** Resolves when the stack stops, for whatever reason, with the reason. */
  stopped: Promise<string>;
}

export interface LauncherOptions {
  /** Give up on a child that has not reported ready after this long. @default 30000 */
  readyTimeoutMs?: number;
  /** Where a child's lifecycle is reported. @default console.error */
  log?: (line: string) => void;
}

/** Start `groups` one after the other; the services of one group start in parallel. */
export async function launch(groups: ServiceSpec[][], options: LauncherOptions = {}): Promise<RunningStack> {
  const log = options.log ?? ((line: string) => console.error(line));
  const readyTimeoutMs = options.readyTimeoutMs ?? 30_000;
  const children = new Map<string, ChildProcess>();
  const specs = new Map<string, ServiceSpec>();
  /** Services killed through kill(): their exit is not a reason to stop the stack. */
  const killedOnPurpose = new Set<string>();
  const urls: Record<string, string> = {};
  const pids: Record<string, number> = {};
  let phase: LauncherPhase = 'starting';
  let resolveStopped!: (reason: string) => void;
  const stopped = new Promise<string>((resolve) => (resolveStopped = resolve));
  let stopping: Promise<void> | undefined;

  const stop = (reason = 'stopped') => {
    stopping ??= (async () => {
      phase = 'stopping';
      await Promise.all(
        [...children.values()].map(
          (child) =>
            new Promise<void>((resolve) => {
              if (child.exitCode !== null || child.signalCode !== null) return resolve();
              child.once('exit', () => resolve());
              child.kill('SIGTERM');
              // A child that ignores SIGTERM is not left behind.
              setTimeout(() => child.kill('SIGKILL'), 8000).unref();
            }),
        ),
      );
      phase = 'stopped';
      resolveStopped(reason);
    })();
    return stopping;
  };

  const startOne = (spec: ServiceSpec, extraEnv: Record<string, string> = {}) =>
    new Promise<void>((resolve, reject) => {
      specs.set(spec.name, spec);
      const child = fork(spec.script, [], {
        env: { ...process.env, ...spec.env(urls), ...extraEnv } as NodeJS.ProcessEnv,
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      });
      children.set(spec.name, child);
      if (child.pid) pids[spec.name] = child.pid;
      const timer = setTimeout(() => reject(new Error(`${spec.name} did not report ready within ${readyTimeoutMs} ms`)), readyTimeoutMs);
      child.on('message', (message: ReadyMessage) => {
        if (message?.type !== 'ready') return;
        clearTimeout(timer);
        urls[spec.name] = message.url;
        resolve();
      });
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        if (phase === 'stopping' && code !== 0) log(`${spec.name} did not stop cleanly (code ${code}, signal ${signal})`);
        if (killedOnPurpose.has(spec.name)) return;
        if (phase === 'starting') reject(new Error(`${spec.name} exited before it was ready (code ${code}, signal ${signal})`));
        else if (phase === 'running') {
          log(`${spec.name} exited unexpectedly (code ${code}, signal ${signal}); stopping the stack`);
          void stop(`${spec.name} exited`);
        }
      });
    });

  try {
    for (const group of groups) await Promise.all(group.map((spec) => startOne(spec)));
  } catch (error) {
    await stop('start-up failed');
    throw error;
  }
  phase = 'running';

  const kill = (name: string, signal: NodeJS.Signals = 'SIGKILL') =>
    new Promise<void>((resolve, reject) => {
      const child = children.get(name);
      if (!child) return reject(new Error(`no service named ${name}`));
      killedOnPurpose.add(name);
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
      child.once('exit', () => resolve());
      child.kill(signal);
    });

  const restart = async (name: string) => {
    const spec = specs.get(name);
    if (!spec || !killedOnPurpose.has(name)) throw new Error(`${name} was not killed through kill(); nothing to restart`);
    const port = new URL(urls[name]!).port;
    killedOnPurpose.delete(name);
    await startOne(spec, { PORT: port });
  };

  return { urls, pids, phase: () => phase, kill, restart, stop: () => stop(), stopped };
}
