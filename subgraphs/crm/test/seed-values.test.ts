/**
 * What the crm subgraph serves equals the seed world: contacts and deals reached from patients,
 * by their own keys, and by email.
 */
import { PATIENT_ENTITIES, patientRepresentations, startCrmStack } from './start-crm';
import type { CrmStack } from './start-crm';
import type { SeedContact, SeedDeal } from '../../../lib/seed';

function expectedContact(c: SeedContact) {
  return {
    id: c.id,
    provider: 'HUBSPOT',
    email: c.email,
    firstName: c.firstName,
    lastName: c.lastName,
    phone: c.phone,
    lifecycleStage: c.lifecycleStage,
    ownerId: c.ownerId,
    marketingConsent: c.marketingConsent,
    sembleId: c.patientId,
    updatedAt: c.updatedAt,
    patient: { id: c.patientId },
  };
}

function expectedDeal(d: SeedDeal) {
  return { id: d.id, name: d.name, amount: d.amount, stage: d.stage, pipeline: d.pipeline, closeDate: d.closeDate, updatedAt: d.updatedAt };
}

describe('crm subgraph serves the seed world', () => {
  let stack: CrmStack;
  beforeAll(async () => {
    stack = await startCrmStack({ patients: 60 });
  });
  afterAll(async () => {
    await stack?.stop();
  });

  test('Patient.crmContact and Patient.deals equal the seed for every patient', async () => {
    const { world } = stack;
    const answer = await stack.query<{ _entities: Array<{ id: string; crmContact: unknown; deals: unknown[] }> }>(PATIENT_ENTITIES, {
      representations: patientRepresentations(world.patients.map((p) => p.id)),
    });
    expect(answer.errors).toBeUndefined();
    const entities = answer.data?._entities ?? [];
    expect(entities).toHaveLength(world.patients.length);
    // The seed must exercise both sides: patients with and without a contact, with and without deals.
    expect(world.contacts.length).toBeGreaterThan(0);
    expect(world.contacts.length).toBeLessThan(world.patients.length);
    expect(world.deals.length).toBeGreaterThan(0);
    for (const [i, patient] of world.patients.entries()) {
      const contact = world.contacts.find((c) => c.patientId === patient.id);
      const deals = world.deals.filter((d) => d.patientId === patient.id).sort((a, b) => Number(a.id) - Number(b.id));
      expect(entities[i]).toEqual({
        id: patient.id,
        crmContact: contact ? expectedContact(contact) : null,
        deals: deals.map(expectedDeal),
      });
    }
  });

  test('CrmContact and Deal resolve by id; unknown ids resolve to null', async () => {
    const { world } = stack;
    const contacts = world.contacts.slice(0, 5);
    const deals = world.deals.slice(0, 5);
    const answer = await stack.query<{ _entities: unknown[] }>(
      `query ($representations: [_Any!]!) {
        _entities(representations: $representations) {
          ... on CrmContact { id provider email firstName lastName phone lifecycleStage ownerId marketingConsent sembleId updatedAt patient { id } }
          ... on Deal { id name amount stage pipeline closeDate updatedAt }
        }
      }`,
      {
        representations: [
          ...contacts.map((c) => ({ __typename: 'CrmContact', id: c.id })),
          ...deals.map((d) => ({ __typename: 'Deal', id: d.id })),
          { __typename: 'CrmContact', id: '1' },
          { __typename: 'Deal', id: '2' },
        ],
      },
    );
    expect(answer.errors).toBeUndefined();
    expect(answer.data?._entities).toEqual([...contacts.map(expectedContact), ...deals.map(expectedDeal), null, null]);
  });

  test('crmContactByEmail matches whatever the case and surrounding spaces', async () => {
    const { world } = stack;
    const contact = world.contacts.find((c) => c.email?.endsWith('@example.co.uk') && world.contacts.filter((o) => o.email === c.email).length === 1);
    if (!contact?.email) throw new Error('the seed has no contact with a unique valid email');
    const query = `query ($email: String!) { crmContactByEmail(email: $email) { id email sembleId } }`;
    for (const email of [contact.email, `  ${contact.email.toUpperCase()}\t`, contact.email.replace(/^./, (c) => c.toUpperCase())]) {
      const answer = await stack.query(query, { email });
      expect(answer.errors).toBeUndefined();
      expect(answer.data).toEqual({ crmContactByEmail: { id: contact.id, email: contact.email, sembleId: contact.patientId } });
    }
    const missing = await stack.query(query, { email: 'nobody@nowhere.test' });
    expect(missing).toEqual({ data: { crmContactByEmail: null } });
  });

  test('crmContactByEmail with a shared (family) email answers the oldest contact', async () => {
    const { world } = stack;
    const shared = world.contacts.find((c) => c.email && world.contacts.filter((o) => o.email === c.email).length > 1);
    if (!shared) return; // this seed size has no shared emails among contacts
    const oldest = world.contacts.filter((o) => o.email === shared.email).sort((a, b) => Number(a.id) - Number(b.id))[0];
    const answer = await stack.query(`query ($email: String!) { crmContactByEmail(email: $email) { id } }`, { email: shared.email });
    expect(answer.data).toEqual({ crmContactByEmail: { id: oldest?.id } });
  });

  test('crmContactByEmail rejects a value that is not an email without echoing it', async () => {
    const query = `query ($email: String!) { crmContactByEmail(email: $email) { id } }`;
    for (const [email, got] of [['   ', 'an empty string'], ['Jane Smith', "a string without '@'"]] as const) {
      const answer = await stack.query(query, { email });
      expect(answer.data).toEqual({ crmContactByEmail: null });
      expect(answer.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', argumentName: 'email', expected: 'an email address' });
      expect(answer.errors?.[0]?.message).toBe(`email: expected an email address, got ${got}`);
      expect(answer.errors?.[0]?.message).not.toContain('Jane');
    }
  });
});
