/**
 * The batching bound of the issue: resolving the CRM side of 500 patients costs HubSpot at most
 * 5 contact batch reads (100 per call, by semble_patient_id) and a bounded number of deal
 * searches – never one call per patient.
 */
import { PATIENT_ENTITIES, patientRepresentations, startCrmStack, TEST_TOKEN } from './start-crm';
import type { CrmStack } from './start-crm';
import { createHubSpotClient } from '../../../lib/vendors/hubspot';

const BATCH_READ = 'POST /crm/v3/objects/contacts/batch/read';
const DEAL_SEARCH = 'POST /crm/v3/objects/deals/search';

describe('HubSpot batching', () => {
  let stack: CrmStack;
  beforeAll(async () => {
    stack = await startCrmStack({ patients: 500 });
  });
  afterAll(async () => {
    await stack?.stop();
  });

  test('500 patients: ≤ 5 contact batch reads and ≤ 5 deal searches, nothing else', async () => {
    const { world } = stack;
    await stack.resetRequests();
    const answer = await stack.query<{ _entities: Array<{ crmContact: { sembleId: string } | null; deals: unknown[] }> }>(PATIENT_ENTITIES, {
      representations: patientRepresentations(world.patients.map((p) => p.id)),
    });
    expect(answer.errors).toBeUndefined();
    const entities = answer.data?._entities ?? [];
    expect(entities.filter((e) => e.crmContact !== null)).toHaveLength(world.contacts.length);
    expect(entities.reduce((n, e) => n + e.deals.length, 0)).toBe(world.deals.length);

    const { total, byRoute } = await stack.requests();
    expect(byRoute[BATCH_READ]).toBeLessThanOrEqual(5);
    // ≤ 100 patient ids per IN filter; each group's deals fit in one 200-result page in this seed.
    expect(byRoute[DEAL_SEARCH]).toBeLessThanOrEqual(5);
    expect(total).toBe((byRoute[BATCH_READ] ?? 0) + (byRoute[DEAL_SEARCH] ?? 0));
  });

  test('250 patients: ≤ 3 contact batch reads', async () => {
    const { world } = stack;
    await stack.resetRequests();
    const answer = await stack.query(`query ($representations: [_Any!]!) { _entities(representations: $representations) { ... on Patient { crmContact { id } } } }`, {
      representations: patientRepresentations(world.patients.slice(0, 250).map((p) => p.id)),
    });
    expect(answer.errors).toBeUndefined();
    const { total, byRoute } = await stack.requests();
    expect(byRoute[BATCH_READ]).toBeLessThanOrEqual(3);
    expect(total).toBe(byRoute[BATCH_READ]);
  });

  test('deal search follows paging when a group of patients has more than one page of deals', async () => {
    const { world } = stack;
    // Give one patient 450 extra deals: its search needs three 200-result pages.
    const patientId = world.patients[0]?.id as string;
    const deals = stack.emulator.objects.deals;
    const added: string[] = [];
    for (let i = 0; i < 450; i++) {
      const id = String(9_000_000 + i);
      added.push(id);
      deals.set(id, {
        id,
        properties: { dealname: `extra ${i}`, amount: '1', dealstage: 'qualifiedtobuy', pipeline: 'default', closedate: null,
          semble_patient_id: patientId, hs_object_id: id, createdate: '2025-01-01T00:00:00.000Z', hs_lastmodifieddate: '2025-01-01T00:00:00.000Z' },
        createdAt: '2025-01-01T00:00:00.000Z',
        updatedAt: '2025-01-01T00:00:00.000Z',
        archived: false,
      });
    }
    try {
      await stack.resetRequests();
      const answer = await stack.query<{ _entities: Array<{ deals: Array<{ id: string }> }> }>(
        `query ($representations: [_Any!]!) { _entities(representations: $representations) { ... on Patient { deals { id } } } }`,
        { representations: patientRepresentations([patientId]) },
      );
      expect(answer.errors).toBeUndefined();
      const seeded = world.deals.filter((d) => d.patientId === patientId).map((d) => d.id);
      expect(answer.data?._entities[0]?.deals.map((d) => d.id)).toEqual([...seeded, ...added]);
      expect((await stack.requests()).byRoute[DEAL_SEARCH]).toBe(Math.ceil((seeded.length + added.length) / 200));
    } finally {
      for (const id of added) deals.delete(id);
    }
  });

  test('the client splits a batch read of 250 ids into 3 calls of ≤ 100', async () => {
    const client = createHubSpotClient({ baseUrl: stack.emulator.url, token: TEST_TOKEN });
    const ids = stack.world.contacts.slice(0, 250).map((c) => c.id);
    await stack.resetRequests();
    const contacts = await client.batchReadContacts(ids, ['email']);
    expect(contacts.map((c) => c.id).sort()).toEqual([...ids].sort());
    expect((await stack.requests()).byRoute[BATCH_READ]).toBe(3);
  });
});
