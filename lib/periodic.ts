/**
 * A job run every `intervalMs`, one run at a time: the timer's runs and the ones asked for with
 * runOnce() queue behind each other, and the next timer starts only when a run has ended (a slow
 * run is never overlapped). stop() cancels the timer and waits for the run in progress.
 */
export interface SerialPeriodic<Result> {
  /** Run now (after any run in progress), whatever the timer says. */
  runOnce(): Promise<Result>;
  stop(): Promise<void>;
}

export function runSerially<Result>(run: () => Promise<Result>, intervalMs: number): SerialPeriodic<Result> {
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  let queue: Promise<unknown> = Promise.resolve();
  const enqueue = (): Promise<Result> => {
    const next = queue.then(run);
    queue = next.catch(() => undefined);
    return next;
  };
  function schedule(): void {
    if (stopped) return;
    timer = setTimeout(() => {
      void enqueue().finally(schedule);
    }, intervalMs);
    // Never what keeps a process alive.
    timer.unref?.();
  }
  schedule();
  return {
    runOnce: enqueue,
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      await queue;
    },
  };
}
