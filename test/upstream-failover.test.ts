/**
 * Failover of the real patient graph, as processes: two instances of every subgraph behind the
 * gateway; one instance of each is killed (SIGKILL) while a steady stream of queries runs, and
 * later restarted on its port. Runs the compiled services: `npm test` builds first.
 */
import crypto from 'node:crypto';
import { signToken } from '../gateway/src/auth';
import { DEV_CLINIC } from '../gateway/src/auth/config';
import { launch } from '../lib/stack/launcher';
import type { RunningStack } from '../lib/stack/launcher';
import { SUBGRAPHS } from '../lib/services';
import { freePort, instanceName, patientGraphServices } from '../lib/stack/patient-graph';
import { PATIENT_OVERVIEW } from './seed-oracle';

const SUBGRAPH_NAMES = SUBGRAPHS.map(({ name }) => name);

describe('the patient graph with two instances of every subgraph', () => {
  let stack: RunningStack;
  let token: string;

  beforeAll(async () => {
    const secret = crypto.randomBytes(32).toString('hex');
    // The launcher's gateway runs in jwt mode, serving the development clinic.
    token = signToken(secret, { subject: 'failover-test', roles: ['clinician', 'admin', 'marketing', 'finance'], clinic: DEV_CLINIC });
    stack = await launch(
      patientGraphServices({
        gatewayPort: 0,
        syncPort: await freePort(),
        jwtSecret: secret,
        seedPatients: 40,
        replicas: 2,
        env: { LOG_LEVEL: 'warn', HEALTH_CHECK_INTERVAL_MS: '200' },
      }),
      { log: () => undefined },
    );
  });
  afterAll(async () => {
    await stack?.stop();
  });

  const query = async () => {
    const response = await fetch(stack.urls.gateway!, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ query: PATIENT_OVERVIEW, variables: { first: 10 } }),
    });
    const body = (await response.json()) as { errors?: unknown[]; data?: any };
    return response.status === 200 && !body.errors && body.data.patients.nodes.length === 10;
  };
  const readyz = async () => (await (await fetch(stack.urls.gateway!.replace('/graphql', '/readyz'))).json()) as any;

  it('loses no query when one instance of each subgraph is killed under load, and uses it again once restarted', async () => {
    let ok = 0;
    const failures: number[] = [];
    let running = true;
    const worker = async () => {
      while (running) {
        if (await query()) ok += 1;
        else failures.push(Date.now());
      }
    };
    const workers = Array.from({ length: 4 }, worker);

    // Counted in answers, not seconds, so a slow machine runs the same test.
    const until = async (condition: () => boolean) => {
      const deadline = Date.now() + 30_000;
      while (!condition() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
    };
    await until(() => ok >= 8);
    const before = ok;
    await Promise.all(SUBGRAPH_NAMES.map((name) => stack.kill(instanceName(name, 1))));
    const killedHealth = async () => {
      const state = await readyz();
      return SUBGRAPH_NAMES.map((name) => state.subgraphs[name].endpoints.find((e: { url: string }) => e.url === stack.urls[instanceName(name, 1)]).health);
    };
    // Queries keep running until every killed instance is ejected (health checks or failures).
    let ejected = false;
    const deadlineEjected = Date.now() + 30_000;
    while (!ejected && Date.now() < deadlineEjected) {
      ejected = (await killedHealth()).every((health: string) => health === 'ejected');
      if (!ejected) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    await until(() => ok - before >= 24);
    const during = ok - before;
    running = false;
    await Promise.all(workers);

    expect(failures).toEqual([]);
    expect(before).toBeGreaterThanOrEqual(8);
    expect(during).toBeGreaterThanOrEqual(24);
    expect(await killedHealth()).toEqual(SUBGRAPH_NAMES.map(() => 'ejected'));

    await Promise.all(SUBGRAPH_NAMES.map((name) => stack.restart(instanceName(name, 1))));
    const deadline = Date.now() + 15_000;
    let healthy = false;
    while (!healthy && Date.now() < deadline) {
      const now = await readyz();
      healthy = SUBGRAPH_NAMES.every((name) => now.subgraphs[name].endpoints.every((e: { health: string }) => e.health === 'healthy'));
      if (!healthy) await new Promise((resolve) => setTimeout(resolve, 200));
    }
    expect(healthy).toBe(true);
    for (let i = 0; i < 8; i++) expect(await query()).toBe(true);
  });
});
