/**
 * Starts a set of services as child processes, in dependency order, and supervises them like a
 * process manager. Each child binds its own port (the one asked for, or any free one when
 * allowed and that one is taken) and reports where it listens over the IPC channel
 * (lib/process.ts); later services get earlier services' URLs through their environment. A child
 * that dies unexpectedly is started again, with backoff, on the port it had and with the
 * environment it had, so its URL stays valid for everything wired to it; the stack is stopped
 * only by stop() (or a signal), or when one child keeps crashing. Every start, readiness, death
 * and restart is one line of `log`. Knows nothing about what the services are.
 */
import { fork } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { PORT_FALLBACK } from '../process';
import type { FailedMessage, ReadyMessage } from '../process';

export interface ServiceSpec {
  name: string;
  /** Compiled entrypoint to run with node. */
  script: string;
  /** The port the service binds (its PORT; the launcher sets it). 0: any free port. @default 0 */
  port?: number;
  /**
   * When `port` is taken, the service binds any free port instead of failing (PORT_FALLBACK=0)
   * and reports it. Restarts never fall back: a service keeps the port it first got.
   * @default false
   */
  anyPortIfTaken?: boolean;
  /**
   * Environment for the child, given the URLs of the services ready so far. It is evaluated
   * again once each later group is ready: a service whose environment changed then (e.g. it
   * names a service of a later group, and assumed that service's documented URL) is started
   * again on its port with the new one.
   */
  env(urls: Readonly<Record<string, string>>): Record<string, string | undefined>;
}

export type LauncherPhase = 'starting' | 'running' | 'stopping' | 'stopped';

export interface RunningStack {
  /** Each service's URL as it reported it; a restarted service keeps it. */
  urls: Readonly<Record<string, string>>;
  /** Each service's current process id (a restart changes it). */
  pids: Readonly<Record<string, number>>;
  phase(): LauncherPhase;
  /** Kill one service on purpose (SIGKILL by default); it stays down, and the rest keep running, until restart(). */
  kill(name: string, signal?: NodeJS.Signals): Promise<void>;
  /** Start a killed service again on the port it had, with the environment it had. */
  restart(name: string): Promise<void>;
  /** Resolves once every child has exited. */
  stop(): Promise<void>;
  /** Resolves when the stack stops, for whatever reason, with the reason ('stopped' for stop()). */
  stopped: Promise<string>;
}

export interface RestartPolicy {
  /** Wait before restarting a child after its first crash; each further crash doubles it. @default 500 */
  initialDelayMs: number;
  /** The longest wait before a restart. @default 10000 */
  maxDelayMs: number;
  /**
   * Give up (stop the stack) when a child has crashed this many times, each crash within
   * `crashWindowMs` of the one before; a child that stayed up longer starts counting afresh.
   * @default 5
   */
  maxCrashes: number;
  /** @default 60000 */
  crashWindowMs: number;
}

export interface LauncherOptions {
  /** Give up on a child that has not reported ready after this long (at start-up: the stack fails; later: a crash). @default 30000 */
  readyTimeoutMs?: number;
  /** Where a child's lifecycle is reported, one line per event. @default console.error */
  log?: (line: string) => void;
  restart?: Partial<RestartPolicy>;
}

export const DEFAULT_RESTART_POLICY: Readonly<RestartPolicy> = { initialDelayMs: 500, maxDelayMs: 10_000, maxCrashes: 5, crashWindowMs: 60_000 };

/** A child's lifecycle, as the launcher sees it. */
type ServiceState =
  | { phase: 'starting'; child: ChildProcess }
  | { phase: 'running'; child: ChildProcess }
  /** Crashed; restarted when the timer fires. */
  | { phase: 'backing-off'; timer: NodeJS.Timeout }
  /** Down on purpose (kill(), or on its way to a restart with a new environment) until restarted. */
  | { phase: 'down'; child?: ChildProcess }
  | { phase: 'stopped'; child?: ChildProcess };

interface Supervised {
  spec: ServiceSpec;
  /** What spec.env returned when it was last started, to notice a change. */
  settings: Record<string, string | undefined>;
  /** The whole environment it was last started with. */
  env: NodeJS.ProcessEnv;
  state: ServiceState;
  /** When it crashed lately, each within the crash window of the one before. */
  crashes: number[];
}

/** Why a child did not become ready. */
class StartFailure extends Error {
  constructor(
    readonly service: string,
    readonly reason: string,
    readonly portInUse?: number,
  ) {
    super(`${service}: ${reason}`);
    this.name = 'StartFailure';
  }
}

const describeExit = (code: number | null, signal: NodeJS.Signals | null) => (signal ? `signal ${signal}` : `code ${code}`);
const duration = (ms: number) => (ms < 1000 ? `${ms} ms` : `${Number((ms / 1000).toFixed(1))} s`);
/** The port of a URL, also when it is the scheme's default (which URL leaves out). */
function portOf(url: string): string {
  const { port, protocol } = new URL(url);
  return port || (protocol === 'https:' ? '443' : '80');
}
const isAlive = (child: ChildProcess | undefined): child is ChildProcess => child !== undefined && child.exitCode === null && child.signalCode === null;
const isReady = (message: unknown): message is ReadyMessage => (message as ReadyMessage | null)?.type === 'ready';
const isFailed = (message: unknown): message is FailedMessage => (message as FailedMessage | null)?.type === 'failed';

function restartPolicy(given: Partial<RestartPolicy> = {}): RestartPolicy {
  const policy = { ...DEFAULT_RESTART_POLICY, ...given };
  for (const [key, value] of Object.entries(policy)) {
    if (!Number.isInteger(value) || value < 1) throw new TypeError(`restart.${key}: expected a whole number >= 1, got ${JSON.stringify(value)}`);
  }
  return policy;
}

/** Start `groups` one after the other; the services of one group start in parallel. */
export async function launch(groups: ServiceSpec[][], options: LauncherOptions = {}): Promise<RunningStack> {
  const log = options.log ?? ((line: string) => console.error(line));
  const readyTimeoutMs = options.readyTimeoutMs ?? 30_000;
  const policy = restartPolicy(options.restart);
  const services = new Map<string, Supervised>();
  const urls: Record<string, string> = {};
  const pids: Record<string, number> = {};
  let phase: LauncherPhase = 'starting';
  let resolveStopped!: (reason: string) => void;
  const stopped = new Promise<string>((resolve) => (resolveStopped = resolve));
  let stopping: Promise<void> | undefined;

  const childOf = (state: ServiceState) => ('child' in state ? state.child : undefined);
  /** The state as it is now, after an await (TypeScript keeps what it narrowed before one). */
  const stateOf = (service: Supervised): ServiceState => service.state;
  const exited = (child: ChildProcess) => new Promise<void>((resolve) => (isAlive(child) ? child.once('exit', () => resolve()) : resolve()));

  const stop = (reason = 'stopped') => {
    stopping ??= (async () => {
      phase = 'stopping';
      await Promise.all(
        [...services.values()].map((service) => {
          if (service.state.phase === 'backing-off') clearTimeout(service.state.timer);
          const child = childOf(service.state);
          service.state = { phase: 'stopped', child };
          if (!isAlive(child)) return undefined;
          child.kill('SIGTERM');
          // A child that ignores SIGTERM is not left behind.
          setTimeout(() => child.kill('SIGKILL'), 8000).unref();
          return exited(child);
        }),
      );
      phase = 'stopped';
      resolveStopped(reason);
    })();
    return stopping;
  };

  /** The port a started service bound: what it keeps across restarts. */
  const boundPort = (name: string) => portOf(urls[name]!);

  /** Fork the service with `env`; resolves with its URL once it reports ready. */
  const run = (service: Supervised, env: NodeJS.ProcessEnv) =>
    new Promise<string>((resolve, reject) => {
      const { name } = service.spec;
      const child = fork(service.spec.script, [], { env, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
      service.state = { phase: 'starting', child };
      service.env = env;
      if (child.pid) pids[name] = child.pid;
      let ready = false;
      let failure: FailedMessage | undefined;
      const timer = setTimeout(() => {
        reject(new StartFailure(name, `did not report ready within ${readyTimeoutMs} ms`));
        child.kill('SIGKILL');
      }, readyTimeoutMs);
      child.on('error', (error) => {
        // Not spawned at all (e.g. node missing), or a signal or message that could not be sent.
        if (!ready) reject(new StartFailure(name, error.message));
        else log(`${name}: ${error.message}`);
      });
      child.on('message', (message: unknown) => {
        if (isFailed(message)) failure = message;
        if (!isReady(message) || ready) return;
        ready = true;
        clearTimeout(timer);
        if (service.state.phase === 'starting' && service.state.child === child) service.state = { phase: 'running', child };
        resolve(message.url);
      });
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        if (!ready) {
          reject(new StartFailure(name, failure?.reason ?? `exited before it was ready (${describeExit(code, signal)})`, failure?.portInUse));
          return;
        }
        if (service.state.phase === 'running' && service.state.child === child) crashed(service, `died (${describeExit(code, signal)}, pid ${child.pid})`);
        else if (service.state.phase === 'stopped' && code !== 0) log(`${name}: did not stop cleanly (${describeExit(code, signal)})`);
      });
    });

  /** A crash of a running child (or a failed restart): restart after a backoff, or give up on it. */
  const crashed = (service: Supervised, what: string) => {
    const { name } = service.spec;
    const now = Date.now();
    const last = service.crashes.at(-1);
    if (last !== undefined && now - last > policy.crashWindowMs) service.crashes = [];
    service.crashes.push(now);
    if (service.crashes.length >= policy.maxCrashes) {
      log(`${name}: ${what}; it crashed ${service.crashes.length} times, each within ${duration(policy.crashWindowMs)} of the last: giving up and stopping the stack`);
      void stop(`${name} kept crashing (last: ${what})`);
      return;
    }
    const delay = Math.min(policy.initialDelayMs * 2 ** (service.crashes.length - 1), policy.maxDelayMs);
    log(`${name}: ${what}; restarting in ${duration(delay)}`);
    service.state = { phase: 'backing-off', timer: setTimeout(() => void restartCrashed(service), delay) };
  };

  /** Same port, same environment, never another port: everything wired to its URL keeps working. */
  const sameAsBefore = (service: Supervised, env = service.env): NodeJS.ProcessEnv => ({ ...env, PORT: boundPort(service.spec.name), [PORT_FALLBACK]: undefined });

  const restartCrashed = async (service: Supervised) => {
    if (service.state.phase !== 'backing-off') return;
    const attempt = run(service, sameAsBefore(service));
    const child = childOf(service.state);
    try {
      log(`${service.spec.name}: restarted at ${await attempt} (pid ${pids[service.spec.name]})`);
    } catch (error) {
      // Killed, stopped or started afresh meanwhile: nothing to do. Otherwise it counts as another crash.
      const now = stateOf(service);
      if (now.phase !== 'starting' || now.child !== child) return;
      const failure = error as StartFailure;
      crashed(service, failure.portInUse !== undefined ? `could not restart: its port ${failure.portInUse} is taken by another process` : `could not restart: ${failure.reason}`);
    }
  };

  /** Take a service down on purpose: its exit is not a crash. */
  const takeDown = async (service: Supervised, signal: NodeJS.Signals) => {
    if (service.state.phase === 'backing-off') clearTimeout(service.state.timer);
    const child = childOf(service.state);
    service.state = { phase: 'down', child };
    if (!isAlive(child)) return;
    const gone = exited(child);
    child.kill(signal);
    await gone;
  };

  const start = async (spec: ServiceSpec) => {
    const settings = spec.env(urls);
    const service: Supervised = { spec, settings, env: {}, state: { phase: 'down' }, crashes: [] };
    services.set(spec.name, service);
    const wanted = spec.port ?? 0;
    const url = await runLogged(service, {
      ...process.env,
      ...settings,
      PORT: String(wanted),
      [PORT_FALLBACK]: spec.anyPortIfTaken && wanted !== 0 ? '0' : undefined,
    });
    urls[spec.name] = url;
    const got = Number(portOf(url));
    log(`${spec.name}: ready at ${url} (pid ${pids[spec.name]}${wanted !== 0 && got !== wanted ? `; port ${wanted} is taken, so it listens on ${got}` : ''})`);
  };

  const runLogged = (service: Supervised, env: NodeJS.ProcessEnv) => {
    const running = run(service, env);
    log(`${service.spec.name}: starting (pid ${pids[service.spec.name]})`);
    return running;
  };

  /** Start again, on its port, every service whose environment changed now that more URLs are known. */
  const refreshSettings = async () => {
    for (const service of services.values()) {
      const settings = service.spec.env(urls);
      const changed = [...new Set([...Object.keys(settings), ...Object.keys(service.settings)])].filter((key) => settings[key] !== service.settings[key]);
      if (changed.length === 0) continue;
      log(`${service.spec.name}: restarting on its port with settings that changed (${changed.join(', ')})`);
      await takeDown(service, 'SIGTERM');
      service.settings = settings;
      await runLogged(service, sameAsBefore(service, { ...service.env, ...settings }));
      log(`${service.spec.name}: ready at ${urls[service.spec.name]} (pid ${pids[service.spec.name]})`);
    }
  };

  try {
    for (const group of groups) {
      await Promise.all(group.map(start));
      await refreshSettings();
    }
  } catch (error) {
    await stop('start-up failed');
    throw error;
  }
  // Unless a service already gave up (and stopped the stack) while the later ones started.
  if (phase === 'starting') phase = 'running';

  const serviceNamed = (name: string) => {
    const service = services.get(name);
    if (!service) throw new Error(`no service named ${name}`);
    return service;
  };

  const kill = async (name: string, signal: NodeJS.Signals = 'SIGKILL') => {
    const service = serviceNamed(name);
    if (service.state.phase === 'stopped') return;
    await takeDown(service, signal);
  };

  const restart = async (name: string) => {
    const service = serviceNamed(name);
    if (service.state.phase !== 'down') throw new Error(`${name} was not killed through kill(); nothing to restart`);
    await runLogged(service, sameAsBefore(service));
    log(`${name}: restarted at ${urls[name]} (pid ${pids[name]})`);
  };

  return { urls, pids, phase: () => phase, kill, restart, stop: () => stop(), stopped };
}
