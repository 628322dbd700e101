/**
 * Batching bounds: entity lookups and each patient's appointments and invoices become aliased
 * Semble documents (≤ 50 patients each), counted by the emulator's request counters.
 */
import { startSembleHarness } from './harness';
import type { SembleHarness } from './harness';

const ENTITIES = /* GraphQL */ `
  query($r: [_Any!]!) {
    _entities(representations: $r) {
      ... on Patient { id fullName appointments { id status start } invoices { id total currency } }
    }
  }
`;

async function entitiesCost(harness: SembleHarness) {
  const representations = harness.world.patients.map((patient) => ({ __typename: 'Patient', id: patient.id }));
  await harness.resetRequests();
  const result = await harness.query<{ _entities: Array<{ id: string; appointments: Array<{ id: string }>; invoices: Array<{ id: string }> }> }>(
    ENTITIES,
    { r: representations },
  );
  expect(result.errors).toBeUndefined();
  const requests = await harness.sembleRequests();
  const entities = result.data!._entities;
  expect(entities.map((entity) => entity.id)).toEqual(harness.world.patients.map((patient) => patient.id));
  for (const entity of entities) {
    expect(entity.appointments.map((a) => a.id).sort()).toEqual(harness.world.bookings.filter((b) => b.patientId === entity.id).map((b) => b.id).sort());
    expect(entity.invoices.map((i) => i.id)).toEqual(harness.world.invoices.filter((i) => i.patientId === entity.id).map((i) => i.id));
  }
  return requests;
}

describe('batching bounds', () => {
  describe('60 patients', () => {
    let harness: SembleHarness;
    beforeAll(async () => {
      harness = await startSembleHarness({ patients: 60 });
    });
    afterAll(async () => {
      await harness.stop();
    });

    it('resolves 60 patients with appointments and invoices in at most 4 Semble requests', async () => {
      expect(await entitiesCost(harness)).toBeLessThanOrEqual(4);
    });

    it('resolves practitioners and patients of appointments in batches too', async () => {
      await harness.resetRequests();
      const result = await harness.query(`{ patients(first: 60) { nodes { id appointments { id practitioner { id fullName } patient { id } } } } }`);
      expect(result.errors).toBeUndefined();
      // 1 list page + 2 documents of bookings (50 + 10 patients) + 1 of users; patients come primed from the list.
      expect(await harness.sembleRequests()).toBeLessThanOrEqual(4);
    });
  });

  describe('500 patients', () => {
    let harness: SembleHarness;
    beforeAll(async () => {
      harness = await startSembleHarness({ patients: 500 });
    });
    afterAll(async () => {
      await harness.stop();
    });

    it('resolves 500 patients with appointments and invoices in about 20 Semble requests', async () => {
      // 10 documents of 50 patient lookups, then 10 documents of bookings+invoices for 50 patients each.
      expect(await entitiesCost(harness)).toBeLessThanOrEqual(20);
    });

    it('serves a 500-patient page with appointments and invoices in a bounded number of requests', async () => {
      await harness.resetRequests();
      const result = await harness.query(`{ patients(first: 500) { nodes { id appointments { id } invoices { id } } } }`);
      expect(result.errors).toBeUndefined();
      expect(result.data!.patients.nodes).toHaveLength(500);
      // 5 list pages + 10 documents of bookings+invoices.
      expect(await harness.sembleRequests()).toBeLessThanOrEqual(15);
    });
  });
});
