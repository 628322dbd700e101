import { createConnector } from '../src/connectors';
import { TOKEN, message, never, useConnectorsEmulator } from './connectors-harness';

const emulator = useConnectorsEmulator();

function jira(overrides: Record<string, unknown> = {}) {
  return createConnector(
    'ops',
    { kind: 'jira', baseUrl: emulator().url, email: 'cascade@clinic.example', apiTokenEnv: 'JIRA_TOKEN', projectKey: 'OPS', labels: ['cascade'], fields: ['patientId'], ...overrides },
    { JIRA_TOKEN: TOKEN },
  );
}

describe('the Jira connector', () => {
  it('creates an issue (summary from the first line, ADF description, labels) and returns its key', async () => {
    const outcome = await jira().send(message({ eventType: 'conflict.opened', text: 'Review conflict on pat-42\nemail changed on both sides' }), never);
    expect(outcome).toEqual({ status: 'sent', externalId: 'OPS-1', httpStatus: 201 });
    const [received] = emulator().received('jira');
    const fields = (received.body as { fields: Record<string, unknown> }).fields;
    expect(fields).toMatchObject({
      project: { key: 'OPS' },
      summary: 'Review conflict on pat-42',
      issuetype: { name: 'Task' },
      description: {
        type: 'doc',
        version: 1,
        content: [
          { type: 'paragraph', content: [{ type: 'text', text: 'Review conflict on pat-42' }] },
          { type: 'paragraph', content: [{ type: 'text', text: 'email changed on both sides' }] },
        ],
      },
    });
    expect(fields.labels).toEqual(['cascade', received.idempotencyKey]);
  });

  it("takes project, issue type and summary from the step's options", async () => {
    expect(await jira().send(message({ options: { projectKey: 'REV', issueType: 'Bug', summary: 'Conflict' } }), never)).toMatchObject({ externalId: 'REV-1' });
    expect((emulator().received('jira')[0].body as { fields: unknown }).fields).toMatchObject({ project: { key: 'REV' }, issuetype: { name: 'Bug' }, summary: 'Conflict' });
  });

  it('fails a step whose options are not valid, naming the option', async () => {
    expect(await jira().send(message({ options: { projectKey: 'lower' } }), never)).toEqual({ status: 'failed', reason: 'jira "ops": step options projectKey are not valid' });
  });

  it('keeps the summary within Jira’s 255 characters', async () => {
    expect(await jira().send(message({ text: 'x'.repeat(400) }), never)).toMatchObject({ status: 'sent' });
    expect(((emulator().received('jira')[0].body as { fields: { summary: string } }).fields.summary).length).toBe(255);
  });
});

describe('the Asana connector', () => {
  it('creates a task in the project (name from the first line, notes the text) and returns its gid', async () => {
    const asana = createConnector('tasks', { kind: 'asana', baseUrl: emulator().url, tokenEnv: 'ASANA_TOKEN', projectGid: '1201', assigneeGid: '77', fields: ['patientId'] }, { ASANA_TOKEN: TOKEN });
    const outcome = await asana.send(message({ text: 'Call new patient pat-42\nwithin 24 hours' }), never);
    expect(outcome).toMatchObject({ status: 'sent', httpStatus: 201 });
    expect((outcome as { externalId?: string }).externalId).toMatch(/^\d+$/);
    expect(emulator().received('asana')[0].body).toEqual({ data: { name: 'Call new patient pat-42', notes: 'Call new patient pat-42\nwithin 24 hours', projects: ['1201'], assignee: '77' } });
  });
});
