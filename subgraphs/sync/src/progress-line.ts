/**
 * A one-line progress display for the backfill: redrawn in place on a TTY, one line per update
 * otherwise (logs, CI). Hand-written because no progress-bar library is a dependency of the
 * project (`cli-progress` is not installed; `progress` is only in node_modules as a dev tool's
 * dependency), and a single line of text is all a backfill needs.
 */
import type { BackfillProgress } from './backfill';

export interface ProgressLine {
  update(progress: BackfillProgress): void;
  /** Ends the line (a newline after the last redraw on a TTY). */
  done(): void;
}

/** The line's text; Semble does not say how many patients there are, so there is no percentage. */
export function formatProgress(progress: BackfillProgress, width = 20): string {
  // A spinner-like fill: the bar moves once per page so a stalled run is visible.
  const filled = progress.pages % (width + 1);
  const bar = '='.repeat(filled) + ' '.repeat(width - filled);
  return (
    `[${bar}] page ${progress.pages} · ${progress.patients} patients · ` +
    `created ${progress.created} · updated ${progress.updated} · conflicts ${progress.conflicts} · ` +
    `held ${progress.heldForReview} · failed ${progress.failed}`
  );
}

export function createProgressLine(stream: NodeJS.WriteStream = process.stderr): ProgressLine {
  const tty = stream.isTTY === true;
  let drawn = false;
  return {
    update(progress) {
      const text = formatProgress(progress);
      if (tty) {
        const columns = stream.columns ?? 120;
        // \r + clear-to-end-of-line keeps the line single even when it gets shorter.
        stream.write(`\r${text.slice(0, Math.max(10, columns - 1))}\x1b[K`);
        drawn = true;
      } else {
        stream.write(`${text}\n`);
      }
    },
    done() {
      if (tty && drawn) stream.write('\n');
      drawn = false;
    },
  };
}
