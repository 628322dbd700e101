/**
 * `npm run bench`: time the patient overview query for `first: 500` through the whole stack
 * (separate processes, as `npm start` runs them), next to a baseline in the same run: the same
 * 500 patients' own fields only, which touches one subgraph. Prints medians and the ratio.
 * Both caches are off (CACHE_ENABLED, VENDOR_CACHE_ENABLED): this is what a miss costs, every
 * time; `npm run bench:cache` measures the caches.
 *
 * Options (env): BENCH_RUNS (default 7), SEED_PATIENTS (default 500).
 */
import crypto from 'node:crypto';
import { signToken } from '../gateway/src/auth';
import { DEV_CLINIC } from '../gateway/src/auth/config';
import { launch } from '../lib/stack/launcher';
import { freePort, patientGraphServices } from '../lib/stack/patient-graph';
import { OVERVIEW } from './queries';

const BASELINE = '{ patients(first: 500) { nodes { id fullName dateOfBirth email nhsNumber } } }';

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

async function main() {
  const runs = Number(process.env.BENCH_RUNS ?? 7);
  const seedPatients = Number(process.env.SEED_PATIENTS ?? 500);
  const secret = crypto.randomBytes(32).toString('hex');
  const token = signToken(secret, { subject: 'bench', roles: ['clinician', 'admin', 'marketing', 'finance'], clinic: DEV_CLINIC });
  const stack = await launch(patientGraphServices({ gatewayPort: 0, syncPort: await freePort(), jwtSecret: secret, seedPatients, env: { LOG_LEVEL: 'warn', CACHE_ENABLED: 'false', VENDOR_CACHE_ENABLED: 'false' } }));
  try {
    const url = stack.urls.gateway!;
    const time = async (query: string) => {
      const started = process.hrtime.bigint();
      const response = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify({ query }),
      });
      const body = (await response.json()) as { errors?: unknown[] };
      if (body.errors) throw new Error(`query failed: ${JSON.stringify(body.errors).slice(0, 500)}`);
      return Number(process.hrtime.bigint() - started) / 1e6;
    };
    // One warm-up each: JIT, connection pools, emulators' first touches.
    await time(BASELINE);
    await time(OVERVIEW);
    const baseline: number[] = [];
    const overview: number[] = [];
    for (let i = 0; i < runs; i++) {
      baseline.push(await time(BASELINE));
      overview.push(await time(OVERVIEW));
    }
    const b = median(baseline);
    const o = median(overview);
    console.log(`patients: ${seedPatients}, runs: ${runs} (after one warm-up)`);
    console.log(`baseline  (semble only, 500 patients' own fields): median ${b.toFixed(1)} ms  [${baseline.map((v) => v.toFixed(0)).join(', ')}]`);
    console.log(`overview  (all four subgraphs, README query, first: 500): median ${o.toFixed(1)} ms  [${overview.map((v) => v.toFixed(0)).join(', ')}]`);
    console.log(`ratio overview / baseline: ${(o / b).toFixed(2)}`);
  } finally {
    await stack.stop();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
