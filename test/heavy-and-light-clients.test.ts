/**
 * One client sends heavy but legal queries without pause (the README's overview for 250 patients,
 * two at once) while another asks for single patients: the light client's queries keep
 * working. Semble's answers to the heavy ones are slow, and slowness is not an endpoint failure:
 * the endpoint is never ejected, and nobody gets NO_ENDPOINT_AVAILABLE.
 *
 * The per-try timeout is set far below what a heavy answer takes, as it would be on a loaded
 * machine: when it counted as a failure, three heavy queries ejected Semble's only endpoint and
 * every user lost the graph for the ejection's duration.
 */
import { signToken } from '../gateway/src/auth';
import { PATIENT_OVERVIEW } from './seed-oracle';
import { STACK_JWT_SECRET, startPatientGraph } from './stack';
import type { PatientGraphStack } from './stack';

const LIGHT = 'query($id: ID!) { patient(id: $id) { id fullName crmContact { lifecycleStage } } }';

describe('a heavy client next to a light one', () => {
  let stack: PatientGraphStack;
  beforeAll(async () => {
    // No cost budget: it would stop the heavy client after a dozen overviews, and this test is about
    // what its queries do to the upstream (the budget has tests of its own).
    stack = await startPatientGraph({ gatewayEnv: { UPSTREAM_TRY_TIMEOUT_MS: '100', CACHE_ENABLED: 'false', RATE_LIMIT_COST_PER_SUBJECT: '0' } });
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it("answers every light query while heavy ones run, and never ejects Semble's endpoint", async () => {
    const roles = ['clinician', 'admin', 'marketing', 'finance'];
    const heavyToken = signToken(STACK_JWT_SECRET, { subject: 'analytics', roles, clinic: 'test' });
    const lightToken = signToken(STACK_JWT_SECRET, { subject: 'front-desk', roles, clinic: 'test' });
    const ids = stack.world.patients.slice(0, 15).map((patient) => patient.id);

    let lightDone = false;
    const heavyAnswers: Array<{ errors?: unknown[]; count?: number }> = [];
    const heavyLoop = async () => {
      while (!lightDone) {
        const answer = await stack.query(PATIENT_OVERVIEW, { first: 250 }, { token: heavyToken });
        heavyAnswers.push({ errors: answer.errors, count: answer.data?.patients?.nodes?.length });
      }
    };
    const heavy = [heavyLoop(), heavyLoop()];

    // The light client starts once a heavy query is under way, and asks one patient at a time.
    while (heavyAnswers.length === 0) {
      const light = await stack.query(LIGHT, { id: ids[0] }, { token: lightToken });
      expect(light.errors).toBeUndefined();
    }
    const lightErrors: unknown[] = [];
    for (const id of ids) {
      const light = await stack.query(LIGHT, { id }, { token: lightToken });
      if (light.errors) lightErrors.push(...light.errors);
      else expect(light.data.patient.id).toBe(id);
    }
    lightDone = true;
    await Promise.all(heavy);

    expect(lightErrors).toEqual([]);
    // The heavy client was served too: slow is not down.
    expect(heavyAnswers.length).toBeGreaterThanOrEqual(2);
    for (const answer of heavyAnswers) {
      expect(answer.errors).toBeUndefined();
      expect(answer.count).toBe(250);
    }
    const ready = (await (await fetch(`${stack.gateway.url}/readyz`)).json()) as any;
    expect(ready.subgraphs.semble.endpoints).toEqual([expect.objectContaining({ health: 'healthy', breaker: 'closed' })]);
  }, 120_000);
});
