/**
 * Each subgraph of the patient graph down in turn: the answer keeps everything the others serve,
 * and only what the missing subgraph serves is null, each with an error at its own path.
 */
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { loadGatewayConfig, subgraphUrlEnv } from '../gateway/src/config';
import { createGateway } from '../gateway/src/server';
import { INTERNAL_TOKEN_SECRET_ENV } from '../lib/internal-identity';
import { fromRoot } from '../lib/root';
import { STACK_INTERNAL_TOKEN_SECRET, STACK_JWT_SECRET, startPatientGraph } from './stack';
import type { PatientGraphStack } from './stack';

const QUERY = `{ patients(first: 3) { nodes {
  id fullName crmContact { lifecycleStage } payments { status } appointments { status calendarEvent { status } } syncStatus { state }
} } }`;

async function deadUrl(): Promise<string> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${port}/graphql`;
}

describe('partial results when a subgraph is down', () => {
  let stack: PatientGraphStack;
  beforeAll(async () => {
    stack = await startPatientGraph({ patients: 20 });
  });
  afterAll(async () => {
    await stack?.stop();
  });

  /** Asks QUERY through a gateway for which `down` is unreachable. */
  async function askWithout(down: string) {
    const urls = Object.fromEntries(Object.entries(stack.subgraphs).map(([name, url]) => [subgraphUrlEnv(name), url]));
    const gateway = await createGateway(
      loadGatewayConfig({
        PORT: '0',
        NODE_ENV: 'test',
        SUPERGRAPH_WATCH: 'false',
        AUTH_JWT_SECRET: STACK_JWT_SECRET,
        AUTH_CLINICS: 'test',
        [INTERNAL_TOKEN_SECRET_ENV]: STACK_INTERNAL_TOKEN_SECRET,
        GATEWAY_CONFIG: fromRoot('schema', 'gateway.json'),
        HEALTH_CHECK_INTERVAL_MS: '0',
        UPSTREAM_MAX_RETRIES: '0',
        CACHE_ENABLED: 'false',
        ...urls,
        [subgraphUrlEnv(down)]: await deadUrl(),
      }),
      { bus: stack.bus },
    );
    try {
      const response = await fetch(gateway.graphqlUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${stack.token}` },
        body: JSON.stringify({ query: QUERY }),
      });
      return (await response.json()) as { data: any; errors?: Array<{ path?: Array<string | number>; extensions?: Record<string, unknown> }> };
    } finally {
      await gateway.stop();
    }
  }

  const errorsAt = (errors: Array<{ path?: Array<string | number>; extensions?: Record<string, unknown> }> | undefined, down: string) => {
    for (const error of errors ?? []) expect(error.extensions).toMatchObject({ code: 'UPSTREAM_UNAVAILABLE', serviceName: down });
    return (errors ?? []).map((error) => error.path?.join('.'));
  };

  it.each([
    ['crm', 'crmContact'],
    ['payments', 'payments'],
    ['sync', 'syncStatus'],
  ])('without %s, each patient is served with only its %s null, at its path', async (down, field) => {
    const { data, errors } = await askWithout(down);
    const nodes = data.patients.nodes as Array<Record<string, unknown>>;
    expect(nodes).toHaveLength(3);
    for (const node of nodes) {
      expect(node.fullName).toEqual(expect.any(String));
      expect(node[field]).toBeNull();
      for (const other of ['crmContact', 'payments', 'syncStatus'].filter((name) => name !== field)) expect(node[other]).not.toBeNull();
    }
    expect(errorsAt(errors, down).sort()).toEqual([0, 1, 2].map((index) => `patients.nodes.${index}.${field}`));
  });

  it('without calendar, each appointment is served with only its calendar event null, at its path', async () => {
    const { data, errors } = await askWithout('calendar');
    const expected: string[] = [];
    (data.patients.nodes as Array<{ appointments: Array<{ status: string; calendarEvent: unknown }> }>).forEach((node, index) => {
      node.appointments.forEach((appointment, position) => {
        expect(appointment.status).toEqual(expect.any(String));
        expect(appointment.calendarEvent).toBeNull();
        expected.push(`patients.nodes.${index}.appointments.${position}.calendarEvent`);
      });
    });
    expect(expected.length).toBeGreaterThan(0);
    expect(errorsAt(errors, 'calendar').sort()).toEqual(expected.sort());
  });

  it('without semble, the root list it serves is null with its path, and nothing else is asked', async () => {
    const { data, errors } = await askWithout('semble');
    expect(data).toEqual({ patients: null });
    expect(errorsAt(errors, 'semble')).toEqual(['patients']);
  });
});
