/**
 * The backfill CLI's client for a running sync service's admin route (admin.ts): the pages run
 * inside the service, one request per page, so the progress line moves after each, Ctrl-C stops
 * between pages, and the service's checkpoint keeps the place for the next run.
 */
import fs from 'node:fs';
import type { BackfillProgress, BackfillSummary } from './backfill';

export interface RemoteBackfillTarget {
  /** The sync service's origin, e.g. http://127.0.0.1:4005. */
  url: string;
  token: string;
}

export interface RemoteBackfillOptions extends RemoteBackfillTarget {
  restart?: boolean;
  maxPages?: number;
  shouldStop?: () => boolean;
  onProgress?: (progress: BackfillProgress) => void;
  /** @default 300000: a page of 100 patients against slow vendors */
  timeoutMs?: number;
}

/** The service answered with an error, or could not be reached. */
export class RemoteBackfillError extends Error {
  override readonly name = 'RemoteBackfillError';
  constructor(
    message: string,
    /** The service's error code, or UNREACHABLE. */
    readonly code: string,
  ) {
    super(message);
  }
}

/**
 * Where `npm start` says its sync service is (written while it runs, without REDIS_URL):
 * `{ "url": "...", "token": "..." }`; null when the file is absent or unreadable.
 */
export function readServiceFile(file: string): RemoteBackfillTarget | null {
  try {
    const parsed = JSON.parse(fs.readFileSync(file, 'utf8')) as Partial<RemoteBackfillTarget>;
    return typeof parsed.url === 'string' && typeof parsed.token === 'string' ? { url: parsed.url, token: parsed.token } : null;
  } catch {
    return null;
  }
}

async function runPage(options: RemoteBackfillOptions, restart: boolean): Promise<BackfillSummary> {
  let response: Response;
  try {
    response = await fetch(`${options.url.replace(/\/+$/, '')}/admin/backfill`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${options.token}` },
      body: JSON.stringify({ restart, maxPages: 1 }),
      signal: AbortSignal.timeout(options.timeoutMs ?? 300_000),
    });
  } catch (error) {
    throw new RemoteBackfillError(`the sync service at ${options.url} did not answer (${(error as Error).name})`, 'UNREACHABLE');
  }
  const body = (await response.json().catch(() => null)) as (BackfillSummary & { error?: { code?: string; message?: string } }) | null;
  if (!response.ok || !body) {
    const code = body?.error?.code ?? `HTTP_${response.status}`;
    throw new RemoteBackfillError(`the sync service refused the backfill: ${code}${body?.error?.message ? ` (${body.error.message})` : ''}`, code);
  }
  return body;
}

/** Runs the backfill in the service page by page; the summary covers the whole backfill. */
export async function runRemoteBackfill(options: RemoteBackfillOptions): Promise<BackfillSummary> {
  let startedAtPage: number | undefined;
  let last: BackfillSummary | undefined;
  for (let pages = 0; ; pages++) {
    if (last && ((options.maxPages !== undefined && pages >= options.maxPages) || options.shouldStop?.())) {
      return { ...last, startedAtPage: startedAtPage ?? last.startedAtPage, complete: false };
    }
    const summary = await runPage(options, pages === 0 && (options.restart ?? false));
    startedAtPage ??= summary.startedAtPage;
    last = summary;
    options.onProgress?.(summary);
    if (summary.complete) return { ...summary, startedAtPage };
  }
}
