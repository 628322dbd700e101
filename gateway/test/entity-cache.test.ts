/**
 * The entity cache as a client of the gateway notices it, against memory and against a real
 * Redis: repeated reads stop reaching the subgraphs, only missing entities are fetched, errors
 * and uncached types always are, nothing crosses an authorisation scope, and mutations and bus
 * events evict what they name.
 */
import { randomBytes } from 'node:crypto';
import { createMemoryEventBus } from '../../lib/event-bus/memory';
import type { EventBus } from '../../lib/event-bus/types';
import { REDIS_URL, deleteKeys } from '../../lib/event-bus/test/redis-keys';
import { startTcpProxy } from '../../lib/event-bus/test/tcp-proxy';
import type { TcpProxy } from '../../lib/event-bus/test/tcp-proxy';
import { waitFor } from '../../lib/event-bus/test/wait-for';
import { signToken } from '../src/auth';
import { createGateway } from '../src/server';
import type { RunningGateway } from '../src/server';
import { BROKEN_ID, startCacheGraph } from './cache-fixtures';
import type { CacheGraph } from './cache-fixtures';
import { TEST_SECRET, baseConfig, graphql } from './fixtures';

const token = (roles: string[], subject = 'reader', clinic = 'north') => signToken(TEST_SECRET, { subject, roles, clinic });
const READER = token(['clinician']);

describe.each(['memory', 'redis'] as const)('entity cache (%s)', (backend) => {
  let graph: CacheGraph;
  let bus: EventBus;
  let gateway: RunningGateway;
  /** The gateway reaches `notes` through this, so a test can take it away. */
  let notesProxy: TcpProxy;
  const keyPrefix = `pg:test:entity-cache:${process.pid}:${randomBytes(4).toString('hex')}`;

  const start = async (cache: Record<string, unknown> = {}) =>
    createGateway(
      baseConfig({
        supergraphPath: graph.supergraphFile,
        subgraphs: { notes: { urls: [`http://127.0.0.1:${notesProxy.port}/graphql`], retry: { maxRetries: 0 } } },
        cache: {
          keyPrefix,
          ...(backend === 'redis' ? { redisUrl: REDIS_URL, secret: randomBytes(32).toString('hex'), timeoutMs: 5000 } : {}),
          invalidation: [{ topic: 'entity-changes' }],
          redeleteAfterMs: 0,
          ...cache,
        } as never,
      }),
      { bus },
    );

  beforeAll(async () => {
    graph = await startCacheGraph();
    notesProxy = await startTcpProxy(Number(new URL(graph.notes.url).port));
  });
  beforeEach(async () => {
    bus = createMemoryEventBus();
    gateway = await start();
    graph.reset();
  });
  afterEach(async () => {
    await gateway.stop();
    await bus.close();
    if (backend === 'redis') await deleteKeys(keyPrefix);
  });
  afterAll(async () => {
    await notesProxy.cut();
    await graph.stop();
  });

  const PEOPLE_WITH_NOTES = 'query($ids: [ID!]!) { people(ids: $ids) { id name notes { text } } }';
  /** Waits until `each` says (on /readyz) that it has applied the bus event at `cursor`. */
  const appliedBy = (each: RunningGateway, cursor: string) =>
    waitFor(
      'the gateway to apply the event',
      async () => {
        const ready = (await (await fetch(`${each.url}/readyz`)).json()) as { cache: { invalidation: { applied: Record<string, string> } } };
        return ready.cache.invalidation.applied['entity-changes'] === cursor;
      },
      20_000,
    );
  const ask = (query: string, variables?: Record<string, unknown>, as = READER) => graphql(gateway.graphqlUrl, query, { token: as, variables });

  it('answers a repeated query without asking any subgraph', async () => {
    const first = await ask(PEOPLE_WITH_NOTES, { ids: ['1', '2'] });
    expect(first.body).toEqual({
      data: {
        people: [
          { id: '1', name: 'Person 1', notes: [{ text: 'Note about 1' }] },
          { id: '2', name: 'Person 2', notes: [{ text: 'Note about 2' }] },
        ],
      },
      extensions: expect.anything(),
    });
    expect(graph.seen).toEqual({ people: ['1', '2'], notes: ['1', '2'], ledger: [] });
    graph.reset();
    const second = await ask(PEOPLE_WITH_NOTES, { ids: ['1', '2'] });
    expect(second.body.data).toEqual(first.body.data);
    expect(graph.seen).toEqual({ people: [], notes: [], ledger: [] });
  });

  it('serves what one named operation cached to another asking the same of a subgraph', async () => {
    await ask('query PeopleList($ids: [ID!]!) { people(ids: $ids) { id notes { text } } }', { ids: ['1', '2'] });
    graph.reset();
    const { body } = await ask('query PersonPage { person(id: "2") { id notes { text } } }');
    expect(body.data.person).toEqual({ id: '2', notes: [{ text: 'Note about 2' }] });
    expect(graph.seen.notes).toEqual([]);
    expect(body.extensions.cache.fetches).toEqual(expect.arrayContaining([{ subgraph: 'notes', type: 'Person', hits: 1, misses: 0 }]));
  });

  it('fetches only the entities it does not hold, and puts the answer together in order', async () => {
    await ask('{ person(id: "2") { notes { text } } }');
    await ask('{ person(id: "4") { notes { text } } }');
    graph.reset();
    const { body } = await ask(PEOPLE_WITH_NOTES, { ids: ['1', '2', '3', '4', '5'] });
    expect(body.data.people.map((person: { notes: Array<{ text: string }> }) => person.notes[0]!.text)).toEqual([
      'Note about 1',
      'Note about 2',
      'Note about 3',
      'Note about 4',
      'Note about 5',
    ]);
    expect(graph.seen.notes).toEqual(['1', '3', '5']);
    expect(body.extensions.cache.fetches).toEqual(
      expect.arrayContaining([{ subgraph: 'notes', type: 'Person', hits: 2, misses: 3 }, { subgraph: 'people', type: 'Query', hits: 0, misses: 1 }]),
    );
  });

  it('never keeps an entity that came with an error, and points the error at that entity', async () => {
    await ask(PEOPLE_WITH_NOTES, { ids: ['1'] });
    for (let round = 0; round < 2; round++) {
      graph.reset();
      const { body } = await ask(PEOPLE_WITH_NOTES, { ids: ['1', BROKEN_ID, '3'] });
      expect(body.errors).toEqual([expect.objectContaining({ path: ['people', 1, 'notes'], extensions: expect.objectContaining({ code: 'NOTES_UNREADABLE' }) })]);
      expect(body.data.people[0].notes).toEqual([{ text: 'Note about 1' }]);
      expect(body.data.people[2].notes).toEqual([{ text: 'Note about 3' }]);
      // Round 1 fetches 13 and 3; round 2 finds 3 cached, but 13 again is not.
      expect(graph.seen.notes).toEqual(round === 0 ? [BROKEN_ID, '3'] : [BROKEN_ID]);
    }
  });

  it('never caches what has no cache hint', async () => {
    for (let round = 0; round < 2; round++) {
      graph.reset();
      const { body } = await ask('{ headcount everyone { id balance } }');
      expect(body.data.headcount).toBe(6);
      expect(body.data.everyone).toHaveLength(6);
      // `headcount` (no hint) makes the root fetch uncacheable; ledger's Person has no hint at all.
      expect(graph.seen.people).toHaveLength(7);
      expect(graph.seen.ledger).toHaveLength(6);
    }
  });

  it('shares entries between callers with the same roles and clinic, and with nobody else', async () => {
    await ask(PEOPLE_WITH_NOTES, { ids: ['1'] }, token(['clinician'], 'alice'));
    const expectFetched = async (as: string, fetched: boolean) => {
      graph.reset();
      const { body } = await ask(PEOPLE_WITH_NOTES, { ids: ['1'] }, as);
      expect(body.data.people[0].notes).toEqual([{ text: 'Note about 1' }]);
      expect(graph.seen.notes).toEqual(fetched ? ['1'] : []);
    };
    await expectFetched(token(['clinician'], 'bob'), false);
    await expectFetched(token(['finance'], 'alice'), true);
    await expectFetched(token(['clinician', 'finance'], 'alice'), true);
    await expectFetched(token(['clinician'], 'alice', 'south'), true);
  });

  it('keeps what a subgraph marks PRIVATE for the one user who asked', async () => {
    const me = (subject: string) => ask('{ me { name } }', undefined, token(['clinician'], subject));
    expect((await me('alice')).body.data.me.name).toBe('Me (alice)');
    expect((await me('alice')).body.data.me.name).toBe('Me (alice)');
    expect((await me('bob')).body.data.me.name).toBe('Me (bob)');
    expect(graph.seen.people).toEqual(['me:alice', 'me:bob']);
  });

  it('evicts the entities a mutation returns', async () => {
    const PERSON_2 = '{ person(id: "2") { name notes { text } } }';
    await ask(PERSON_2);
    graph.reset();
    expect((await ask(PERSON_2)).body.data.person.name).toBe('Person 2');
    expect(graph.seen.people).toEqual([]);
    try {
      const renamed = await ask('mutation { rename(id: "2", name: "Renamed Two") { id name } }');
      expect(renamed.body.data.rename).toEqual({ id: '2', name: 'Renamed Two' });
      graph.reset();
      const { body } = await ask(PERSON_2);
      expect(body.data.person).toEqual({ name: 'Renamed Two', notes: [{ text: 'Note about 2' }] });
      // Person 2 is gone from every subgraph's entries, not only from the one that owns its name.
      expect(graph.seen).toEqual({ people: ['2'], notes: ['2'], ledger: [] });
    } finally {
      graph.names.set('2', 'Person 2');
    }
  });

  it('evicts an entity named by an event on the bus, wherever it was cached', async () => {
    await ask(PEOPLE_WITH_NOTES, { ids: ['3', '4'] });
    graph.names.set('3', 'Changed Three');
    graph.noteTexts.set('n4', 'Changed note');
    // Person 3 changed at its owner; note n4 changed, and only its text says which person shows it.
    try {
      const event = await bus.publish({ topic: 'entity-changes', type: 'entities.changed', payload: { entities: [{ type: 'Person', id: '3' }, { type: 'Note', id: 'n4' }] } });
      await appliedBy(gateway, event.cursor);
      graph.reset();
      const { body } = await ask(PEOPLE_WITH_NOTES, { ids: ['3', '4'] });
      expect(body.data.people).toEqual([
        { id: '3', name: 'Changed Three', notes: [{ text: 'Note about 3' }] },
        { id: '4', name: 'Person 4', notes: [{ text: 'Changed note' }] },
      ]);
      expect(graph.seen.notes.sort()).toEqual(['3', '4']);
      graph.reset();
      expect((await ask(PEOPLE_WITH_NOTES, { ids: ['3', '4'] })).body.data).toEqual(body.data);
      expect(graph.seen).toEqual({ people: [], notes: [], ledger: [] });
    } finally {
      graph.names.set('3', 'Person 3');
      graph.noteTexts.set('n4', 'Note about 4');
    }
  });

  it('evicts in every replica that follows the bus', async () => {
    const replica = await start();
    try {
      const askReplica = (variables: Record<string, unknown>) => graphql(replica.graphqlUrl, PEOPLE_WITH_NOTES, { token: READER, variables });
      await ask(PEOPLE_WITH_NOTES, { ids: ['1'] });
      await askReplica({ ids: ['1'] });
      graph.noteTexts.set('n1', 'Seen by both');
      const event = await bus.publish({ topic: 'entity-changes', type: 'entities.changed', payload: { entities: [{ type: 'Note', id: 'n1' }] } });
      for (const each of [gateway, replica]) await appliedBy(each, event.cursor);
      expect((await ask(PEOPLE_WITH_NOTES, { ids: ['1'] })).body.data.people[0].notes).toEqual([{ text: 'Seen by both' }]);
      expect((await askReplica({ ids: ['1'] })).body.data.people[0].notes).toEqual([{ text: 'Seen by both' }]);
    } finally {
      await replica.stop();
      graph.noteTexts.set('n1', 'Note about 1');
    }
  });

  it('still serves what it holds while a subgraph is down, and only the rest is null', async () => {
    await ask(PEOPLE_WITH_NOTES, { ids: ['1', '2'] });
    await notesProxy.cut();
    graph.reset();
    const { body } = await ask(PEOPLE_WITH_NOTES, { ids: ['1', '2', '3'] }).finally(() => notesProxy.restore());
    expect(body.data.people).toEqual([
      { id: '1', name: 'Person 1', notes: [{ text: 'Note about 1' }] },
      { id: '2', name: 'Person 2', notes: [{ text: 'Note about 2' }] },
      { id: '3', name: 'Person 3', notes: null },
    ]);
    expect(body.errors).toEqual([
      expect.objectContaining({ path: ['people', 2, 'notes'], extensions: expect.objectContaining({ code: 'UPSTREAM_UNAVAILABLE', serviceName: 'notes' }) }),
    ]);
    expect(graph.seen.notes).toEqual([]);
  });

  it('is off for a subgraph whose configuration says so', async () => {
    await gateway.stop();
    gateway = await start({ subgraphs: { notes: { enabled: false } } });
    for (let round = 0; round < 2; round++) {
      graph.reset();
      await ask(PEOPLE_WITH_NOTES, { ids: ['1'] });
      expect(graph.seen.notes).toEqual(['1']);
      expect(graph.seen.people).toEqual(round === 0 ? ['1'] : []);
    }
  });

  it('keeps an entry no longer than the cap configured for its type, whatever the hint says', async () => {
    await gateway.stop();
    gateway = await start({ subgraphs: { notes: { types: { Person: { maxTtlSeconds: 1 } } } } });
    await ask(PEOPLE_WITH_NOTES, { ids: ['5'] });
    graph.reset();
    await ask(PEOPLE_WITH_NOTES, { ids: ['5'] });
    expect(graph.seen.notes).toEqual([]);
    // The hint says 60 s; the cap says 1 s.
    await waitFor('the capped entry to expire', async () => {
      graph.reset();
      await ask(PEOPLE_WITH_NOTES, { ids: ['5'] });
      return graph.seen.notes.length === 1;
    }, 10_000);
  });

  it('counts hits and misses per subgraph and type on /metrics', async () => {
    await ask(PEOPLE_WITH_NOTES, { ids: ['1', '2'] });
    await ask(PEOPLE_WITH_NOTES, { ids: ['1', '2', '3'] });
    const metrics = await (await fetch(`${gateway.url}/metrics`)).text();
    expect(metrics).toContain('gateway_cache_lookups_total{subgraph="notes",type="Person",result="miss"} 3');
    expect(metrics).toContain('gateway_cache_lookups_total{subgraph="notes",type="Person",result="hit"} 2');
  });
});
