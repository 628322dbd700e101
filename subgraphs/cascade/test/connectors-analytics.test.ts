/**
 * Analytics connectors hold no PHI: an entry listing a PHI field (or anything that is neither
 * an id nor an event attribute) is refused when the configuration is read, and what reaches the
 * vendor is ids and event attributes only, even when the message carries more.
 */
import { createConnector } from '../src/connectors';
import { TOKEN, message, never, useConnectorsEmulator } from './connectors-harness';

const emulator = useConnectorsEmulator();

// Written out here rather than imported: the test's own idea of what PHI is.
const PHI = ['firstName', 'lastName', 'email', 'phone', 'dateOfBirth', 'address', 'postcode', 'nhsNumber'];
const everything = {
  patientId: 'pat-42',
  appointmentId: 'apt-7',
  status: 'BOOKED',
  firstName: 'Ada',
  lastName: 'Lovelace',
  email: 'Ada.Lovelace@example.org',
  phone: '+447700900123',
  dateOfBirth: '1815-12-10',
  address: '12 St James Square',
  postcode: 'SW1Y 4JH',
  nhsNumber: '9434765919',
};
const phiValues = /Ada|Lovelace|example\.org|7700900123|1815|James|SW1Y|9434765919/;

const analytics = {
  ga4: (fields: string[]) =>
    createConnector('ga', { kind: 'ga4', baseUrl: emulator().url, measurementId: 'G-TEST1234', apiSecretEnv: 'GA_SECRET', fields }, { GA_SECRET: TOKEN }),
  mixpanel: (fields: string[]) =>
    createConnector('product', { kind: 'mixpanel', baseUrl: emulator().url, projectId: '3141', secretEnv: 'MP_SECRET', fields }, { MP_SECRET: TOKEN }),
};

describe.each(Object.entries(analytics))('the %s connector', (kind, make) => {
  it.each(PHI)('refuses at configuration time an entry that lists %s', (field) => {
    expect(() => make(['patientId', field])).toThrow(new RegExp(`connectors\\.\\w+\\.fields: expected ids .* as analytics must hold no PHI; found "${field}"`));
  });

  it('refuses a field that is neither an id nor an event attribute', () => {
    expect(() => make(['patientId', 'clinicalNote'])).toThrow('found "clinicalNote"');
  });

  it('accepts ids and event attributes', () => {
    expect(make(['patientId', 'appointmentId', 'status', 'appointmentType']).fields).toEqual(['patientId', 'appointmentId', 'status', 'appointmentType']);
  });

  it('sends ids and event attributes only, even when the message carries PHI', async () => {
    expect(await make(['patientId', 'appointmentId', 'status']).send(message({ eventType: 'appointment.booked', fields: everything }), never)).toMatchObject({ status: 'sent' });
    const received = emulator().received(kind);
    expect(received).toHaveLength(1);
    expect(received[0].signatureValid).toBe(true);
    const text = JSON.stringify(received[0].body);
    expect(text).not.toMatch(phiValues);
    expect(text).toContain('pat-42');
    expect(text).toContain('apt-7');
  });
});

describe('the GA4 connector', () => {
  it('sends a Measurement Protocol event named after the event type, with client_id the patient id', async () => {
    await analytics.ga4(['patientId', 'status']).send(message({ eventType: 'appointment.booked', fields: { patientId: 'pat-42', status: 'BOOKED' } }), never);
    const body = emulator().received('ga4')[0].body as { client_id: string; timestamp_micros: number; events: { name: string; params: Record<string, unknown> }[] };
    expect(body.client_id).toBe('pat-42');
    expect(body.timestamp_micros).toBe(Date.parse('2026-11-30T09:15:00.000Z') * 1000);
    expect(body.events).toHaveLength(1);
    expect(body.events[0].name).toBe('appointment_booked');
    expect(body.events[0].params).toMatchObject({ patientId: 'pat-42', status: 'BOOKED', step: 'welcome' });
  });

  it("produces events GA4's validation server has nothing to say about", async () => {
    let sent = '';
    const capture: typeof fetch = async (_url, init) => {
      sent = String(init?.body);
      return new Response(null, { status: 204 });
    };
    const connector = createConnector('ga', { kind: 'ga4', measurementId: 'G-TEST1234', apiSecretEnv: 'S', fields: ['patientId'] }, { S: TOKEN }, { fetch: capture });
    await connector.send(message({ eventType: 'payment.failed' }), never);
    const response = await fetch(`${emulator().url}/debug/mp/collect?measurement_id=G-TEST1234&api_secret=${TOKEN}`, { method: 'POST', body: sent });
    expect(await response.json()).toEqual({ validationMessages: [] });
  });

  it('never records the api_secret (it travels in the query string)', async () => {
    await analytics.ga4(['patientId']).send(message(), never);
    expect(JSON.stringify(emulator().received('ga4'))).not.toContain(TOKEN);
  });
});

describe('the Mixpanel connector', () => {
  it('imports one event with distinct_id the patient id, time in ms and an $insert_id Mixpanel deduplicates on', async () => {
    const connector = analytics.mixpanel(['patientId']);
    await connector.send(message(), never);
    await connector.send(message(), never);
    const [first, repeat] = emulator().received('mixpanel');
    expect(first.body).toEqual([
      {
        event: 'patient.created',
        properties: { patientId: 'pat-42', step: 'welcome', time: Date.parse('2026-11-30T09:15:00.000Z'), distinct_id: 'pat-42', $insert_id: first.idempotencyKey },
      },
    ]);
    expect(first.idempotencyKey).toMatch(/^[0-9a-f]{32}$/);
    expect([first.duplicate, repeat.duplicate]).toEqual([false, true]);
  });
});

describe('a switched-off entry', () => {
  it('needs no secrets and sends nothing, but its settings and the PHI rule are still checked', async () => {
    const off = createConnector('ga', { kind: 'ga4', enabled: false, baseUrl: emulator().url, measurementId: 'G-TEST1234', apiSecretEnv: 'GA_SECRET', fields: ['patientId'] }, {});
    expect(await off.send(message(), never)).toEqual({ status: 'failed', reason: 'ga4 "ga" is disabled' });
    expect(emulator().received()).toEqual([]);
    expect(() => createConnector('ga', { kind: 'ga4', enabled: false, measurementId: 'G-TEST1234', apiSecretEnv: 'GA_SECRET', fields: ['email'] }, {})).toThrow('found "email"');
    expect(() => createConnector('ga', { kind: 'ga4', enabled: false, measurementId: 'UA-1', apiSecretEnv: 'GA_SECRET', fields: [] }, {})).toThrow('connectors.ga.measurementId');
  });
});
