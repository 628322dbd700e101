/** A subgraph holding a token Semble rejects: field errors naming the vendor, never a crash. */
import { startSembleHarness } from './harness';
import type { SembleHarness } from './harness';

describe('Semble rejects the token', () => {
  let harness: SembleHarness;
  beforeAll(async () => {
    harness = await startSembleHarness({ patients: 10, subgraphToken: 'wrong-token' });
  });
  afterAll(async () => {
    await harness.stop();
  });

  it('the emulator answers 401 with Semble’s body', async () => {
    const response = await fetch(`${harness.emulator.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-token': 'wrong-token' },
      body: JSON.stringify({ query: '{ users { id } }' }),
    });
    expect(response.status).toBe(401);
    expect(await response.json()).toEqual({ errors: [{ message: 'Unauthorized' }] });
  });

  it('turns the 401 into VENDOR_UNAUTHORIZED on the field; other fields still resolve', async () => {
    const result = await harness.query(`query($id: ID!) { patient(id: $id) { id } _service { sdl } }`, { id: harness.world.patients[0]!.id });
    expect(result.data?.patient).toBeNull();
    expect(typeof result.data?._service.sdl).toBe('string');
    expect(result.errors).toHaveLength(1);
    expect(result.errors![0]!.path).toEqual(['patient']);
    expect(result.errors![0]!.extensions).toMatchObject({ code: 'VENDOR_UNAUTHORIZED', vendor: 'semble' });
    expect(result.errors![0]!.message).not.toMatch(/Unauthorized"|errors/);
  });

  it('fails a list with the same code, and entity lookups per entity', async () => {
    const list = await harness.query(`{ patients(first: 5) { nodes { id } } }`);
    expect(list.errors![0]!.extensions).toMatchObject({ code: 'VENDOR_UNAUTHORIZED', vendor: 'semble' });

    const entities = await harness.query(`query($r: [_Any!]!) { _entities(representations: $r) { ... on Patient { id } } }`, {
      r: harness.world.patients.slice(0, 3).map((patient) => ({ __typename: 'Patient', id: patient.id })),
    });
    expect(entities.data?._entities).toEqual([null, null, null]);
    expect(entities.errors!.length).toBeGreaterThan(0);
    for (const error of entities.errors!) expect(error.extensions).toMatchObject({ code: 'VENDOR_UNAUTHORIZED', vendor: 'semble' });
  });

  it('keeps serving after the failures', async () => {
    const response = await fetch(`${harness.subgraph.url}/healthz`);
    expect(response.status).toBe(200);
  });
});
