import { createConnector } from '../src/connectors';
import { TOKEN, message, never, useConnectorsEmulator } from './connectors-harness';

const emulator = useConnectorsEmulator();
const SID = `AC${'0'.repeat(32)}`;

function twilio(overrides: Record<string, unknown> = {}, token = TOKEN) {
  return createConnector('sms', { kind: 'twilio', baseUrl: emulator().url, accountSid: SID, authTokenEnv: 'TWILIO_TOKEN', from: '+447700900001', fields: ['phone'], ...overrides }, { TWILIO_TOKEN: token });
}

describe('the Twilio SMS connector', () => {
  it("sends To from the patient's phone and Body from the text, form-encoded with Basic AccountSid:AuthToken", async () => {
    const outcome = await twilio().send(message({ text: 'Welcome to the clinic' }), never);
    expect(outcome).toMatchObject({ status: 'sent', httpStatus: 201 });
    expect((outcome as { externalId?: string }).externalId).toMatch(/^SM[0-9a-f]{32}$/);
    expect(emulator().received('twilio').map((r) => r.body)).toEqual([{ To: '+447700900123', From: '+447700900001', Body: 'Welcome to the clinic' }]);
  });

  it('sends through a Messaging Service instead of a number when configured', async () => {
    const mg = `MG${'1'.repeat(32)}`;
    await twilio({ from: undefined, messagingServiceSid: mg }).send(message(), never);
    expect(emulator().received('twilio')[0].body).toEqual({ To: '+447700900123', MessagingServiceSid: mg, Body: 'New patient pat-42 registered' });
  });

  it('fails, without sending, a message with no phone or a step with no text', async () => {
    expect(await twilio().send(message({ fields: {} }), never)).toEqual({ status: 'failed', reason: 'twilio "sms": the message has no phone' });
    expect(await twilio().send(message({ text: undefined }), never)).toEqual({ status: 'failed', reason: 'twilio "sms": the step has no text to send' });
    expect(emulator().received('twilio')).toEqual([]);
  });

  it("fails when Twilio refuses the number (21211), with no number in the reason", async () => {
    const outcome = await twilio().send(message({ fields: { phone: '07700 900123' } }), never);
    expect(outcome).toEqual({ status: 'failed', httpStatus: 400, reason: 'twilio "sms" answered HTTP 400' });
  });

  it('refuses configurations without exactly one sender, or whose phone field is not listed', () => {
    expect(() => twilio({ from: undefined })).toThrow('connectors.sms.from: expected exactly one of from and messagingServiceSid');
    expect(() => twilio({ fields: ['patientId'] })).toThrow('connectors.sms.toField: expected one of the entry\'s fields ("patientId"), found "phone"');
    expect(() => twilio({ accountSid: 'AC123' })).toThrow('connectors.sms.accountSid: expected AC followed by 32 hex digits, found "AC123"');
  });
});
