/**
 * The audit trail through the real stack: a read made a moment ago is on it (who, how, which
 * operation, which patients, which field categories, whether the cache served it), so is a
 * subscription and each event it was sent, and only an admin can read it. Ids only: no value of
 * the patient's is in a record.
 */
import { createClient } from 'graphql-ws';
import type { Client } from 'graphql-ws';
import WebSocket from 'ws';
import { signToken } from '../gateway/src/auth';
import { waitFor } from '../lib/event-bus/test/wait-for';
import { STACK_JWT_SECRET, startPatientGraph } from './stack';
import type { PatientGraphStack } from './stack';

const token = (subject: string, roles: string[]) => signToken(STACK_JWT_SECRET, { subject, roles, clinic: 'test' });
const ADMIN = token('auditor', ['admin']);
const AUDIT = `query($patientId: ID, $subject: String) {
  auditRecords(patientId: $patientId, subject: $subject) {
    nodes { id at subject roles clinic transport operationType operationName operationHash patientIds categories fromCache outcome }
  }
}`;

describe('the audit trail', () => {
  let stack: PatientGraphStack;
  let client: Client | undefined;
  beforeAll(async () => {
    stack = await startPatientGraph({ patients: 30 });
  });
  afterAll(async () => {
    await client?.dispose();
    await stack?.stop();
  });

  const recordsOf = async (variables: Record<string, unknown>) => {
    const answer = await stack.query(AUDIT, variables, { token: ADMIN });
    expect(answer.errors).toBeUndefined();
    return answer.data.auditRecords.nodes as Array<Record<string, any>>;
  };

  it('records a read a moment after it was made, with who, what and whether the cache served it', async () => {
    const patient = stack.world.patients.find((p) => p.nhsNumber && p.email)!;
    const read = 'query PatientCard($id: ID!) { patient(id: $id) { fullName nhsNumber appointments { status } } }';
    const asClinician = token('dr-who', ['clinician']);
    for (let i = 0; i < 2; i++) expect((await stack.query(read, { id: patient.id }, { token: asClinician })).errors).toBeUndefined();

    let records: Array<Record<string, any>> = [];
    await waitFor('both reads on the trail', async () => (records = await recordsOf({ patientId: patient.id, subject: 'dr-who' })).length === 2);
    expect(records[0]).toEqual({
      id: expect.any(String),
      at: expect.any(String),
      subject: 'dr-who',
      roles: ['clinician'],
      clinic: 'test',
      transport: 'HTTP',
      operationType: 'QUERY',
      operationName: 'PatientCard',
      operationHash: expect.stringMatching(/^[0-9a-f]{64}$/),
      patientIds: [patient.id],
      categories: expect.arrayContaining(['patient:demographics', 'patient:identifiers', 'patient:clinical']),
      fromCache: false,
      outcome: 'OK',
    });
    expect(records[1]).toMatchObject({ operationHash: records[0]!.operationHash, fromCache: true });
    // Ids and names of things, never the patient's values.
    const text = JSON.stringify(records);
    for (const value of [patient.nhsNumber!, patient.email!, patient.lastName]) expect(text).not.toContain(value);
  });

  it('records a subscription and every event it was sent, with the patient the event showed', async () => {
    const patient = stack.world.patients.find((p) => p.nhsNumber && stack.world.contacts.some((c) => c.patientId === p.id))!;
    const results: unknown[] = [];
    client = createClient({
      url: stack.gateway.graphqlUrl.replace('http://', 'ws://'),
      webSocketImpl: WebSocket,
      connectionParams: { authorization: `Bearer ${ADMIN}` },
      retryAttempts: 0,
    });
    client.subscribe(
      { query: 'subscription Watch($id: ID) { syncEvents(patientId: $id) { type patient { id nhsNumber } } }', variables: { id: patient.id } },
      { next: (result) => void results.push(result), error: (error) => void results.push({ error }), complete: () => undefined },
    );
    await waitFor('the subscription on the trail', async () => (await recordsOf({ subject: 'auditor' })).some((r) => r.transport === 'WEBSOCKET' && r.operationName === 'Watch'));
    const changed = await fetch(`${stack.emulators.semble}/__admin/patients/${patient.id}`, {
      method: 'PATCH',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ firstName: 'Audited' }),
    });
    expect(changed.status).toBe(200);
    await waitFor('an event for the subscriber', () => results.length > 0, 15_000);
    let events: Array<Record<string, any>> = [];
    await waitFor('the event on the trail', async () => (events = (await recordsOf({ patientId: patient.id, subject: 'auditor' })).filter((r) => r.transport === 'SUBSCRIPTION_EVENT')).length > 0);
    expect(events[0]).toMatchObject({ operationType: 'QUERY', patientIds: [patient.id], categories: expect.arrayContaining(['sync:read', 'patient:identifiers']) });
  });

  it('is read by admins only', async () => {
    const answer = await stack.query(AUDIT, {}, { token: token('dr-who', ['clinician']) });
    expect(answer.data).toEqual({ auditRecords: null });
    expect(answer.errors?.[0]?.extensions?.code).toBe('UNAUTHORIZED_FIELD_OR_TYPE');
  });
});
