/**
 * Who sees what of a patient, through the real stack, per role and field category, over HTTP and
 * over a subscription's events. The table below is the oracle, written here by hand from the
 * data stewardship rules (domain.md), not taken from the gateway's configuration.
 */
import { createClient } from 'graphql-ws';
import type { Client } from 'graphql-ws';
import WebSocket from 'ws';
import { signToken } from '../gateway/src/auth';
import { waitFor } from '../lib/event-bus/test/wait-for';
import { STACK_JWT_SECRET, startPatientGraph } from './stack';
import type { PatientGraphStack } from './stack';

type Category = 'demographics' | 'identifiers' | 'clinical' | 'financial' | 'marketing' | 'sync';

/** One field of each category, and how to tell it was answered. */
const FIELDS: Record<Category, { field: string; selection: string }> = {
  demographics: { field: 'fullName', selection: 'fullName' },
  identifiers: { field: 'nhsNumber', selection: 'nhsNumber' },
  clinical: { field: 'appointments', selection: 'appointments { status }' },
  financial: { field: 'invoices', selection: 'invoices { total }' },
  marketing: { field: 'crmContact', selection: 'crmContact { lifecycleStage }' },
  sync: { field: 'syncStatus', selection: 'syncStatus { state }' },
};

const SEES: Record<string, Category[]> = {
  clinician: ['demographics', 'identifiers', 'clinical'],
  admin: ['demographics', 'identifiers', 'clinical', 'financial', 'sync'],
  marketing: ['demographics', 'marketing'],
  finance: ['demographics', 'financial'],
  // Research without direct identifiers.
  analyst: ['clinical', 'financial', 'marketing'],
  integration: ['demographics', 'identifiers', 'clinical', 'financial', 'marketing', 'sync'],
  nobody: [],
};

const token = (role: string) => signToken(STACK_JWT_SECRET, { subject: `${role}-user`, roles: role === 'nobody' ? [] : [role], clinic: 'test' });

describe('access to patient data by role', () => {
  let stack: PatientGraphStack;
  let patientId: string;
  beforeAll(async () => {
    stack = await startPatientGraph({ patients: 40 });
    const { world } = stack;
    // A patient with something in every category.
    patientId = world.patients.find(
      (p) => p.nhsNumber && world.bookings.some((b) => b.patientId === p.id) && world.invoices.some((i) => i.patientId === p.id) && world.contacts.some((c) => c.patientId === p.id),
    )!.id;
  });
  afterAll(async () => {
    await stack?.stop();
  });

  const everything = `query($id: ID!) { patient(id: $id) { id ${Object.values(FIELDS).map((f) => f.selection).join(' ')} } }`;

  it.each(Object.keys(SEES))('over HTTP, %s sees exactly its categories of a patient', async (role) => {
    const answer = await stack.query(everything, { id: patientId }, { token: token(role) });
    expect(answer.status).toBe(200);
    const patient = answer.data.patient;
    expect(patient.id).toBe(patientId);
    const withheld = (answer.errors ?? []).filter((error) => error.extensions?.code === 'UNAUTHORIZED_FIELD_OR_TYPE').map((error) => error.path.join('.'));
    for (const [category, { field }] of Object.entries(FIELDS) as Array<[Category, { field: string }]>) {
      if (SEES[role]!.includes(category)) {
        expect({ category, value: patient[field] }).toEqual({ category, value: expect.anything() });
      } else {
        expect({ category, value: patient[field] }).toEqual({ category, value: null });
        expect(withheld).toContain(`patient.${field}`);
      }
    }
    expect(withheld).toHaveLength(Object.keys(FIELDS).length - SEES[role]!.length);
  });

  it('lets only admin resolve conflicts, and admin and integration redrive dead letters', async () => {
    for (const role of Object.keys(SEES)) {
      const resolve = await stack.query('mutation { resolveConflict(id: "no-such-conflict", resolution: KEEP_SEMBLE) { id } }', undefined, { token: token(role) });
      const code = resolve.errors?.[0]?.extensions?.code;
      // Admin reaches the sync service, which knows no such conflict; everyone else is stopped at the gateway.
      expect({ role, code }).toEqual({ role, code: role === 'admin' ? 'NOT_FOUND' : 'UNAUTHORIZED_FIELD_OR_TYPE' });
      const redrive = await stack.query('mutation { redriveDeadLetters { redriven } }', undefined, { token: token(role) });
      const allowed = role === 'admin' || role === 'integration';
      expect({ role, data: redrive.data?.redriveDeadLetters ?? null }).toEqual({ role, data: allowed ? { redriven: 0 } : null });
    }
  });

  it('lets only the roles that review the sync (admin, integration) read the worklists', async () => {
    const worklists = '{ heldPatients { totalCount } flaggedPatients { totalCount } conflicts(status: OPEN) { totalCount } }';
    for (const role of Object.keys(SEES)) {
      const answer = await stack.query(worklists, undefined, { token: token(role) });
      const reads = SEES[role]!.includes('sync');
      const lists = ['heldPatients', 'flaggedPatients', 'conflicts'].map((field) => [field, answer.data?.[field] ?? null]);
      expect({ role, lists }).toEqual({
        role,
        lists: [
          ['heldPatients', reads ? { totalCount: expect.any(Number) } : null],
          ['flaggedPatients', reads ? { totalCount: expect.any(Number) } : null],
          ['conflicts', reads ? { totalCount: expect.any(Number) } : null],
        ],
      });
      const refused = (answer.errors ?? []).filter((error) => error.extensions?.code === 'UNAUTHORIZED_FIELD_OR_TYPE').length;
      expect({ role, refused }).toEqual({ role, refused: reads ? 0 : 3 });
    }
  });

  describe('over a subscription', () => {
    const clients: Client[] = [];
    const connect = (role: string) => {
      const client = createClient({
        url: stack.gateway.graphqlUrl.replace('http://', 'ws://'),
        webSocketImpl: WebSocket,
        connectionParams: { authorization: `Bearer ${token(role)}` },
        retryAttempts: 0,
      });
      clients.push(client);
      return client;
    };
    afterAll(async () => {
      for (const client of clients) await client.dispose();
    });

    it('refuses the subscription to a role that may not read sync events', async () => {
      const results: any[] = [];
      await new Promise<void>((resolve) => {
        connect('marketing').subscribe(
          { query: 'subscription { syncEvents { id } }' },
          {
            next: (result) => void results.push(result),
            // An operation the server refuses ends with `error`, not `complete`.
            error: (error) => {
              results.push({ error });
              resolve();
            },
            complete: resolve,
          },
        );
      });
      expect(results).toEqual([{ error: [expect.objectContaining({ extensions: expect.objectContaining({ code: 'UNAUTHORIZED_FIELD_OR_TYPE' }) })] }]);
    });

    it('masks each event for the subscriber: admin gets the patient, without its CRM fields', async () => {
      const results: any[] = [];
      const client = connect('admin');
      client.subscribe(
        { query: 'subscription($id: ID) { syncEvents(patientId: $id) { type patient { id nhsNumber crmContact { lifecycleStage } } } }', variables: { id: patientId } },
        { next: (result) => void results.push(result), error: (error) => void results.push({ error }), complete: () => undefined },
      );
      await waitFor('the subscription to start', async () => {
        const metrics = await (await fetch(`${stack.gateway.url}/metrics`)).text();
        return /^gateway_subscriptions_active [1-9]/m.test(metrics);
      });
      const changed = await fetch(`${stack.emulators.semble}/__admin/patients/${patientId}`, {
        method: 'PATCH',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ firstName: 'Imogen' }),
      });
      expect(changed.status).toBe(200);
      await waitFor('an event about the patient', () => results.length > 0, 15_000);
      const [event] = results;
      expect(event.data.syncEvents.patient).toEqual({ id: patientId, nhsNumber: expect.any(String), crmContact: null });
      expect(event.errors).toEqual([expect.objectContaining({ path: ['syncEvents', 'patient', 'crmContact'], extensions: expect.objectContaining({ code: 'UNAUTHORIZED_FIELD_OR_TYPE' }) })]);
    });
  });
});
