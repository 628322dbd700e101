/**
 * `npm run bench:noisy-neighbour`: what one abusive client does to everyone else. The whole stack
 * runs as `npm start` runs it (separate processes, embedded defaults: caches on, default limits).
 * A front-desk client sends a steady stream of light queries (one patient with their appointments,
 * CRM contact and payments, at a fixed rate, whatever the answers' speed), first alone, then with
 * an abusive client running alongside under another token:
 *   - heavy legal queries without pause, several at once (the README's overview for 500 patients,
 *     each with a different search so no whole answer is cached);
 *   - the fan-out document of nested fragments (refused by the operation limits);
 *   - a 400 KB search string (refused before parsing);
 *   - made-up tokens (refused, then throttled per IP).
 * Prints the front desk's p50/p99 latency and error count in both runs, their ratio, and what the
 * abusive client got back. Target: p99 within 2× and no errors.
 *
 * Options (env): BENCH_SECONDS (per run, default 20), BENCH_RATE (front-desk requests/s, default 20),
 * BENCH_ABUSERS (heavy queries at once, default 8), BENCH_ABUSE (which abuses, comma-separated:
 * heavy,fan-out,big-search,bad-token; default all), SEED_PATIENTS (default 500).
 */
import crypto from 'node:crypto';
import http from 'node:http';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { signToken } from '../gateway/src/auth';
import { DEV_CLINIC } from '../gateway/src/auth/config';
import { launch } from '../lib/stack/launcher';
import { freePort, patientGraphServices } from '../lib/stack/patient-graph';
import { OVERVIEW } from './queries';

/**
 * One patient's page: the overview's selection for one patient (the entity cache keys an entry by
 * the fetch's selection, so a page asking the same as the overview finds what it cached).
 */
const LIGHT = `query FrontDesk($id: ID!) { patient(id: $id) {
  id fullName dateOfBirth email nhsNumber phones { number e164 } dataQuality { score issues route }
  appointments { id start end status practitioner { fullName } calendarEvent { id status } }
  invoices { id total outstanding payments { id status amountMinor currency } }
  crmContact { id lifecycleStage marketingConsent } deals { id stage amount }
  payments { id provider status amountMinor currency } subscriptions { id status plan }
} }`;

/** The overview with a search, so each heavy query's root answer differs (entities may still be cached). */
const HEAVY = OVERVIEW.replace('query PatientOverview {', 'query PatientOverview($search: String) {').replace(
  'patients(first: 500)',
  'patients(first: 500, filter: { search: $search })',
);

/** Fifteen levels of fragments, each asking the graph's cycles twice. */
function fanOutDocument(levels = 15): string {
  const fragments = [`fragment L0 on Patient { id fullName }`];
  for (let i = 1; i <= levels; i++) {
    fragments.push(`fragment L${i} on Patient { crmContact { patient { ...L${i - 1} } } appointments { patient { ...L${i - 1} } } }`);
  }
  return `{ patients(first: 50) { nodes { ...L${levels} } } } ${fragments.join(' ')}`;
}

interface Sample {
  ms: number;
  ok: boolean;
  /** What went wrong, when something did. */
  error?: string;
}

type Answer = { status: number; body: { errors?: Array<{ extensions?: { code?: string; reason?: string }; path?: unknown[] }>; data?: any } };

/** POST a GraphQL request; `from` is the local address to send from (another client machine). */
function post(url: string, token: string, query: string, variables?: Record<string, unknown>, from?: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const request = http.request(
      url,
      { method: 'POST', agent: from ? abuserAgent : frontDeskAgent, headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, ...(from ? { localAddress: from } : {}) },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => {
          let body: Answer['body'] = {};
          try {
            body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Answer['body'];
          } catch {
            // Not JSON: counted by its status.
          }
          resolve({ status: response.statusCode ?? 0, body });
        });
        response.on('error', reject);
      },
    );
    request.on('error', reject);
    request.end(JSON.stringify({ query, variables }));
  });
}

const frontDeskAgent = new http.Agent({ keepAlive: true });
const abuserAgent = new http.Agent({ keepAlive: true });
/** The abusive client is another machine: 127.0.0.2 (the front desk is 127.0.0.1), so a limit per client address is its own. */
const ABUSER_ADDRESS = '127.0.0.2';

function describe({ status, body }: Answer): string {
  const error = body.errors?.[0]?.extensions;
  const where = body.errors?.[0]?.path?.join('.');
  return error ? `${status} ${error.code ?? '?'}${error.reason ? `/${error.reason}` : ''}${where ? ` at ${where}` : ''}` : `${status} ok`;
}

interface AbuseOptions {
  url: string;
  abuser: string;
  abusers: number;
  kinds: string[];
  someId: string;
}

/**
 * The abusive client, in a worker thread of its own: reading its big answers must not hold up the
 * event loop that times the front desk. Runs until told to stop, then reports what it got.
 */
async function abuseInWorker(options: AbuseOptions): Promise<void> {
  let done = false;
  parentPort!.once('message', () => (done = true));
  const outcomes = new Map<string, number>();
  const loops: Promise<void>[] = [];
  const loop = (kind: string, send: () => Promise<Answer>) =>
    loops.push(
      (async () => {
        while (!done) {
          const key = `${kind}: ${describe(await send().catch(() => ({ status: 0, body: {} })))}`.replace(/\.\d+\./g, '.N.');
          outcomes.set(key, (outcomes.get(key) ?? 0) + 1);
        }
      })(),
    );
  const { url, abuser } = options;
  const kinds = new Set(options.kinds);
  if (kinds.has('heavy')) for (let i = 0; i < options.abusers; i++) loop('heavy overview', () => post(url, abuser, HEAVY, { search: crypto.randomBytes(1).toString('hex').slice(0, 1) }, ABUSER_ADDRESS));
  const fanOut = fanOutDocument();
  if (kinds.has('fan-out')) loop('fan-out document', () => post(url, abuser, fanOut, undefined, ABUSER_ADDRESS));
  if (kinds.has('big-search')) loop('400 KB search', () => post(url, abuser, HEAVY, { search: 'x'.repeat(400_000) }, ABUSER_ADDRESS));
  if (kinds.has('bad-token')) loop('made-up token', () => post(url, `${abuser}x`, LIGHT, { id: options.someId }, ABUSER_ADDRESS));
  await Promise.all(loops);
  parentPort!.postMessage([...outcomes]);
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

async function main() {
  const seconds = Number(process.env.BENCH_SECONDS ?? 20);
  const rate = Number(process.env.BENCH_RATE ?? 20);
  const abusers = Number(process.env.BENCH_ABUSERS ?? 8);
  const seedPatients = Number(process.env.SEED_PATIENTS ?? 500);
  const secret = crypto.randomBytes(32).toString('hex');
  const roles = ['clinician', 'admin', 'marketing', 'finance'];
  // The front desk is five members of staff, each with a token of their own (one caller at 20
  // requests a second would be over the per-subject rate limit, as it should be).
  const staff = Array.from({ length: 5 }, (_, i) => signToken(secret, { subject: `front-desk-${i + 1}`, roles, clinic: DEV_CLINIC }));
  const frontDesk = staff[0]!;
  const abuser = signToken(secret, { subject: 'abuser', roles, clinic: DEV_CLINIC });
  const stack = await launch(patientGraphServices({ gatewayPort: 0, syncPort: await freePort(), jwtSecret: secret, seedPatients, env: { LOG_LEVEL: 'warn' } }));
  const url = stack.urls.gateway!;
  try {
    const ids = ((await post(url, frontDesk, '{ patients(first: 500) { nodes { id } } }')).body.data.patients.nodes as Array<{ id: string }>).map((n) => n.id);

    /** The front desk: `rate` requests a second for `seconds`, each timed from when it was due. */
    const frontDeskRun = async (): Promise<Sample[]> => {
      const samples: Sample[] = [];
      const inFlight: Promise<void>[] = [];
      const start = performance.now();
      for (let i = 0; i < seconds * rate; i++) {
        const due = start + (i * 1000) / rate;
        const wait = due - performance.now();
        if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
        const id = ids[Math.floor(Math.random() * ids.length)]!;
        inFlight.push(
          post(url, staff[i % staff.length]!, LIGHT, { id })
            .then(({ status, body }) => {
              const ok = status === 200 && !body.errors && body.data?.patient?.id === id;
              samples.push({ ms: performance.now() - due, ok, ...(ok ? {} : { error: describe({ status, body }) }) });
            })
            .catch((error: Error) => void samples.push({ ms: performance.now() - due, ok: false, error: error.message })),
        );
      }
      await Promise.all(inFlight);
      return samples;
    };

    // Warm-up: JIT and connection pools, and the entity cache a clinic's day would have filled
    // (one overview of every patient; entries live 5 minutes, longer than both runs). Without it the
    // front desk alone would spend HubSpot's 100 requests per 10 s and wait out its 429s.
    const warm = await post(url, frontDesk, OVERVIEW);
    if (warm.body.errors) throw new Error(`warm-up failed: ${describe(warm)}`);
    await Promise.all(ids.slice(0, 50).map((id) => post(url, frontDesk, LIGHT, { id })));

    const alone = await frontDeskRun();
    const kinds = (process.env.BENCH_ABUSE ?? 'heavy,fan-out,big-search,bad-token').split(',');
    const worker = new Worker(__filename, { workerData: { url, abuser, abusers, kinds, someId: ids[0]! } satisfies AbuseOptions });
    const outcomes = new Promise<Array<[string, number]>>((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
    });
    const withAbuser = await frontDeskRun();
    worker.postMessage('stop');
    const got = await outcomes;
    await worker.terminate();

    const errorKinds = (samples: Sample[]) => {
      const kinds = new Map<string, number>();
      for (const { error } of samples) if (error) kinds.set(error.replace(/\.\d+\./g, '.N.'), (kinds.get(error.replace(/\.\d+\./g, '.N.')) ?? 0) + 1);
      return [...kinds].map(([kind, n]) => `${kind} ×${n}`).join('; ');
    };
    const summary = (samples: Sample[]) => {
      const sorted = samples.map((s) => s.ms).sort((a, b) => a - b);
      return {
        p50: percentile(sorted, 50),
        p95: percentile(sorted, 95),
        p99: percentile(sorted, 99),
        errors: samples.filter((s) => !s.ok).length,
        n: samples.length,
        slow: sorted.filter((ms) => ms > 100).length,
      };
    };
    const a = summary(alone);
    const w = summary(withAbuser);
    console.log(`front desk: ${rate} requests/s for ${seconds} s per run; abusive client (${kinds.join(', ')}): ${abusers} heavy queries at once`);
    for (const [name, r] of [['alone      ', a], ['with abuser', w]] as const) {
      console.log(`${name}    p50 ${r.p50.toFixed(1)} ms  p95 ${r.p95.toFixed(1)} ms  p99 ${r.p99.toFixed(1)} ms  errors ${r.errors}/${r.n}  slower than 100 ms: ${r.slow}`);
    }
    for (const [name, samples] of [['alone', alone], ['with abuser', withAbuser]] as const) {
      const kinds = errorKinds(samples);
      if (kinds) console.log(`  front-desk errors ${name}: ${kinds}`);
    }
    console.log(`ratio p99 with/alone: ${(w.p99 / a.p99).toFixed(2)} (target ≤ 2), p50: ${(w.p50 / a.p50).toFixed(2)}`);
    console.log('what the abusive client got:');
    for (const [key, n] of got.sort()) console.log(`  ${key}: ${n}`);
  } finally {
    await stack.stop();
  }
}

if (isMainThread) {
  main().catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
} else {
  void abuseInWorker(workerData as AbuseOptions);
}
