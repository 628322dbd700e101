import { createConnector } from '../src/connectors';
import { TOKEN, message, never, useConnectorsEmulator } from './connectors-harness';

const emulator = useConnectorsEmulator();

describe('the Slack connector', () => {
  const slack = (fields = ['patientId']) => createConnector('front-desk', { kind: 'slack', urlEnv: 'SLACK_URL', fields }, { SLACK_URL: `${emulator().url}/services/T0001/B0001/${TOKEN}` });

  it('posts the step text as Slack message JSON and Slack answers "ok"', async () => {
    expect(await slack().send(message({ text: 'New patient pat-42: please call' }), never)).toEqual({ status: 'sent', httpStatus: 200 });
    expect(emulator().received('slack').map((r) => r.body)).toEqual([{ text: 'New patient pat-42: please call' }]);
  });

  it('posts the event type and step, and no field values, when the step has no template', async () => {
    await slack(['patientId', 'firstName']).send(message({ text: undefined }), never);
    expect(emulator().received('slack')[0].body).toEqual({ text: 'patient.created (welcome)' });
  });

  it('keeps the webhook URL (its credential) out of configuration errors', () => {
    expect(() => createConnector('s', { kind: 'slack', urlEnv: 'SLACK_URL', fields: [] }, { SLACK_URL: 'not a url secret-part' })).toThrow(
      'connectors.s.urlEnv: expected the variable SLACK_URL to hold an http(s) URL, found a string (hidden)',
    );
    expect(() => createConnector('s', { kind: 'slack', urlEnv: 'SLACK_URL', fields: [] }, {})).toThrow('expected the variable SLACK_URL to be set');
  });
});

describe('the Microsoft Teams connector', () => {
  const workflowsUrl = () => `${emulator().url}/workflows/wf1/triggers/manual/paths/invoke?api-version=2016-06-01&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig=${TOKEN}`;

  it('posts a message with one Adaptive Card (title, then the text) to a Workflows URL, answered 202', async () => {
    const teams = createConnector('clinic', { kind: 'teams', urlEnv: 'TEAMS_URL', title: 'Front desk', fields: ['patientId'] }, { TEAMS_URL: workflowsUrl() });
    expect(await teams.send(message({ text: 'Appointment booked for pat-42' }), never)).toEqual({ status: 'sent', httpStatus: 202 });
    expect(emulator().received('teams')[0].body).toEqual({
      type: 'message',
      attachments: [
        {
          contentType: 'application/vnd.microsoft.card.adaptive',
          contentUrl: null,
          content: {
            $schema: 'http://adaptivecards.io/schemas/adaptive-card.json',
            type: 'AdaptiveCard',
            version: '1.4',
            body: [
              { type: 'TextBlock', text: 'Front desk', weight: 'Bolder', size: 'Medium', wrap: true },
              { type: 'TextBlock', text: 'Appointment booked for pat-42', wrap: true },
            ],
          },
        },
      ],
    });
  });

  it('posts the same card to a legacy webhookb2 connector URL, answered 200 "1"', async () => {
    const url = `${emulator().url}/webhookb2/group1@tenant1/IncomingWebhook/${TOKEN}/user1`;
    const teams = createConnector('legacy', { kind: 'teams', urlEnv: 'TEAMS_URL', fields: [] }, { TEAMS_URL: url });
    expect(await teams.send(message(), never)).toEqual({ status: 'sent', httpStatus: 200 });
    const wrong = createConnector('legacy', { kind: 'teams', urlEnv: 'TEAMS_URL', fields: [] }, { TEAMS_URL: url.replace(TOKEN, 'wrong') });
    expect(await wrong.send(message(), never)).toMatchObject({ status: 'failed', httpStatus: 404 });
  });
});
