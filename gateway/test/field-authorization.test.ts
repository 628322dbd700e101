/**
 * Field-level authorisation from `@requiresScopes` in the subgraphs' schemas, on a small graph
 * that is not the patient graph: what a caller may not see is null with an error at its path,
 * nulls propagate as GraphQL's do, and the subgraph is never asked for it.
 */
import path from 'node:path';
import { parse } from 'graphql';
import { startSubgraph } from '../../lib/subgraph';
import { TEST_INTERNAL_TOKEN_SECRET } from '../../lib/test/as-gateway';
import type { RunningSubgraph } from '../../lib/subgraph';
import { signToken } from '../src/auth';
import { createGateway } from '../src/server';
import type { RunningGateway } from '../src/server';
import { TEST_CLINIC, TEST_SECRET, baseConfig, composeToFile, graphql, tempDir } from './fixtures';

const peopleSdl = `
  extend schema @link(url: "https://specs.apollo.dev/federation/v2.7", import: ["@key", "@requiresScopes"])
  type Query {
    people: [Person!]!
    person(id: ID!): Person
    secrets: [String!]! @requiresScopes(scopes: [["admin"]])
  }
  type Mutation { rename(id: ID!, name: String!): Person @requiresScopes(scopes: [["people:write"]]) }
  type Person @key(fields: "id") {
    id: ID!
    name: String @requiresScopes(scopes: [["demographics"]])
    nhs: String @requiresScopes(scopes: [["identifiers"]])
    dob: String! @requiresScopes(scopes: [["identifiers"]])
  }
`;
const billingSdl = `
  extend schema @link(url: "https://specs.apollo.dev/federation/v2.7", import: ["@key", "@requiresScopes"])
  type Person @key(fields: "id") { id: ID! invoices: [Invoice!] }
  type Invoice @requiresScopes(scopes: [["finance"]]) { total: Int! }
`;

const ROLES = {
  reader: ['demographics'],
  clerk: ['demographics', 'identifiers'],
  accountant: ['finance'],
  admin: ['demographics', 'identifiers', 'finance', 'admin', 'people:write'],
};
const as = (role: string) => signToken(TEST_SECRET, { subject: `${role}-1`, roles: [role], clinic: TEST_CLINIC });
const UNAUTHORIZED = (path: Array<string | number>) => expect.objectContaining({ path, extensions: expect.objectContaining({ code: 'UNAUTHORIZED_FIELD_OR_TYPE' }) });

describe('field-level authorisation', () => {
  let people: RunningSubgraph;
  let billing: RunningSubgraph;
  let gateway: RunningGateway;
  /** What the subgraphs resolved: `field:id`. */
  const resolved: string[] = [];
  const names = new Map([['1', 'Ada'], ['2', 'Grace']]);

  beforeAll(async () => {
    const person = (id: string) => ({ id });
    people = await startSubgraph({
      name: 'people',
      typeDefs: parse(peopleSdl),
      resolvers: {
        Query: {
          people: () => [...names.keys()].map(person),
          person: (_: unknown, { id }: { id: string }) => person(id),
          secrets: () => (resolved.push('secrets'), ['s']),
        },
        Mutation: { rename: (_: unknown, { id, name }: { id: string; name: string }) => (resolved.push(`rename:${id}`), names.set(id, name), person(id)) },
        Person: {
          __resolveReference: (ref: { id: string }) => person(ref.id),
          name: (p: { id: string }) => (resolved.push(`name:${p.id}`), names.get(p.id)),
          nhs: (p: { id: string }) => (resolved.push(`nhs:${p.id}`), `999000000${p.id}`),
          dob: (p: { id: string }) => (resolved.push(`dob:${p.id}`), '1990-01-01'),
        },
      },
      context: () => ({}),
      internalTokenSecret: TEST_INTERNAL_TOKEN_SECRET,
    });
    billing = await startSubgraph({
      name: 'billing',
      typeDefs: parse(billingSdl),
      resolvers: { Person: { __resolveReference: (ref: { id: string }) => ref, invoices: (p: { id: string }) => (resolved.push(`invoices:${p.id}`), [{ total: 10 }]) } },
      context: () => ({}),
      internalTokenSecret: TEST_INTERNAL_TOKEN_SECRET,
    });
    const supergraphFile = path.join(tempDir(), 'supergraph.graphql');
    composeToFile(supergraphFile, [
      { name: 'people', url: people.graphqlUrl, typeDefs: parse(peopleSdl) },
      { name: 'billing', url: billing.graphqlUrl, typeDefs: parse(billingSdl) },
    ]);
    gateway = await createGateway(baseConfig({ supergraphPath: supergraphFile, authorization: { roles: ROLES } }));
  });
  afterAll(async () => {
    await gateway?.stop();
    await people?.stop();
    await billing?.stop();
  });
  beforeEach(() => {
    resolved.length = 0;
  });

  const ask = (role: string, query: string) => graphql(gateway.graphqlUrl, query, { token: as(role) });

  it('nulls a field the caller may not see, says so at its path, and never asks the subgraph for it', async () => {
    const { body } = await ask('reader', '{ people { id name nhs } }');
    expect(body.data).toEqual({ people: [{ id: '1', name: 'Ada', nhs: null }, { id: '2', name: 'Grace', nhs: null }] });
    expect(body.errors).toEqual([UNAUTHORIZED(['people', 0, 'nhs']), UNAUTHORIZED(['people', 1, 'nhs'])]);
    expect(resolved.sort()).toEqual(['name:1', 'name:2']);
  });

  it('shows the same field to a role whose scopes allow it', async () => {
    const { body } = await ask('clerk', '{ people { id nhs } }');
    expect(body.errors).toBeUndefined();
    expect(body.data.people).toEqual([{ id: '1', nhs: '9990000001' }, { id: '2', nhs: '9990000002' }]);
  });

  it('nulls the parent of a non-null field the caller may not see, as GraphQL does', async () => {
    const { body } = await ask('reader', '{ person(id: "1") { name dob } }');
    expect(body.data).toEqual({ person: null });
    expect(body.errors).toEqual([UNAUTHORIZED(['person', 'dob'])]);
    expect(resolved).toEqual(['name:1']);
  });

  it('keeps a type the caller may not see from every field that returns it, in another subgraph too', async () => {
    const reader = await ask('reader', '{ people { name invoices { total } } }');
    expect(reader.body.data.people).toEqual([{ name: 'Ada', invoices: null }, { name: 'Grace', invoices: null }]);
    expect(reader.body.errors).toEqual([UNAUTHORIZED(['people', 0, 'invoices']), UNAUTHORIZED(['people', 1, 'invoices'])]);
    expect(resolved.filter((entry) => entry.startsWith('invoices'))).toEqual([]);
    const accountant = await ask('accountant', '{ people { id invoices { total } } }');
    expect(accountant.body.data.people).toEqual([{ id: '1', invoices: [{ total: 10 }] }, { id: '2', invoices: [{ total: 10 }] }]);
  });

  it('masks fields inside fragments where the fragment is used', async () => {
    const { body } = await ask('reader', 'query { people { ...Who } } fragment Who on Person { name nhs }');
    expect(body.data.people).toEqual([{ name: 'Ada', nhs: null }, { name: 'Grace', nhs: null }]);
    expect(body.errors).toHaveLength(2);
  });

  it('refuses a mutation the caller may not run, without running it', async () => {
    const { body } = await ask('reader', 'mutation { rename(id: "2", name: "Mallory") { name } }');
    expect(body.data).toEqual({ rename: null });
    expect(body.errors).toEqual([UNAUTHORIZED(['rename'])]);
    expect(resolved).toEqual([]);
    expect(names.get('2')).toBe('Grace');
    const admin = await ask('admin', 'mutation { rename(id: "2", name: "Grace H.") { name } }');
    expect(admin.body.data).toEqual({ rename: { name: 'Grace H.' } });
    names.set('2', 'Grace');
  });

  it('answers an operation left with nothing to run without running anything, and a caller with no roles sees nothing restricted', async () => {
    const { body } = await ask('reader', '{ secrets }');
    expect(body.data).toBeNull();
    expect(body.errors).toEqual([UNAUTHORIZED(['secrets'])]);
    const nobody = await graphql(gateway.graphqlUrl, '{ people { id name } }', { token: signToken(TEST_SECRET, { subject: 'x', roles: [], clinic: TEST_CLINIC }) });
    expect(nobody.body.data.people).toEqual([{ id: '1', name: null }, { id: '2', name: null }]);
    expect(resolved).toEqual([]);
  });
});
