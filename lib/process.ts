/**
 * Entrypoint plumbing shared by every service's main.ts: tell a parent launcher where we
 * listen (over the IPC channel when there is one), and stop cleanly on SIGINT/SIGTERM.
 */
import { ConfigError } from './config';

export interface ReadyMessage {
  type: 'ready';
  name: string;
  url: string;
}

export function reportReady(name: string, url: string): void {
  const message: ReadyMessage = { type: 'ready', name, url };
  if (process.send) process.send(message);
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

/** Run an async main; a configuration error is printed without a stack trace. */
export function runMain(main: () => Promise<void>): void {
  main().catch((error: unknown) => {
    if (error instanceof ConfigError) {
      console.error(error.message);
      process.exit(78); // EX_CONFIG
    }
    console.error(error);
    process.exit(1);
  });
}
