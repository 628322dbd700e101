/**
 * `npm run bench:failover`: steady load (autocannon) through the gateway while one instance of
 * every subgraph is killed (SIGKILL) and later restarted on its port. Run twice in one go: two
 * instances per subgraph (the failover case) and one (the comparison). For each phase (before,
 * during the outage, after the restart) prints requests, errors and p50/p99 latency.
 *
 * Options (env): BENCH_PHASE_SECONDS (default 10), BENCH_CONNECTIONS (default 8),
 * SEED_PATIENTS (default 200). Errors are non-200 answers and answers carrying GraphQL errors.
 */
import crypto from 'node:crypto';
import autocannon from 'autocannon';
import { signToken } from '../gateway/src/auth';
import { DEV_CLINIC } from '../gateway/src/auth/config';
import { SUBGRAPHS } from '../lib/services';
import { launch } from '../lib/stack/launcher';
import { freePort, instanceName, patientGraphServices } from '../lib/stack/patient-graph';

const QUERY = '{ patients(first: 5) { nodes { id fullName dataQuality { score } crmContact { lifecycleStage } payments { status } appointments { status calendarEvent { status } } } } }';
type Phase = 'before' | 'during' | 'after';

/**
 * HubSpot's real limit (100 requests / 10 s) would make this a benchmark of the emulator's 429s;
 * it is lifted here so the figures are about failover.
 */
// One token makes every request: the gateway's per-caller rate limit would make this a benchmark of its 429s.
const BENCH_ENV = { LOG_LEVEL: 'error', HEALTH_CHECK_INTERVAL_MS: '1000', HUBSPOT_RATE_LIMIT_MAX: '1000000', RATE_LIMIT_ENABLED: 'false' };

interface PhaseStats {
  latencies: number[];
  errors: number;
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

async function run(replicas: number, phaseSeconds: number, connections: number, seedPatients: number) {
  const secret = crypto.randomBytes(32).toString('hex');
  const token = signToken(secret, { subject: 'bench', roles: ['clinician', 'admin', 'marketing', 'finance'], clinic: DEV_CLINIC });
  const stack = await launch(
    patientGraphServices({ gatewayPort: 0, syncPort: await freePort(), jwtSecret: secret, seedPatients, replicas, env: BENCH_ENV }),
    { log: () => undefined },
  );
  const stats: Record<Phase, PhaseStats> = { before: { latencies: [], errors: 0 }, during: { latencies: [], errors: 0 }, after: { latencies: [], errors: 0 } };
  let phase: Phase = 'before';
  // The instance killed in each subgraph: the second when there are two, else the only one.
  const victims = SUBGRAPHS.map(({ name }) => instanceName(name, replicas - 1));
  const request = {
    method: 'POST' as const,
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query: QUERY }),
  };
  try {
    // Warm-up, not measured: JIT, connection pools, the emulators' first touches.
    await autocannon({ url: stack.urls.gateway!, connections, duration: 3, ...request });
    let finished!: (error?: Error | null) => void;
    const done = new Promise<void>((resolve, reject) => (finished = (error) => (error ? reject(error) : resolve())));
    const instance = autocannon({
      url: stack.urls.gateway!,
      connections,
      duration: phaseSeconds * 3,
      requests: [
        {
          ...request,
          onResponse: (status: number, body: string) => {
            if (status !== 200 || body.includes('"errors"')) stats[phase].errors += 1;
          },
        },
      ],
    }, (error) => finished(error));
    instance.on('response', (_client: unknown, _status: number, _bytes: number, responseTime: number) => {
      stats[phase].latencies.push(responseTime);
    });
    // A refused connection or a timeout never reaches onResponse; count it too.
    instance.on('reqError', () => {
      stats[phase].errors += 1;
    });
    setTimeout(() => {
      phase = 'during';
      void Promise.all(victims.map((name) => stack.kill(name)));
    }, phaseSeconds * 1000);
    setTimeout(() => {
      void Promise.all(victims.map((name) => stack.restart(name))).then(() => {
        phase = 'after';
      });
    }, phaseSeconds * 2000);
    await done;
  } finally {
    await stack.stop();
  }
  return stats;
}

function print(title: string, stats: Record<Phase, PhaseStats>) {
  console.log(`\n${title}`);
  console.log('phase    requests  errors   p50 ms   p99 ms');
  for (const phase of ['before', 'during', 'after'] as const) {
    const sorted = [...stats[phase].latencies].sort((a, b) => a - b);
    console.log(
      `${phase.padEnd(8)} ${String(sorted.length).padStart(8)} ${String(stats[phase].errors).padStart(7)} ${percentile(sorted, 50).toFixed(1).padStart(8)} ${percentile(sorted, 99).toFixed(1).padStart(8)}`,
    );
  }
}

async function main() {
  const phaseSeconds = Number(process.env.BENCH_PHASE_SECONDS ?? 10);
  const connections = Number(process.env.BENCH_CONNECTIONS ?? 8);
  const seedPatients = Number(process.env.SEED_PATIENTS ?? 200);
  console.log(
    `failover benchmark: ${connections} connections, ${phaseSeconds} s per phase after a 3 s warm-up; one instance of every subgraph killed at ${phaseSeconds} s, restarted at ${phaseSeconds * 2} s`,
  );
  print('two instances per subgraph', await run(2, phaseSeconds, connections, seedPatients));
  print('one instance per subgraph (comparison)', await run(1, phaseSeconds, connections, seedPatients));
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
