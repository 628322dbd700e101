/**
 * `npm run bench:export`: the bulk export of every patient with the README's overview selection,
 * through the whole stack in separate processes (as `npm start` runs them, both caches off, so
 * every page is what a miss costs), next to the same data fetched in the same run by paging POST
 * /graphql by hand, and by one POST /graphql of `first: 500` (500 patients at most: the cap of
 * `first`). Prints the time, patients/s and the
 * gateway process's peak RSS during each (sampled from /proc every 20 ms; Linux only), medians of
 * BENCH_RUNS runs after one warm-up. Each run is a token subject of its own, so no run waits for
 * the cost budget another spent.
 *
 * Options (env): BENCH_RUNS (default 3), SEED_PATIENTS (default 500), BENCH_PAGE_SIZE (default 100).
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import { signToken } from '../gateway/src/auth';
import { DEV_CLINIC } from '../gateway/src/auth/config';
import { launch } from '../lib/stack/launcher';
import { freePort, patientGraphServices } from '../lib/stack/patient-graph';
import { OVERVIEW } from './queries';

const NODES = OVERVIEW.slice(OVERVIEW.indexOf('nodes {') + 'nodes '.length, OVERVIEW.lastIndexOf('}', OVERVIEW.lastIndexOf('}') - 1));
const PAGE = `query Page($first: Int, $after: String) { patients(first: $first, after: $after) { pageInfo { hasNextPage endCursor } nodes ${NODES} } }`;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/** The resident set of process `pid` in bytes, from /proc. */
function rssOf(pid: number): number {
  const match = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return match ? Number(match[1]) * 1024 : NaN;
}

/** Runs `work` while sampling `pid`'s RSS; its peak, and the time the work took. */
async function measure(pid: number, work: () => Promise<number>): Promise<{ ms: number; rows: number; peakRss: number; before: number }> {
  const before = rssOf(pid);
  let peakRss = before;
  const sampler = setInterval(() => (peakRss = Math.max(peakRss, rssOf(pid))), 20);
  const started = process.hrtime.bigint();
  try {
    const rows = await work();
    return { ms: Number(process.hrtime.bigint() - started) / 1e6, rows, peakRss: Math.max(peakRss, rssOf(pid)), before };
  } finally {
    clearInterval(sampler);
  }
}

async function main() {
  const runs = Number(process.env.BENCH_RUNS ?? 3);
  const seedPatients = Number(process.env.SEED_PATIENTS ?? 500);
  const pageSize = Number(process.env.BENCH_PAGE_SIZE ?? 100);
  const secret = crypto.randomBytes(32).toString('hex');
  let subjects = 0;
  const token = () => signToken(secret, { subject: `bench-export-${++subjects}`, roles: ['clinician', 'admin', 'marketing', 'finance'], clinic: DEV_CLINIC });
  const stack = await launch(
    patientGraphServices({ gatewayPort: 0, syncPort: await freePort(), jwtSecret: secret, seedPatients, env: { LOG_LEVEL: 'warn', CACHE_ENABLED: 'false', VENDOR_CACHE_ENABLED: 'false' } }),
  );
  try {
    const graphqlUrl = stack.urls.gateway!;
    const exportUrl = new URL('/export', graphqlUrl).toString();
    const gatewayPid = stack.pids.gateway!;

    const post = async (query: string, variables: Record<string, unknown>, bearer: string) => {
      const response = await fetch(graphqlUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${bearer}`, 'accept-encoding': 'gzip' },
        body: JSON.stringify({ query, variables }),
      });
      const body = (await response.json()) as { data?: any; errors?: unknown[] };
      if (body.errors) throw new Error(`query failed: ${JSON.stringify(body.errors).slice(0, 500)}`);
      return body.data.patients;
    };
    const byHand = async () => {
      const bearer = token();
      let rows = 0;
      for (let after: string | null = null; ; ) {
        const page = await post(PAGE, { first: pageSize, after }, bearer);
        rows += page.nodes.length;
        if (!page.pageInfo.hasNextPage) return rows;
        after = page.pageInfo.endCursor;
      }
    };
    const onePost = async () => (await post(PAGE, { first: 500, after: null }, token())).nodes.length as number;
    /** The export, read as it streams (gzip, as a client sends Accept-Encoding), counting lines. */
    const exported = (format: 'ndjson' | 'csv') => async () => {
      const response = await fetch(exportUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token()}`, 'accept-encoding': 'gzip' },
        body: JSON.stringify({ query: OVERVIEW, format, pageSize }),
      });
      if (!response.ok || !response.body) throw new Error(`export refused: HTTP ${response.status} ${await response.text()}`);
      let lines = 0;
      const decoder = new TextDecoder();
      for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
        const text = decoder.decode(chunk, { stream: true });
        for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) lines++;
      }
      if (lines === 0) throw new Error('the export was empty');
      // A CSV's header is a line; its quoted cells hold no line breaks in this data.
      return format === 'csv' ? lines - 1 : lines;
    };

    const phases: Array<[string, () => Promise<number>]> = [
      [`paging POST /graphql by hand (first: ${pageSize})`, byHand],
      [`export, NDJSON (pageSize ${pageSize})`, exported('ndjson')],
      [`export, CSV (pageSize ${pageSize})`, exported('csv')],
      ['one POST /graphql, first: 500', onePost],
    ];
    // Warm-up: JIT, connection pools, the emulators' first touches.
    for (const [, work] of phases) await work();
    const results = new Map<string, Array<Awaited<ReturnType<typeof measure>>>>(phases.map(([name]) => [name, []]));
    for (let i = 0; i < runs; i++) {
      for (const [name, work] of phases) results.get(name)!.push(await measure(gatewayPid, work));
    }

    const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(0)} MB`;
    console.log(`patients: ${seedPatients}, runs: ${runs} (after one warm-up); gateway pid ${gatewayPid}`);
    for (const [name, measured] of results) {
      const ms = median(measured.map((m) => m.ms));
      const rows = measured[0]!.rows;
      const expected = name.startsWith('one POST') ? Math.min(500, seedPatients) : seedPatients;
      if (measured.some((m) => m.rows !== expected)) throw new Error(`${name}: expected ${expected} patients, got ${measured.map((m) => m.rows).join(', ')}`);
      console.log(
        `${name.padEnd(44)} median ${ms.toFixed(0).padStart(6)} ms  ${(rows / (ms / 1000)).toFixed(0).padStart(5)} patients/s  ` +
          `gateway RSS before ${mb(median(measured.map((m) => m.before)))}, peak ${mb(Math.max(...measured.map((m) => m.peakRss)))}  [${measured.map((m) => m.ms.toFixed(0)).join(', ')} ms]`,
      );
    }
  } finally {
    await stack.stop();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
