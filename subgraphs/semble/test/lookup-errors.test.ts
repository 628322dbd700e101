/** Unknown ids and bad arguments on the single-record and list lookups. */
import { startSembleHarness } from './harness';
import type { SembleHarness } from './harness';

describe('lookup errors', () => {
  let harness: SembleHarness;
  beforeAll(async () => {
    harness = await startSembleHarness({ patients: 20 });
  });
  afterAll(async () => {
    await harness.stop();
  });

  it('answers an unknown patient id with NOT_FOUND, and the rest of the query still resolves', async () => {
    const known = harness.world.patients[0]!.id;
    const result = await harness.query(`query($id: ID!, $known: ID!) { patient(id: $id) { id } other: patient(id: $known) { id } }`, {
      id: 'ffffffffffffffffffffffff',
      known,
    });
    expect(result.data).toEqual({ patient: null, other: { id: known } });
    expect(result.errors).toHaveLength(1);
    expect(result.errors![0]!.path).toEqual(['patient']);
    expect(result.errors![0]!.extensions).toMatchObject({ code: 'NOT_FOUND', argumentName: 'id' });
  });

  it('answers an unknown invoice id with NOT_FOUND', async () => {
    const result = await harness.query(`{ invoice(id: "nope") { id } }`);
    expect(result.data).toEqual({ invoice: null });
    expect(result.errors![0]!.extensions).toMatchObject({ code: 'NOT_FOUND', argumentName: 'id' });
  });

  it('resolves unknown entity references to null', async () => {
    const result = await harness.query(
      `query($r: [_Any!]!) { _entities(representations: $r) { ... on Patient { id } ... on Invoice { id } } }`,
      { r: [{ __typename: 'Patient', id: 'missing' }, { __typename: 'Invoice', id: 'missing' }] },
    );
    expect(result.errors).toBeUndefined();
    expect(result.data).toEqual({ _entities: [null, null] });
  });

  it('rejects a blank email without echoing it', async () => {
    const result = await harness.query(`{ patientsByEmail(email: "   ") { id } }`);
    expect(result.errors![0]!.extensions).toMatchObject({ code: 'BAD_USER_INPUT', argumentName: 'email' });
  });

  it('rejects a reversed appointment range and a bad first', async () => {
    const reversed = await harness.query(`{ appointments(from: "2026-01-01T00:00:00Z", to: "2025-01-01T00:00:00Z") { nodes { id } } }`);
    expect(reversed.errors![0]!.extensions).toMatchObject({ code: 'BAD_USER_INPUT', argumentName: 'to' });
    const badDate = await harness.query(`{ appointments(from: "soon", to: "2025-01-01T00:00:00Z") { nodes { id } } }`);
    expect(badDate.errors![0]!.extensions).toMatchObject({ code: 'BAD_USER_INPUT', argumentName: 'from' });
    const tooMany = await harness.query(`{ appointments(from: "2025-01-01T00:00:00Z", to: "2026-01-01T00:00:00Z", first: 1000) { nodes { id } } }`);
    expect(tooMany.errors![0]!.message).toBe('first must be between 0 and 500, got 1000');
    expect(tooMany.errors![0]!.extensions).toMatchObject({ code: 'BAD_USER_INPUT', argumentName: 'first' });
  });
});
