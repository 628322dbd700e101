/**
 * What the connector tests share: the connectors emulator on port 0 (disposed after the file),
 * a message to deliver, and small clients of the emulator's admin routes.
 */
import { startConnectorsEmulator } from '../emulator/server';
import type { ConnectorsEmulator, ConnectorsEmulatorOptions } from '../emulator/server';
import type { CascadeMessage } from '../src/connectors/types';

export const TOKEN = 'connectors-test-token';

/** Start the emulator before the file's tests and stop it after; the getter returns it. */
export function useConnectorsEmulator(options: Partial<ConnectorsEmulatorOptions> = {}): () => ConnectorsEmulator {
  let emulator: ConnectorsEmulator | undefined;
  beforeAll(async () => {
    emulator = await startConnectorsEmulator({ token: TOKEN, ...options });
  });
  afterAll(async () => {
    await emulator?.stop();
  });
  beforeEach(async () => {
    emulator?.clearReceived();
    await fetch(`${emulator!.url}/__admin/faults`, { method: 'DELETE' });
  });
  return () => {
    if (!emulator) throw new Error('the connectors emulator has not started');
    return emulator;
  };
}

export function message(overrides: Partial<CascadeMessage> = {}): CascadeMessage {
  return {
    idempotencyKey: 'evt-1001:welcome',
    eventId: 'evt-1001',
    eventType: 'patient.created',
    occurredAt: '2026-11-30T09:15:00.000Z',
    step: 'welcome',
    fields: { patientId: 'pat-42', firstName: 'Ada', lastName: 'Lovelace', email: 'Ada.Lovelace@example.org', phone: '+447700900123' },
    text: 'New patient pat-42 registered',
    options: {},
    ...overrides,
  };
}

/** Make the vendor under `pathPrefix` answer `status` (with Retry-After when given) for `times` requests. */
export async function injectFault(emulator: ConnectorsEmulator, fault: { pathPrefix: string; status: number; retryAfterSeconds?: number; times?: number }): Promise<void> {
  const response = await fetch(`${emulator.url}/__admin/faults`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ times: 1, ...fault }) });
  if (response.status !== 204) throw new Error(`fault not accepted: HTTP ${response.status}`);
}

export const never = new AbortController().signal;
