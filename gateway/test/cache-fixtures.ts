/**
 * A small graph made to exercise the entity cache, not the patient graph: `people` owns Person
 * (with cache hints), `notes` adds Person.notes and Note (with hints), `ledger` adds
 * Person.balance with no hint at all. Each subgraph records what it was asked to resolve, so a
 * test can see what reached it and what the cache answered.
 */
import path from 'node:path';
import { GraphQLError, parse } from 'graphql';
import { startSubgraph } from '../../lib/subgraph';
import { TEST_INTERNAL_TOKEN_SECRET } from '../../lib/test/as-gateway';
import type { RunningSubgraph, VerifiedCaller } from '../../lib/subgraph';
import { composeToFile, tempDir } from './fixtures';

const CACHE_CONTROL = `
  directive @cacheControl(maxAge: Int, scope: CacheControlScope, inheritMaxAge: Boolean) on FIELD_DEFINITION | OBJECT | INTERFACE | UNION
  enum CacheControlScope @inaccessible { PUBLIC PRIVATE }
`;

export const peopleSdl = `
  extend schema @link(url: "https://specs.apollo.dev/federation/v2.7", import: ["@key", "@inaccessible"])
  ${CACHE_CONTROL}
  type Query {
    people(ids: [ID!]!): [Person!]! @cacheControl(maxAge: 60)
    person(id: ID!): Person @cacheControl(maxAge: 60)
    "Every person: a list of Person takes Person's hint."
    everyone: [Person!]!
    "A scalar root field with no hint: never cached."
    headcount: Int!
    "Private: one user's."
    me: Person @cacheControl(maxAge: 60, scope: PRIVATE)
  }
  type Mutation { rename(id: ID!, name: String!): Person }
  type Person @key(fields: "id") @cacheControl(maxAge: 60) { id: ID! name: String! }
`;

export const notesSdl = `
  extend schema @link(url: "https://specs.apollo.dev/federation/v2.7", import: ["@key", "@inaccessible"])
  ${CACHE_CONTROL}
  type Person @key(fields: "id") @cacheControl(maxAge: 60) { id: ID! notes: [Note!] }
  type Note @key(fields: "id") @cacheControl(maxAge: 60) { id: ID! text: String! }
`;

export const ledgerSdl = `
  extend schema @link(url: "https://specs.apollo.dev/federation/v2.7", import: ["@key"])
  type Person @key(fields: "id") { id: ID! balance: Int! }
`;

export interface CacheGraph {
  people: RunningSubgraph;
  notes: RunningSubgraph;
  ledger: RunningSubgraph;
  supergraphFile: string;
  /** Ids each subgraph resolved (root fields and entity references) since the last reset. */
  seen: { people: string[]; notes: string[]; ledger: string[] };
  /** Names as the people subgraph holds them; tests change them. */
  names: Map<string, string>;
  /** Note texts as the notes subgraph holds them. */
  noteTexts: Map<string, string>;
  reset(): void;
  stop(): Promise<void>;
}

/** The id whose notes fail in the notes subgraph (an error on that entity only). */
export const BROKEN_ID = '13';

export async function startCacheGraph(): Promise<CacheGraph> {
  const names = new Map(['1', '2', '3', '4', '5', BROKEN_ID].map((id) => [id, `Person ${id}`]));
  const noteTexts = new Map([...names.keys()].map((id) => [`n${id}`, `Note about ${id}`]));
  const seen = { people: [] as string[], notes: [] as string[], ledger: [] as string[] };
  const person = (id: string) => (names.has(id) ? { id, name: names.get(id)! } : null);

  const people = await startSubgraph({
    name: 'people',
    typeDefs: parse(peopleSdl),
    resolvers: {
      Query: {
        people: (_: unknown, { ids }: { ids: string[] }) => ids.map((id) => (seen.people.push(id), person(id))).filter(Boolean),
        person: (_: unknown, { id }: { id: string }) => (seen.people.push(id), person(id)),
        everyone: () => [...names.keys()].map((id) => (seen.people.push(id), person(id))),
        headcount: () => (seen.people.push('headcount'), names.size),
        me: (_: unknown, __: unknown, { identity }: VerifiedCaller) => (seen.people.push(`me:${identity.subject}`), { id: '1', name: `Me (${identity.subject})` }),
      },
      Mutation: {
        rename: (_: unknown, { id, name }: { id: string; name: string }) => {
          names.set(id, name);
          return person(id);
        },
      },
      Person: { __resolveReference: (ref: { id: string }) => (seen.people.push(ref.id), person(ref.id)) },
    },
    context: () => ({}),
    internalTokenSecret: TEST_INTERNAL_TOKEN_SECRET,
  });
  const notes = await startSubgraph({
    name: 'notes',
    typeDefs: parse(notesSdl),
    resolvers: {
      Person: {
        __resolveReference: (ref: { id: string }) => (seen.notes.push(ref.id), { id: ref.id }),
        notes: (ref: { id: string }) => {
          if (ref.id === BROKEN_ID) throw new GraphQLError('the notes of this person cannot be read', { extensions: { code: 'NOTES_UNREADABLE' } });
          return [{ id: `n${ref.id}`, text: noteTexts.get(`n${ref.id}`) }];
        },
      },
    },
    context: () => ({}),
    internalTokenSecret: TEST_INTERNAL_TOKEN_SECRET,
  });
  const ledger = await startSubgraph({
    name: 'ledger',
    typeDefs: parse(ledgerSdl),
    resolvers: { Person: { __resolveReference: (ref: { id: string }) => (seen.ledger.push(ref.id), { id: ref.id, balance: Number(ref.id) * 10 }) } },
    context: () => ({}),
    internalTokenSecret: TEST_INTERNAL_TOKEN_SECRET,
  });

  const supergraphFile = path.join(tempDir(), 'supergraph.graphql');
  composeToFile(supergraphFile, [
    { name: 'people', url: people.graphqlUrl, typeDefs: parse(peopleSdl) },
    { name: 'notes', url: notes.graphqlUrl, typeDefs: parse(notesSdl) },
    { name: 'ledger', url: ledger.graphqlUrl, typeDefs: parse(ledgerSdl) },
  ]);
  return {
    people,
    notes,
    ledger,
    supergraphFile,
    seen,
    names,
    noteTexts,
    reset() {
      seen.people.length = 0;
      seen.notes.length = 0;
      seen.ledger.length = 0;
    },
    async stop() {
      await Promise.all([people.stop(), notes.stop(), ledger.stop()]);
    },
  };
}
