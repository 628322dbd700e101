/**
 * `npm run bench:cache`: what the entity cache buys, measured through the whole stack in separate
 * processes (as `npm start` runs it), every figure against a baseline taken in the same run.
 *
 * 1. The README's overview query for 500 patients: cold (a scope the cache has never served,
 *    so every fetch goes to the subgraphs), warm (the same query again), and warm after one
 *    patient changed in Semble (that patient's entries evicted, the rest served).
 * 2. A deep query across all four subgraphs (a page of 20 patients) repeated under steady load
 *    (autocannon): plain @apollo/gateway over the same subgraphs (bench/vanilla-gateway.ts), our
 *    gateway with CACHE_ENABLED=false, and ours with the cache.
 * 3. Invalidation: a patient's first name changed through Semble's admin API (which sends the
 *    signed webhook), timed until the first answer from the gateway that shows it.
 *
 * The subgraphs' own vendor cache is off here (VENDOR_CACHE_ENABLED=false), so "cold" means
 * the vendors are asked and the figures are the gateway cache's alone.
 *
 * Options (env): BENCH_RUNS (default 5), BENCH_SECONDS (load per gateway, default 10),
 * BENCH_CONNECTIONS (default 8), BENCH_CHANGES (invalidation samples, default 40),
 * SEED_PATIENTS (default 500).
 */
import crypto from 'node:crypto';
import autocannon from 'autocannon';
import { signToken } from '../gateway/src/auth';
import { DEV_CLINIC } from '../gateway/src/auth/config';
import { launch } from '../lib/stack/launcher';
import type { RunningStack, ServiceSpec } from '../lib/stack/launcher';
import { freePort, patientGraphServices } from '../lib/stack/patient-graph';
import { fromRoot } from '../lib/root';
import { OVERVIEW } from './queries';

const DEEP = `query PatientPage { patients(first: 20) { nodes {
  id fullName dataQuality { score }
  appointments { start status practitioner { fullName } calendarEvent { status } }
  invoices { total payments { status } }
  crmContact { lifecycleStage } deals { stage }
  payments { status amountMinor } mandates { status } } } }`;

const percentile = (values: number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
};
const median = (values: number[]) => percentile(values, 50);
const ms = (value: number) => `${value.toFixed(1)} ms`;

async function main() {
  const runs = Number(process.env.BENCH_RUNS ?? 5);
  const seconds = Number(process.env.BENCH_SECONDS ?? 10);
  const connections = Number(process.env.BENCH_CONNECTIONS ?? 8);
  const changes = Number(process.env.BENCH_CHANGES ?? 40);
  const seedPatients = Number(process.env.SEED_PATIENTS ?? 500);
  const secret = crypto.randomBytes(32).toString('hex');
  const tokenFor = (roles: string[], clinic = DEV_CLINIC) => signToken(secret, { subject: 'bench', roles, clinic }, { expiresIn: '1h' });
  // Every steward role, so the whole overview may be seen. A cold run is for a clinic of its own,
  // which the gateway serves: a scope the cache has never served (a role no table knows would be
  // dropped from the token, so it can no longer make one).
  const ROLES = ['clinician', 'admin', 'marketing', 'finance'];
  const coldClinics = Array.from({ length: runs }, (_, index) => `bench-cold-${index}`);
  // HubSpot's real limit (100 requests / 10 s) would make this a benchmark of the emulator's 429s,
  // and the gateway's per-caller rate limit one of its own (one token makes every request).
  const env = { LOG_LEVEL: 'error', HUBSPOT_RATE_LIMIT_MAX: '100000000', VENDOR_CACHE_ENABLED: 'false', RATE_LIMIT_ENABLED: 'false' };
  const groups = patientGraphServices({ gatewayPort: 0, syncPort: await freePort(), jwtSecret: secret, seedPatients, env }).map((group) =>
    group.map((spec) => (spec.name === 'gateway' ? { ...spec, env: (urls: Readonly<Record<string, string>>) => ({ ...spec.env(urls), AUTH_CLINICS: [DEV_CLINIC, ...coldClinics].join(',') }) } : spec)),
  );
  const stacks: RunningStack[] = [];
  try {
    const stack = await launch(groups, { log: () => undefined });
    stacks.push(stack);
    const cached = stack.urls.gateway!;
    const gatewaySpec = groups.at(-1)!.find((spec) => spec.name === 'gateway')!;
    const sibling = (name: string, script: string, extra: Record<string, string>): ServiceSpec => ({
      name,
      script,
      env: () => ({ ...gatewaySpec.env(stack.urls), PORT: '0', ...extra }),
    });
    const others = await launch(
      [[sibling('gateway-uncached', gatewaySpec.script, { CACHE_ENABLED: 'false' }), sibling('vanilla-gateway', fromRoot('dist', 'bench', 'vanilla-gateway.js'), {})]],
      { log: () => undefined },
    );
    stacks.push(others);
    const uncached = others.urls['gateway-uncached']!;
    const vanilla = others.urls['vanilla-gateway']!;

    const post = async (url: string, query: string, token: string | undefined, variables?: unknown) => {
      const response = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
        body: JSON.stringify({ query, variables }),
      });
      const body = (await response.json()) as { data?: any; errors?: unknown[] };
      if (body.errors) throw new Error(`query failed at ${url}: ${JSON.stringify(body.errors).slice(0, 500)}`);
      return body.data;
    };
    const time = async (url: string, query: string, token: string | undefined) => {
      const started = process.hrtime.bigint();
      await post(url, query, token);
      return Number(process.hrtime.bigint() - started) / 1e6;
    };

    // 1. The overview, cold / warm / warm after a change.
    const warmToken = tokenFor(ROLES);
    await time(uncached, OVERVIEW, warmToken); // JIT and connection pools everywhere; the cached gateway stays cold
    const cold: number[] = [];
    for (let i = 0; i < runs; i++) cold.push(await time(cached, OVERVIEW, tokenFor(ROLES, coldClinics[i])));
    await time(cached, OVERVIEW, warmToken);
    const warm: number[] = [];
    for (let i = 0; i < runs; i++) warm.push(await time(cached, OVERVIEW, warmToken));

    const semble = stack.urls['semble-emulator']!;
    const page = await post(cached, '{ patients(first: 500) { nodes { id } } }', warmToken);
    const ids: string[] = page.patients.nodes.map((node: { id: string }) => node.id);
    /** Changes a patient's first name in Semble and returns when the gateway's answer shows it, with the time that took. */
    const change = async (id: string, n: number) => {
      const firstName = `Bench${n}x${crypto.randomBytes(2).toString('hex')}`;
      const started = process.hrtime.bigint();
      const patched = await fetch(`${semble}/__admin/patients/${id}`, {
        method: 'PATCH',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ firstName }),
      });
      if (!patched.ok) throw new Error(`Semble admin answered ${patched.status}`);
      for (;;) {
        const data = await post(cached, 'query($id: ID!) { patient(id: $id) { firstName } }', warmToken, { id });
        if (data.patient.firstName === firstName) return Number(process.hrtime.bigint() - started) / 1e6;
      }
    };
    const afterChange: number[] = [];
    for (let i = 0; i < runs; i++) {
      await change(ids[i]!, i);
      afterChange.push(await time(cached, OVERVIEW, warmToken));
    }

    // 3. Invalidation latency (each patient cached first, so the change has something to evict).
    const latencies: number[] = [];
    for (let i = 0; i < changes; i++) {
      const id = ids[(runs + i) % ids.length]!;
      await post(cached, 'query($id: ID!) { patient(id: $id) { firstName } }', warmToken, { id });
      latencies.push(await change(id, runs + i));
    }

    // 2. Steady load on the deep query.
    const load = async (url: string, token: string | undefined) => {
      const request = { method: 'POST' as const, headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) }, body: JSON.stringify({ query: DEEP }) };
      await post(url, DEEP, token);
      await autocannon({ url, connections, duration: 3, ...request }); // warm-up
      const result = await autocannon({ url, connections, duration: seconds, ...request });
      return { rps: result.requests.average, p50: result.latency.p50, p99: result.latency.p99, errors: result.errors + result.non2xx };
    };
    const loadVanilla = await load(vanilla, undefined);
    const loadUncached = await load(uncached, warmToken);
    const loadCached = await load(cached, warmToken);

    console.log(`patients: ${seedPatients}; overview runs: ${runs}; load: ${connections} connections, ${seconds} s per gateway after 3 s warm-up`);
    console.log('');
    console.log('overview (README query, first: 500)        median       runs');
    console.log(`  cold (scope never served)               ${ms(median(cold)).padEnd(12)} [${cold.map((v) => v.toFixed(0)).join(', ')}]`);
    console.log(`  warm                                    ${ms(median(warm)).padEnd(12)} [${warm.map((v) => v.toFixed(0)).join(', ')}]`);
    console.log(`  warm, one patient changed               ${ms(median(afterChange)).padEnd(12)} [${afterChange.map((v) => v.toFixed(0)).join(', ')}]`);
    console.log(`  cold / warm: ${(median(cold) / median(warm)).toFixed(1)}×   cold / warm after a change: ${(median(cold) / median(afterChange)).toFixed(1)}×`);
    console.log('');
    console.log('deep query under load (20 patients, four subgraphs)   req/s      p50      p99   errors');
    const row = (name: string, r: { rps: number; p50: number; p99: number; errors: number }) =>
      console.log(`  ${name.padEnd(48)} ${r.rps.toFixed(0).padStart(7)} ${ms(r.p50).padStart(9)} ${ms(r.p99).padStart(9)} ${String(r.errors).padStart(7)}`);
    row('vanilla @apollo/gateway', loadVanilla);
    row('this gateway, CACHE_ENABLED=false', loadUncached);
    row('this gateway, entity cache', loadCached);
    console.log(`  cache on / vanilla: ${(loadCached.rps / loadVanilla.rps).toFixed(1)}×   cache on / cache off: ${(loadCached.rps / loadUncached.rps).toFixed(1)}×`);
    console.log('');
    console.log(`invalidation: Semble admin change (webhook sent) → first gateway answer showing it, ${changes} changes`);
    console.log(`  p50 ${ms(median(latencies))}   p99 ${ms(percentile(latencies, 99))}   max ${ms(Math.max(...latencies))}`);
  } finally {
    for (const stack of stacks.reverse()) await stack.stop();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
