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

  const startOne = (spec: ServiceSpec) =>
    new Promise<void>((resolve, reject) => {
      const child = fork(spec.script, [], {
        env: { ...process.env, ...spec.env(urls) } as NodeJS.ProcessEnv,
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
        if (phase === 'starting') reject(new Error(`${spec.name} exited before it was ready (code ${code}, signal ${signal})`));
        else if (phase === 'running') {
          log(`${spec.name} exited unexpectedly (code ${code}, signal ${signal}); stopping the stack`);
          void stop(`${spec.name} exited`);
        }
      });
    });

  try {
    for (const group of groups) await Promise.all(group.map(startOne));
  } catch (error) {
    await stop('start-up failed');
    throw error;
  }
  phase = 'running';
  return { urls, pids, phase: () => phase, stop: () => stop(), stopped };
}
