/**
 * Entrypoint plumbing shared by every service's main.ts: bind the port asked for (or, when a
 * launcher allows it, any free one if that port is taken), tell a parent launcher where we listen
 * or why we could not start (over the IPC channel when there is one), and stop cleanly on
 * SIGINT/SIGTERM.
 */
import { ConfigError } from './config';

export interface ReadyMessage {
  type: 'ready';
  name: string;
  url: string;
}

/**
 * Why a service could not start, when the cause is known (a configuration error, a taken
 * port): the launcher shows `reason` instead of the child printing it, so a failed start is one
 * line, not one from the child and one from the launcher.
 */
export interface FailedMessage {
  type: 'failed';
  reason: string;
  /** The port the service could not bind, when that was the cause. */
  portInUse?: number;
}

/** The variable a launcher sets to let a service bind another port when PORT is taken (0: any free port). */
export const PORT_FALLBACK = 'PORT_FALLBACK';

export function reportReady(name: string, url: string): void {
  const message: ReadyMessage = { type: 'ready', name, url };
  if (process.send) process.send(message);
}

/** What to tell someone whose PORT is taken. */
export const portInUseMessage = (port: number) => `PORT ${port} is in use: set PORT=… (or PORT=0 for any free port)`;

/** The port of an EADDRINUSE error from listen(), else undefined. */
function portInUseBy(error: unknown): number | undefined {
  const failure = error as Partial<NodeJS.ErrnoException> & { port?: unknown };
  return failure?.code === 'EADDRINUSE' && typeof failure.port === 'number' ? failure.port : undefined;
}

/**
 * Start a service configured from `env`. When its PORT is taken and PORT_FALLBACK is set, start
 * it again on PORT_FALLBACK: a launcher asks for a documented port this way instead of checking
 * that it is free first, which races every other process on the machine. The service reports
 * the URL it ends up with, as always.
 */
export async function startWithPortFallback<T>(env: NodeJS.ProcessEnv, start: (env: NodeJS.ProcessEnv) => Promise<T>): Promise<T> {
  const fallback = env[PORT_FALLBACK];
  if (fallback !== undefined && fallback !== '' && !(/^\d{1,5}$/.test(fallback) && Number(fallback) <= 65535)) {
    throw new ConfigError([`${PORT_FALLBACK}: expected a port 0-65535, found ${JSON.stringify(fallback)}`]);
  }
  try {
    return await start(env);
  } catch (error) {
    const taken = portInUseBy(error);
    if (taken === undefined || !fallback || taken !== Number(env.PORT)) throw error;
    return start({ ...env, PORT: fallback });
  }
}

/** Run `stop` once on the first SIGINT/SIGTERM (or when the parent launcher goes away), then exit. */
export function stopOnSignals(stop: () => Promise<void>): void {
  let stopping = false;
  const handle = () => {
    if (stopping) return;
    stopping = true;
    const force = setTimeout(() => process.exit(1), 5000);
    force.unref();
    stop().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGINT', handle);
  process.on('SIGTERM', handle);
  // A child whose launcher died must not linger as an orphan.
  process.on('disconnect', handle);
}

/** Exit with `reason`: to the launcher when there is one (it shows it), else on stderr. */
function failWith(exitCode: number, message: FailedMessage): void {
  if (process.send && process.connected) {
    process.send(message, () => process.exit(exitCode));
    return;
  }
  console.error(message.reason);
  process.exit(exitCode);
}

/**
 * Run an async main; a configuration error and a taken port are one line without a stack
 * trace (anything else keeps its stack: it is a bug to find).
 */
export function runMain(main: () => Promise<void>): void {
  main().catch((error: unknown) => {
    if (error instanceof ConfigError) return failWith(78 /* EX_CONFIG */, { type: 'failed', reason: error.message });
    const port = portInUseBy(error);
    if (port !== undefined) return failWith(1, { type: 'failed', reason: portInUseMessage(port), portInUse: port });
    console.error(error);
    process.exit(1);
  });
}
