/**
 * The new-patient cascade through the real stack (test/stack.ts): a patient created in the Semble
 * emulator reaches the sync service as Semble's webhook, the cascade takes it from the bus, reads
 * the patient back from Semble and delivers every configured step (subgraphs/cascade/cascade.json)
 * through the real connectors to the connectors emulator, which checks each vendor's credentials
 * and signatures and counts what it received. A connector failing for a while gets its step once
 * it recovers; one that stays down ends in the dead letters and a redrive through the gateway
 * delivers it once; the analytics vendor gets no PHI; the steps show on the patient through the
 * gateway and are pushed over a graphql-ws subscription. Appointment flows: a booking and a
 * missed appointment each send their SMS once; a moved and a cancelled booking, a declined Stripe
 * payment and an opened sync conflict set off their own steps.
 */
import { createClient } from 'graphql-ws';
import type { Client } from 'graphql-ws';
import WebSocket from 'ws';
import { signToken } from '../gateway/src/auth';
import { STACK_JWT_SECRET, startPatientGraph, VENDOR_TOKENS } from './stack';
import type { PatientGraphStack } from './stack';

async function until<T>(check: () => Promise<T | undefined | false> | T | undefined | false, what: string, timeoutMs = 90_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

interface Received {
  vendor: string;
  path: string;
  idempotencyKey?: string;
  signatureValid: boolean;
  duplicate: boolean;
  status: number;
  body: unknown;
}

interface StepView {
  id: string;
  step: string;
  state: string;
  attempts: number;
  connector: string;
  kind: string;
  lastError: { code: string } | null;
}

const STEPS_OF = `query ($id: ID!) { patient(id: $id) { id cascadeSteps { id step state attempts connector kind lastError { code } } } }`;
const SETTLED = new Set(['SENT', 'DEAD', 'SKIPPED']);

describe('the new-patient cascade through the real stack', () => {
  let stack: PatientGraphStack;
  let client: Client;

  beforeAll(async () => {
    stack = await startPatientGraph({
      cascadeEnv: {
        // Short-term steps due 10 s after the event: time for the sync to create the new contact and
        // for the test to record its consent before the marketing step asks (a busy 2-core CI
        // machine can take seconds for the first; 3 s raced).
        CASCADE_SHORT_TERM_DELAY_MS: '10000',
        CASCADE_MAX_ATTEMPTS: '3',
        CASCADE_RETRY_BASE_MS: '100',
        CASCADE_RETRY_MAX_MS: '400',
        CASCADE_BREAKER_THRESHOLD: '2',
        CASCADE_BREAKER_HALF_OPEN_MS: '500',
        CASCADE_CONSENT_RETRY_MS: '200',
      },
    });
    client = createClient({
      url: stack.gateway.graphqlUrl.replace('http://', 'ws://'),
      webSocketImpl: WebSocket,
      connectionParams: { authorization: `Bearer ${stack.token}` },
      retryAttempts: 0,
    });
  });
  afterAll(async () => {
    await client?.dispose();
    await stack?.stop();
  });

  const json = async <T>(response: Response, what: string): Promise<T> => {
    if (!response.ok) throw new Error(`${what}: ${response.status} ${await response.text()}`);
    return (response.status === 204 ? undefined : await response.json()) as T;
  };
  const received = async (vendor: string) => json<Received[]>(await fetch(`${stack.connectors}/__admin/received?vendor=${vendor}`), `received ${vendor}`);
  const fault = async (body: Record<string, unknown>) =>
    json(await fetch(`${stack.connectors}/__admin/faults`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }), 'fault');
  const stepsOf = async (patientId: string) => {
    const answer = await stack.query<{ patient: { cascadeSteps: StepView[] } }>(STEPS_OF, { id: patientId });
    if (answer.errors) throw new Error(JSON.stringify(answer.errors));
    return Object.fromEntries((answer.data?.patient.cascadeSteps ?? []).map((step) => [step.step, step])) as Record<string, StepView>;
  };
  const settled = (patientId: string, names: readonly string[]) =>
    until(async () => {
      const steps = await stepsOf(patientId);
      return names.every((name) => steps[name] && SETTLED.has(steps[name].state)) && steps;
    }, `steps ${names.join(', ')} of the new patient to settle`);
  /** Gives the sync-created HubSpot contact of the patient marketing consent, once the contact exists. */
  const recordConsent = async (patientId: string) => {
    const contactId = await until(async () => {
      const response = await fetch(`${stack.emulators.hubspot}/crm/v3/objects/contacts/search`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${VENDOR_TOKENS.hubspot}` },
        body: JSON.stringify({ filterGroups: [{ filters: [{ propertyName: 'semble_patient_id', operator: 'EQ', value: patientId }] }], properties: ['semble_patient_id'], limit: 1 }),
      });
      const found = await json<{ results: Array<{ id: string }> }>(response, 'contact search');
      return found.results[0]?.id;
    }, 'the sync to create the CRM contact');
    await json(
      await fetch(`${stack.emulators.hubspot}/__admin/contacts/${contactId}`, {
        method: 'PATCH',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ properties: { marketing_consent: 'true' } }),
      }),
      'consent',
    );
  };

  it('delivers every step once, recovers a failing connector, dead-letters one that stays down until redrive, and sends analytics no PHI', async () => {
    const changes: any[] = [];
    const dispose = client.subscribe(
      { query: 'subscription { cascadeSteps { cursor state attempts errorCode step { id step connector patient { id } } } }' },
      { next: (result) => void changes.push(result), error: (error) => void changes.push({ error }), complete: () => undefined },
    );
    // Slack fails twice and then recovers; Jira stays down.
    await fault({ pathPrefix: '/services/', status: 503, times: 2 });
    await fault({ pathPrefix: '/rest/api/3/', status: 503 });

    const created = await json<{ data: { createPatient: { data: { id: string; createdAt: string } | null; error: string | null } } }>(
      await fetch(`${stack.emulators.semble}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-token': VENDOR_TOKENS.semble },
        body: JSON.stringify({
          query: `mutation { createPatient(patientData: {first: "Marguerite", last: "Quillfeather", email: "m.quillfeather@example.org", dob: "1987-04-23", phone: "07700 900461", city: "York"}) { data { id createdAt } error } }`,
        }),
      }),
      'createPatient',
    );
    expect(created.data.createPatient.error).toBeNull();
    const patientId = created.data.createPatient.data!.id;
    const eventId = `semble:patient:${patientId}:created`;
    await recordConsent(patientId);

    const names = ['welcome-email', 'staff-notification', 'follow-up-call-task', 'marketing-sequence', 'analytics-event'];
    const steps = await settled(patientId, names);
    expect(Object.keys(steps).sort()).toEqual([...names].sort());
    expect(steps['welcome-email']).toMatchObject({ state: 'SENT', attempts: 1, connector: 'n8n', kind: 'webhook' });
    // Two 503s, then the breaker's half-open attempt gets through.
    expect(steps['staff-notification']).toMatchObject({ state: 'SENT', attempts: 3, kind: 'slack' });
    expect(steps['marketing-sequence']).toMatchObject({ state: 'SENT', kind: 'mailchimp' });
    expect(steps['analytics-event']).toMatchObject({ state: 'SENT', kind: 'ga4' });
    expect(steps['follow-up-call-task']).toMatchObject({ state: 'DEAD', attempts: 3, kind: 'jira', lastError: { code: 'HTTP_503' } });

    // What reached each vendor: once per step, signatures and credentials valid, no repeat.
    const webhook = await received('webhook');
    expect(webhook.map((entry) => entry.idempotencyKey)).toEqual([`${eventId}:welcome-email`]);
    expect(webhook[0]).toMatchObject({ signatureValid: true, duplicate: false, status: 200 });
    expect(webhook[0]?.body).toMatchObject({ type: 'patient.created', step: 'welcome-email', data: { patientId, firstName: 'Marguerite', email: 'm.quillfeather@example.org' } });
    const slack = await received('slack');
    expect(slack.map((entry) => [entry.idempotencyKey, entry.signatureValid, entry.duplicate, entry.status])).toEqual([[`${eventId}:staff-notification`, true, false, 200]]);
    const mailchimp = await received('mailchimp');
    expect(mailchimp.length).toBeGreaterThan(0);
    expect(mailchimp.every((entry) => entry.signatureValid && !entry.duplicate && entry.status < 300)).toBe(true);
    expect(mailchimp.map((entry) => entry.path)).toEqual(['/3.0/lists/:listId/members/:hash', '/3.0/lists/:listId/members/:hash/tags']);
    const ga4 = await received('ga4');
    expect(ga4).toHaveLength(1);
    expect(ga4[0]).toMatchObject({ signatureValid: true, duplicate: false });
    expect(await received('jira')).toEqual([]);

    // Analytics got ids and the event's name, nothing that identifies the person.
    const analyticsText = JSON.stringify(ga4);
    expect(analyticsText).toContain(patientId);
    for (const value of ['Marguerite', 'Quillfeather', 'm.quillfeather@example.org', 'quillfeather', '1987-04-23', '07700 900461', '447700900461', '7700900461', 'York']) {
      expect(analyticsText.toLowerCase()).not.toContain(value.toLowerCase());
    }

    // The dead letter, through the gateway, and its redrive once Jira is back.
    const dead = await stack.query<{ cascadeDeadLetters: Array<{ id: string; step: string; state: string }> }>('{ cascadeDeadLetters { id step state } }');
    expect(dead.data?.cascadeDeadLetters).toEqual([{ id: `${eventId}:follow-up-call-task`, step: 'follow-up-call-task', state: 'DEAD' }]);
    await json(await fetch(`${stack.connectors}/__admin/faults`, { method: 'DELETE' }), 'clear faults');
    const redriven = await stack.query<{ redriveCascadeSteps: { redriven: number } }>('mutation ($ids: [ID!]) { redriveCascadeSteps(ids: $ids) { redriven steps { id state } } }', {
      ids: [`${eventId}:follow-up-call-task`],
    });
    expect(redriven.errors).toBeUndefined();
    expect(redriven.data?.redriveCascadeSteps.redriven).toBe(1);
    await until(async () => (await stepsOf(patientId))['follow-up-call-task']?.state === 'SENT', 'the redriven step to be sent');
    const jira = await received('jira');
    expect(jira).toHaveLength(1);
    expect(jira[0]).toMatchObject({ signatureValid: true, duplicate: false, status: 201 });
    expect((await stack.query('{ cascadeDeadLetters { id } }')).data).toEqual({ cascadeDeadLetters: [] });

    // Pushed live: the subscriber saw the patient's steps change, the dead one and its redrive included.
    const mine = await until(() => {
      const ofPatient = changes.filter((change) => change.data?.cascadeSteps?.step?.patient?.id === patientId).map((change) => change.data.cascadeSteps);
      return ofPatient.some((change) => change.step.step === 'follow-up-call-task' && change.state === 'SENT') && ofPatient;
    }, 'the subscription to push the redriven step');
    dispose();
    expect(changes.filter((change) => change.errors || change.error)).toEqual([]);
    const statesOf = (name: string) => mine.filter((change: any) => change.step.step === name).map((change: any) => change.state);
    expect(statesOf('welcome-email')).toEqual(['PENDING', 'SENT']);
    expect(statesOf('follow-up-call-task')).toEqual(expect.arrayContaining(['PENDING', 'FAILED', 'DEAD', 'SENT']));

    // The seeded patients set off nothing: every step and every delivery is the new patient's.
    expect(await stepsOf(stack.world.patients[0]!.id)).toEqual({});
    const everything = await json<Received[]>(await fetch(`${stack.connectors}/__admin/received`), 'received');
    expect(everything.filter((entry) => entry.idempotencyKey?.startsWith('semble:') && !entry.idempotencyKey.startsWith(eventId))).toEqual([]);
  });

  it('texts a booked patient once to prepare, and once more to rebook when the appointment is missed', async () => {
    const made = await json<{ id: string }>(
      await fetch(`${stack.emulators.semble}/__admin/patients`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ firstName: 'Ottoline', lastName: 'Brackenbury', phone: '07700 900872', email: 'ottoline@example.org' }),
      }),
      'create patient',
    );
    await settled(made.id, ['welcome-email', 'staff-notification']);
    const booking = await json<{ id: string }>(
      await fetch(`${stack.emulators.semble}/__admin/bookings`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ patientId: made.id, start: '2031-02-03T10:00:00Z', end: '2031-02-03T10:30:00Z', location: 'Room 2' }),
      }),
      'book',
    );
    const booked = await settled(made.id, ['appointment-preparation', 'appointment-booked-analytics']);
    expect(booked['appointment-preparation']?.state).toBe('SENT');
    await json(
      await fetch(`${stack.emulators.semble}/__admin/bookings/${booking.id}`, { method: 'PATCH', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ attendance: 'DNA' }) }),
      'missed',
    );
    const missed = await settled(made.id, ['missed-appointment-rebooking']);
    expect(missed['missed-appointment-rebooking']?.state).toBe('SENT');

    const texts = (await received('twilio')).filter((entry) => (entry.body as { To?: string }).To === '+447700900872');
    expect(texts.map((entry) => entry.idempotencyKey)).toEqual([
      `semble:booking:${booking.id}:booked:appointment-preparation`,
      `semble:booking:${booking.id}:missed:missed-appointment-rebooking`,
    ]);
    expect(texts.every((entry) => entry.signatureValid && !entry.duplicate && entry.status === 201)).toBe(true);
    expect((texts[0]?.body as { Body: string }).Body).toBe('Hi Ottoline, your appointment is booked for 2031-02-03T10:00:00.000Z at Room 2. Please arrive 10 minutes early.');
  });

  it('shows steps to cascade:read roles only, redrives for cascade:admin only, and names a bad redrive argument', async () => {
    const as = (role: string) => signToken(STACK_JWT_SECRET, { subject: `a-${role}`, roles: [role], clinic: 'test' });
    const clinician = await stack.query('{ cascadeDeadLetters { id } }', {}, { token: as('clinician') });
    expect(clinician.errors?.map((error) => error.extensions?.code)).toEqual(['UNAUTHORIZED_FIELD_OR_TYPE']);
    const integration = await stack.query('mutation { redriveCascadeSteps(all: true) { redriven } }', {}, { token: as('integration') });
    expect(integration.errors?.map((error) => error.extensions?.code)).toEqual(['UNAUTHORIZED_FIELD_OR_TYPE']);
    const both = await stack.query('mutation { redriveCascadeSteps(ids: ["x"], all: true) { redriven } }');
    expect(both.errors?.[0]).toMatchObject({ message: expect.stringContaining('either `ids`'), extensions: { code: 'BAD_USER_INPUT' } });
    const tooMany = await stack.query('{ cascadeDeadLetters(first: 501) { id } }');
    expect(tooMany.errors?.[0]).toMatchObject({ message: 'first: expected 1 to 500, got 501', extensions: { code: 'BAD_USER_INPUT' } });
  });

  it('texts a moved and a cancelled booking, alerts finance of a declined payment, and opens a review task for a conflict', async () => {
    const made = await json<{ id: string }>(
      await fetch(`${stack.emulators.semble}/__admin/patients`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ firstName: 'Perpetua', lastName: 'Ashworth', phone: '07700 900315' }),
      }),
      'create patient',
    );
    const patientId = made.id;
    await settled(patientId, ['welcome-email', 'staff-notification']);
    const book = (start: string, end: string) =>
      fetch(`${stack.emulators.semble}/__admin/bookings`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ patientId, start, end, location: 'Room 3' }) }).then((r) =>
        json<{ id: string }>(r, 'book'),
      );
    const change = (id: string, body: unknown) =>
      fetch(`${stack.emulators.semble}/__admin/bookings/${id}`, { method: 'PATCH', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }).then((r) => json(r, 'change booking'));
    const moved = await book('2031-03-01T09:00:00Z', '2031-03-01T09:30:00Z');
    const cancelled = await book('2031-03-02T09:00:00Z', '2031-03-02T09:30:00Z');
    await settled(patientId, ['appointment-preparation']);
    await change(moved.id, { start: '2031-03-08T14:00:00Z', end: '2031-03-08T14:30:00Z' });
    await change(cancelled.id, { cancel: true });

    // A Stripe payment of the patient's, declined.
    const form = new URLSearchParams({ amount: '5000', currency: 'gbp', 'metadata[semble_patient_id]': patientId });
    const intent = await json<{ id: string }>(
      await fetch(`${stack.emulators.stripe}/v1/payment_intents`, { method: 'POST', headers: { authorization: `Bearer ${VENDOR_TOKENS.stripe}`, 'content-type': 'application/x-www-form-urlencoded' }, body: form }),
      'payment intent',
    );
    await json(
      await fetch(`${stack.emulators.stripe}/__admin/payment_intents/${intent.id}/transition`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ status: 'failed' }) }),
      'decline',
    );
    // A conflict opened by the sync service, as it publishes one.
    await stack.bus.publish({ topic: 'conflicts', type: 'conflict.opened', payload: { id: 'conflict-cascade-test', patientId, status: 'OPEN' } });

    const steps = await settled(patientId, ['rescheduled-confirmation', 'cancellation-rebooking', 'finance-alert', 'payment-failed-workflow', 'conflict-review-task']);
    for (const name of ['rescheduled-confirmation', 'cancellation-rebooking', 'finance-alert', 'payment-failed-workflow', 'conflict-review-task']) expect([name, steps[name]?.state]).toEqual([name, 'SENT']);

    const texts = (await received('twilio')).filter((entry) => (entry.body as { To?: string }).To === '+447700900315');
    expect(texts.map((entry) => (entry.body as { Body: string }).Body)).toEqual(
      expect.arrayContaining([
        'Hi Perpetua, your appointment has moved to 2031-03-08T14:00:00.000Z at Room 3.',
        'Hi Perpetua, your appointment on 2031-03-02T09:00:00.000Z is cancelled. Reply to book another time.',
      ]),
    );
    expect(texts.every((entry) => !entry.duplicate)).toBe(true);
    const finance = (await received('slack')).filter((entry) => JSON.stringify(entry.body).includes(intent.id));
    expect(finance.map((entry) => (entry.body as { text: string }).text)).toEqual([`Payment ${intent.id} (STRIPE) failed: 5000 GBP for patient ${patientId}.`]);
    const review = (await received('jira')).filter((entry) => JSON.stringify(entry.body).includes('conflict-cascade-test'));
    expect(review).toHaveLength(1);
    expect(review[0]?.body).toMatchObject({ fields: { project: { key: 'DATA' }, summary: 'Review a sync conflict' } });
  });

  it('creates a patient through the gateway (Mutation.createPatient), which sets off the cascade, for clinical roles only', async () => {
    const as = (role: string) => signToken(STACK_JWT_SECRET, { subject: `a-${role}`, roles: [role], clinic: 'test' });
    const CREATE = 'mutation ($input: NewPatientInput!) { createPatient(input: $input) { id fullName dateOfBirth phones { e164 } } }';
    const refused = await stack.query(CREATE, { input: { firstName: 'Not', lastName: 'Allowed' } }, { token: as('marketing') });
    expect(refused.errors?.map((error) => error.extensions?.code)).toEqual(['UNAUTHORIZED_FIELD_OR_TYPE']);
    const blank = await stack.query(CREATE, { input: { firstName: ' ', lastName: 'Blank' } }, { token: as('clinician') });
    expect(blank.errors?.[0]).toMatchObject({ message: 'input.firstName must not be blank', extensions: { code: 'BAD_USER_INPUT' } });

    const created = await stack.query<{ createPatient: { id: string; fullName: string; dateOfBirth: string; phones: Array<{ e164: string }> } }>(
      CREATE,
      { input: { firstName: 'Gwendolen', lastName: 'Fairfax', dateOfBirth: '1990-07-14', phone: '07911 123456', email: 'gwendolen@example.org' } },
      { token: as('clinician') },
    );
    expect(created.errors).toBeUndefined();
    expect(created.data?.createPatient).toMatchObject({ fullName: 'Gwendolen Fairfax', dateOfBirth: '1990-07-14', phones: [{ e164: '+447911123456' }] });
    const patientId = created.data!.createPatient.id;
    await settled(patientId, ['welcome-email']);
    const welcome = (await received('webhook')).filter((entry) => entry.idempotencyKey === `semble:patient:${patientId}:created:welcome-email`);
    expect(welcome).toMatchObject([{ signatureValid: true, duplicate: false, body: { text: 'Welcome to the clinic, Gwendolen.' } }]);
    // Refused requests created nothing in Semble.
    const named = await stack.query<{ patientsByEmail: unknown[] }>('{ patientsByEmail(email: "gwendolen@example.org") { id } }');
    expect(named.data?.patientsByEmail).toHaveLength(1);
  });
});
