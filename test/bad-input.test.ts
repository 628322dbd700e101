import request from 'supertest';
import { startPatientGraph } from './stack';
import type { PatientGraphStack } from './stack';

describe('bad input gets a clear error with a stable code', () => {
  let stack: PatientGraphStack;

  beforeAll(async () => {
    stack = await startPatientGraph({ patients: 30 });
  });
  afterAll(async () => {
    await stack?.stop();
  });

  const post = (body: string) =>
    request(stack.gateway.url).post('/graphql').set('content-type', 'application/json').set('authorization', `Bearer ${stack.token}`).send(body);

  it('malformed JSON → 400 BAD_REQUEST', async () => {
    const response = await post('{"query": "{ patients { totalCount } }"');
    expect(response.status).toBe(400);
    expect(response.body).toEqual({
      errors: [{ message: 'The request body is not valid JSON', extensions: { code: 'BAD_REQUEST', expected: expect.any(String) } }],
    });
  });

  it('a body over the limit → 413 PAYLOAD_TOO_LARGE', async () => {
    const response = await post(JSON.stringify({ query: `{ __typename }`, variables: { pad: 'x'.repeat(1_100_000) } }));
    expect(response.status).toBe(413);
    expect(response.body.errors[0].extensions.code).toBe('PAYLOAD_TOO_LARGE');
  });

  it('a body without a query → 400 BAD_REQUEST from the GraphQL server', async () => {
    const response = await post(JSON.stringify({ variables: {} }));
    expect(response.status).toBe(400);
    expect(response.body.errors[0]).toEqual({ message: expect.stringContaining('`query`'), extensions: { code: 'BAD_REQUEST' } });
  });

  it('an unknown field → 400 GRAPHQL_VALIDATION_FAILED naming the field', async () => {
    const result = await stack.query('{ patients(first: 1) { nodes { id favouriteColour } } }');
    expect(result.status).toBe(400);
    expect(result.errors).toEqual([
      expect.objectContaining({ message: expect.stringContaining('"favouriteColour"'), extensions: { code: 'GRAPHQL_VALIDATION_FAILED' } }),
    ]);
  });

  it('a wrong argument type → 400 GRAPHQL_VALIDATION_FAILED; a wrong variable type → 400 BAD_USER_INPUT', async () => {
    const literal = await stack.query('{ patients(first: "ten") { totalCount } }');
    expect(literal.status).toBe(400);
    expect(literal.errors![0]).toMatchObject({ message: expect.stringContaining('Int cannot represent'), extensions: { code: 'GRAPHQL_VALIDATION_FAILED' } });
    const variable = await stack.query('query ($n: Int!) { patients(first: $n) { totalCount } }', { n: 'ten' });
    expect(variable.status).toBe(400);
    expect(variable.errors![0]).toMatchObject({ message: expect.stringContaining('$n'), extensions: { code: 'BAD_USER_INPUT' } });
  });

  it('an unknown patient id → NOT_FOUND naming the argument, without failing the rest', async () => {
    const known = stack.world.patients[0]!.id;
    const result = await stack.query('query ($a: ID!, $b: ID!) { missing: patient(id: $a) { id } found: patient(id: $b) { id } }', {
      a: 'ffffffffffffffffffffffff',
      b: known,
    });
    expect(result.status).toBe(200);
    expect(result.data).toEqual({ missing: null, found: { id: known } });
    expect(result.errors).toEqual([
      expect.objectContaining({ path: ['missing'], extensions: expect.objectContaining({ code: 'NOT_FOUND', argumentName: 'id' }) }),
    ]);
  });

  it('first above 500 → BAD_USER_INPUT saying the maximum, not a silent cap', async () => {
    const result = await stack.query('{ patients(first: 501) { totalCount nodes { id } } }');
    // The root field is nullable: it alone is null, with the error.
    expect(result.data).toEqual({ patients: null });
    expect(result.errors).toEqual([
      expect.objectContaining({
        message: expect.stringMatching(/first.*500.*501/),
        extensions: expect.objectContaining({ code: 'BAD_USER_INPUT', argumentName: 'first' }),
      }),
    ]);
  });

  it('a malformed cursor → BAD_USER_INPUT naming `after`', async () => {
    const result = await stack.query('{ patients(first: 2, after: "not-a-cursor!") { nodes { id } } }');
    expect(result.errors).toEqual([expect.objectContaining({ extensions: expect.objectContaining({ code: 'BAD_USER_INPUT', argumentName: 'after' }) })]);
  });

  it('a GET with a query but no preflight header is refused as a CSRF risk', async () => {
    const response = await request(stack.gateway.url)
      .get('/graphql')
      .query({ query: '{ __typename }' })
      .set('authorization', `Bearer ${stack.token}`);
    expect(response.status).toBe(400);
    expect(response.body.errors[0]).toEqual({ message: expect.stringContaining('Cross-Site Request Forgery'), extensions: { code: 'BAD_REQUEST' } });
  });
});
