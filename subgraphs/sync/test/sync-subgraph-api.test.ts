/**
 * The sync subgraph over HTTP: the review queue (`conflicts`, paged, `first` at most 500),
 * `conflict(id)`, `syncEvent(id)` read back from the bus by cursor, and the Patient, SyncEvent
 * and Conflict entities the gateway resolves through `_entities`.
 */
import { publishConflictEvent, publishSyncEvent } from '../src/events';
import { startSyncHarness } from './sync-harness';
import type { SyncHarness } from './sync-harness';

let h: SyncHarness;
const conflictIds: string[] = [];

beforeAll(async () => {
  h = await startSyncHarness({ patients: 5, server: true });
  for (let i = 0; i < 3; i++) {
    const { conflict } = await h.store.openConflict({
      patientId: 'patient-a',
      field: ['phone', 'email', 'dateOfBirth'][i]!,
      sembleValue: `s${i}`,
      crmValue: `c${i}`,
      lastSyncedValue: null,
      detectedAt: `2025-03-0${i + 1}T00:00:00.000Z`,
    });
    conflictIds.push((await publishConflictEvent(h.bus, h.store, conflict)).id);
  }
  await h.store.resolveConflict({ id: conflictIds[1]!, resolution: 'KEEP_SEMBLE', resolvedValue: 's1', resolvedBy: 'staff-1', resolvedAt: '2025-03-05T00:00:00.000Z' });
  await h.store.putStatus({ patientId: 'patient-a', state: 'CONFLICT', lastSyncedAt: '2025-03-01T00:00:00.000Z', crmContactId: '50013' });
});
afterAll(() => h.stop());

const CONFLICTS = /* GraphQL */ `
  query ($status: ConflictStatus, $first: Int, $after: String) {
    conflicts(status: $status, first: $first, after: $after) {
      nodes { id field status sembleValue crmValue cursor patient { id } }
      edges { cursor node { id } }
      pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
      totalCount
    }
  }`;

type ConflictsAnswer = {
  conflicts: {
    nodes: Array<{ id: string; field: string; status: string; cursor: string }>;
    edges: Array<{ cursor: string }>;
    pageInfo: { hasNextPage: boolean; endCursor: string | null };
    totalCount: number;
  };
};

it('lists open conflicts oldest first, a page at a time', async () => {
  const first = await h.graphql<ConflictsAnswer>(CONFLICTS, { status: 'OPEN', first: 1 });
  expect(first.errors).toBeUndefined();
  expect(first.data!.conflicts.nodes.map((node) => node.id)).toEqual([conflictIds[0]]);
  expect(first.data!.conflicts).toMatchObject({ totalCount: 2, pageInfo: { hasNextPage: true } });
  expect(first.data!.conflicts.nodes[0]!.cursor).toMatch(/^\d+-\d+$/);

  const second = await h.graphql<ConflictsAnswer>(CONFLICTS, { status: 'OPEN', first: 1, after: first.data!.conflicts.pageInfo.endCursor });
  expect(second.data!.conflicts.nodes.map((node) => node.id)).toEqual([conflictIds[2]]);
  expect(second.data!.conflicts.pageInfo.hasNextPage).toBe(false);

  const all = await h.graphql<ConflictsAnswer>(CONFLICTS, {});
  expect(all.data!.conflicts.nodes.map((node) => node.status)).toEqual(['OPEN', 'RESOLVED', 'OPEN']);
});

it('refuses more than 500 conflicts per page and cursors it did not hand out', async () => {
  const tooMany = await h.graphql(CONFLICTS, { first: 501 });
  expect(tooMany.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  const badCursor = await h.graphql(CONFLICTS, { after: 'abc' });
  expect(badCursor.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  expect((await h.graphql<ConflictsAnswer>(CONFLICTS, { first: 500 })).errors).toBeUndefined();
});

it('answers conflict(id), and NOT_FOUND for an id it does not know', async () => {
  const query = `query ($id: ID!) { conflict(id: $id) { id status resolution resolvedBy resolvedAt detectedAt lastSyncedValue } }`;
  const found = await h.graphql<{ conflict: Record<string, unknown> }>(query, { id: conflictIds[1] });
  expect(found.data!.conflict).toEqual({
    id: conflictIds[1],
    status: 'RESOLVED',
    resolution: 'KEEP_SEMBLE',
    resolvedBy: 'staff-1',
    resolvedAt: '2025-03-05T00:00:00.000Z',
    detectedAt: '2025-03-02T00:00:00.000Z',
    lastSyncedValue: null,
  });
  const missing = await h.graphql(query, { id: 'nope' });
  expect(missing.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
});

it('reads a sync event back by its id (its bus cursor)', async () => {
  // Several events, some in the same millisecond, so both cursor predecessors are exercised.
  const published = [];
  for (let i = 0; i < 5; i++) {
    published.push(
      await publishSyncEvent(h.bus, { type: 'CONFLICT_OPENED', patientId: 'patient-a', source: 'SEMBLE', fields: ['phone'], outcome: 'CONFLICT', conflictId: conflictIds[0]! }),
    );
  }
  const query = `query ($id: ID!) { syncEvent(id: $id) { id cursor type source target fields outcome time patient { id } conflict { id field } } }`;
  for (const event of published) {
    const answer = await h.graphql<{ syncEvent: Record<string, unknown> }>(query, { id: event.cursor });
    expect(answer.data!.syncEvent).toEqual({
      id: event.cursor,
      cursor: event.cursor,
      type: 'CONFLICT_OPENED',
      source: 'SEMBLE',
      target: null,
      fields: ['phone'],
      outcome: 'CONFLICT',
      time: event.payload.time,
      patient: { id: 'patient-a' },
      conflict: { id: conflictIds[0], field: 'phone' },
    });
  }
  const [ms, seq] = published[published.length - 1]!.cursor.split('-');
  expect((await h.graphql<{ syncEvent: unknown }>(query, { id: `${ms}-${Number(seq) + 1}` })).data!.syncEvent).toBeNull();
  expect((await h.graphql(query, { id: 'not-a-cursor' })).errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
});

it('resolves Patient.syncStatus and Patient.conflicts, and SyncEvent and Conflict entities', async () => {
  const query = /* GraphQL */ `
    query ($representations: [_Any!]!) {
      _entities(representations: $representations) {
        ... on Patient { id syncStatus { state lastSyncedAt openConflicts } conflicts(status: OPEN) { id } }
        ... on Conflict { id field }
        ... on SyncEvent { id type }
      }
    }`;
  const event = (await h.bus.read('sync-events', { limit: 1 }))[0]!;
  const answer = await h.graphql<{ _entities: unknown[] }>(query, {
    representations: [
      { __typename: 'Patient', id: 'patient-a' },
      { __typename: 'Patient', id: 'never-seen' },
      { __typename: 'Conflict', id: conflictIds[2] },
      { __typename: 'Conflict', id: 'nope' },
      { __typename: 'SyncEvent', id: event.cursor },
    ],
  });
  expect(answer.errors).toBeUndefined();
  expect(answer.data!._entities).toEqual([
    { id: 'patient-a', syncStatus: { state: 'CONFLICT', lastSyncedAt: '2025-03-01T00:00:00.000Z', openConflicts: 2 }, conflicts: [{ id: conflictIds[0] }, { id: conflictIds[2] }] },
    { id: 'never-seen', syncStatus: { state: 'NEVER_SYNCED', lastSyncedAt: null, openConflicts: 0 }, conflicts: [] },
    { id: conflictIds[2], field: 'dateOfBirth' },
    null,
    { id: event.cursor, type: 'CONFLICT_OPENED' },
  ]);
});
