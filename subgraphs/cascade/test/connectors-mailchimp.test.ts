import { createHash } from 'node:crypto';
import { createConnector } from '../src/connectors';
import { TOKEN, injectFault, message, never, useConnectorsEmulator } from './connectors-harness';

const emulator = useConnectorsEmulator();
// Mailchimp's subscriber hash, written out: MD5 of the lower-cased address.
const HASH = createHash('md5').update('ada.lovelace@example.org').digest('hex');

function mailchimp(overrides: Record<string, unknown> = {}) {
  return createConnector(
    'newsletter',
    { kind: 'mailchimp', baseUrl: emulator().url, apiKeyEnv: 'MC_KEY', listId: 'aud1', fields: ['email', 'firstName', 'lastName'], mergeFields: { FNAME: 'firstName', LNAME: 'lastName' }, tag: 'welcome-sequence', ...overrides },
    { MC_KEY: TOKEN },
  );
}

describe('the Mailchimp connector', () => {
  it('upserts the member at the MD5 of the lower-cased email with merge fields, then tags it into the sequence', async () => {
    expect(await mailchimp().send(message(), never)).toEqual({ status: 'sent', externalId: HASH, httpStatus: 204 });
    const [upsert, tag] = emulator().received('mailchimp');
    expect(upsert).toMatchObject({ method: 'PUT', body: { email_address: 'Ada.Lovelace@example.org', status_if_new: 'pending', merge_fields: { FNAME: 'Ada', LNAME: 'Lovelace' } } });
    expect(tag).toMatchObject({ method: 'POST', path: '/3.0/lists/:listId/members/:hash/tags', body: { tags: [{ name: 'welcome-sequence', status: 'active' }] } });
    expect(emulator().mailchimp.member('aud1', HASH)).toMatchObject({ email_address: 'Ada.Lovelace@example.org', status: 'pending', tags: [{ name: 'welcome-sequence' }] });
  });

  it('leaves one member with one tag when a delivery is repeated', async () => {
    await mailchimp().send(message(), never);
    await mailchimp().send(message(), never);
    expect(emulator().mailchimp.member('aud1', HASH)?.tags.map((t) => t.name)).toEqual(['welcome-sequence']);
  });

  it("takes the step's options.tag over the entry's tag, and sends no tag call without either", async () => {
    await mailchimp().send(message({ options: { tag: 'recall-sequence' } }), never);
    expect(emulator().mailchimp.member('aud1', HASH)?.tags.map((t) => t.name)).toContain('recall-sequence');
    emulator().clearReceived();
    expect(await mailchimp({ tag: undefined }).send(message(), never)).toMatchObject({ status: 'sent', httpStatus: 200 });
    expect(emulator().received('mailchimp').map((r) => r.method)).toEqual(['PUT']);
  });

  it('retries when the tag call fails after the upsert (the upsert is safe to repeat)', async () => {
    await injectFault(emulator(), { pathPrefix: `/3.0/lists/aud1/members/${HASH}/tags`, status: 503 });
    expect(await mailchimp().send(message(), never)).toMatchObject({ status: 'retry', httpStatus: 503 });
  });

  it('fails a message without an email, naming the field and not a value', async () => {
    expect(await mailchimp().send(message({ fields: { firstName: 'Ada' } }), never)).toEqual({ status: 'failed', reason: 'mailchimp "newsletter": the message has no email' });
    expect(emulator().received('mailchimp')).toEqual([]);
  });

  it('refuses a configuration whose email or merge field is not among its fields', () => {
    expect(() => mailchimp({ fields: ['firstName'], mergeFields: {} })).toThrow('connectors.newsletter.emailField: expected one of the entry\'s fields ("firstName"), found "email"');
    expect(() => mailchimp({ fields: ['email'] })).toThrow('connectors.newsletter.mergeFields.FNAME: expected one of the entry\'s fields ("email"), found "firstName"');
    expect(() => mailchimp({ mergeFields: { 'first name': 'firstName' } })).toThrow('connectors.newsletter.mergeFields.first name: expected a merge tag (A-Z, 0-9, _; at most 10) as this key');
  });

  it("takes the data centre from the API key's suffix when no base URL is set", async () => {
    let url = '';
    const capture: typeof fetch = async (input) => {
      url = String(input);
      return new Response('{}', { status: 200 });
    };
    const connector = createConnector('n', { kind: 'mailchimp', apiKeyEnv: 'K', listId: 'aud1', fields: ['email'] }, { K: 'abc123-us21' }, { fetch: capture });
    await connector.send(message(), never);
    expect(url).toBe(`https://us21.api.mailchimp.com/3.0/lists/aud1/members/${HASH}`);
    expect(() => createConnector('n', { kind: 'mailchimp', apiKeyEnv: 'K', listId: 'aud1', fields: ['email'] }, { K: 'no-dc' })).toThrow('connectors.n.baseUrl');
  });

  it('is refused by Mailchimp when the hash does not match the email', async () => {
    const response = await fetch(`${emulator().url}/3.0/lists/aud1/members/${'0'.repeat(32)}`, {
      method: 'PUT',
      headers: { authorization: `Basic ${Buffer.from(`any:${TOKEN}`).toString('base64')}`, 'content-type': 'application/json' },
      body: JSON.stringify({ email_address: 'ada.lovelace@example.org', status_if_new: 'pending' }),
    });
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ title: 'Invalid Resource', status: 400 });
  });
});
