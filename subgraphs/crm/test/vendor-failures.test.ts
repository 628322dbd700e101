/**
 * HubSpot failures reach GraphQL clients as field errors with a code and the vendor named, and
 * HubSpot's rate limit (429 + Retry-After) is waited out rather than passed on.
 */
import { PATIENT_ENTITIES, patientRepresentations, startCrmStack } from './start-crm';
import type { CrmStack } from './start-crm';

describe('wrong HubSpot token', () => {
  let stack: CrmStack;
  beforeAll(async () => {
    stack = await startCrmStack({ patients: 20, token: 'not-the-token' });
  });
  afterAll(async () => {
    await stack?.stop();
  });

  test('Patient.crmContact and Patient.deals become VENDOR_UNAUTHORIZED field errors naming hubspot', async () => {
    const ids = stack.world.patients.slice(0, 3).map((p) => p.id);
    const answer = await stack.query<{ _entities: Array<{ id: string; crmContact: unknown; deals: unknown }> | null }>(
      `query ($representations: [_Any!]!) { _entities(representations: $representations) { ... on Patient { id crmContact { id } } } }`,
      { representations: patientRepresentations(ids) },
    );
    expect(answer.data?._entities).toEqual(ids.map((id) => ({ id, crmContact: null })));
    expect(answer.errors).toHaveLength(3);
    for (const error of answer.errors ?? []) {
      expect(error.extensions).toMatchObject({ code: 'VENDOR_UNAUTHORIZED', vendor: 'hubspot' });
      expect(error.path?.[2]).toBe('crmContact');
    }
    // deals is non-null: the error nulls the patient entity, still with the code.
    const deals = await stack.query(PATIENT_ENTITIES, { representations: patientRepresentations(ids.slice(0, 1)) });
    expect(deals.errors?.[0]?.extensions).toMatchObject({ code: 'VENDOR_UNAUTHORIZED', vendor: 'hubspot' });
  });

  test('crmContactByEmail becomes a VENDOR_UNAUTHORIZED field error', async () => {
    const answer = await stack.query(`{ crmContactByEmail(email: "someone@example.co.uk") { id } }`);
    expect(answer.data).toEqual({ crmContactByEmail: null });
    expect(answer.errors?.[0]?.extensions).toMatchObject({ code: 'VENDOR_UNAUTHORIZED', vendor: 'hubspot' });
  });
});

describe('HubSpot rate limit', () => {
  let stack: CrmStack;
  beforeAll(async () => {
    stack = await startCrmStack({ patients: 20, rateLimit: { max: 2, windowMs: 1000 } });
  });
  afterAll(async () => {
    await stack?.stop();
  });

  test('429 with Retry-After is waited out and the answer still arrives', async () => {
    const { world } = stack;
    const contact = world.contacts[0];
    if (!contact?.email) throw new Error('the seed has no first contact with an email');
    // Three HubSpot calls at once (batch read, deal search, contact search) against 2 per second.
    const answer = await stack.query<{
      _entities: Array<{ crmContact: { id: string } | null; deals: Array<{ id: string }> }>;
      crmContactByEmail: { id: string } | null;
    }>(
      `query ($representations: [_Any!]!, $email: String!) {
        _entities(representations: $representations) { ... on Patient { crmContact { id } deals { id } } }
        crmContactByEmail(email: $email) { id }
      }`,
      { representations: patientRepresentations([contact.patientId]), email: contact.email },
    );
    expect(answer.errors).toBeUndefined();
    expect(answer.data?._entities[0]?.crmContact).toEqual({ id: contact.id });
    expect(answer.data?._entities[0]?.deals).toEqual(world.deals.filter((d) => d.patientId === contact.patientId).map((d) => ({ id: d.id })));
    expect(answer.data?.crmContactByEmail).toEqual({ id: world.contacts.filter((c) => c.email === contact.email)[0]?.id });
    expect(stack.emulator.rateLimited()).toBeGreaterThan(0);
  });
});
