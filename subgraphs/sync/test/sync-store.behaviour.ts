/**
 * What every SyncStore must do, written once and run against each implementation
 * (sync-store.test.ts): shadows and statuses round-trip, one open conflict per
 * (patient, field), listings in detection order with page cursors, review queues (held and
 * flagged patients) kept by putStatus, resolve as an idempotent
 * compare-and-set, checkpoints, and named locks (mutual exclusion, release on throw, a dead
 * holder's lock lapses after its TTL, a bounded wait, a lapsed holder never deletes its
 * successor's lock).
 */
import type { AssessedDataQuality, OpenConflictInput, PatientSyncStatus, SyncStore } from '../src/store';
import { LockTimeoutError, SyncStoreError } from '../src/store';

/** A promise to settle by hand, so a test decides when a lock holder leaves (no sleeps). */
function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((done) => {
    resolve = done;
  });
  return { promise, resolve };
}

export function describeSyncStore(name: string, createStore: () => Promise<SyncStore>, cleanUp: () => Promise<void> = async () => undefined): void {
  describe(`SyncStore (${name})`, () => {
    let store: SyncStore;
    beforeEach(async () => {
      store = await createStore();
    });
    afterEach(async () => {
      await store.close();
      await cleanUp();
    });

    const conflictOn = (patientId: string, field: string, overrides: Partial<OpenConflictInput> = {}): OpenConflictInput => ({
      patientId,
      field,
      sembleValue: '+447700900001',
      crmValue: '+447700900002',
      lastSyncedValue: '+447700900000',
      detectedAt: '2025-03-01T12:00:00.000Z',
      ...overrides,
    });

    it('keeps the shadow copy and the sync status of each patient', async () => {
      expect(await store.getShadow('p1')).toBeNull();
      expect(await store.getStatus('p1')).toBeNull();
      const shadow = { patientId: 'p1', syncedAt: '2025-03-01T12:00:00.000Z', values: { email: 'a@example.com', phone: null } };
      await store.putShadow(shadow);
      await store.putStatus({ patientId: 'p1', state: 'IN_SYNC', lastSyncedAt: shadow.syncedAt, crmContactId: '501' });
      expect(await store.getShadow('p1')).toEqual(shadow);
      expect(await store.getStatus('p1')).toEqual({ patientId: 'p1', state: 'IN_SYNC', lastSyncedAt: shadow.syncedAt, crmContactId: '501' });
      expect(await store.getShadow('p2')).toBeNull();
    });

    it('opens one conflict per patient and field: opening again updates the values', async () => {
      const first = await store.openConflict(conflictOn('p1', 'phone'));
      expect(first).toMatchObject({ created: true, changed: true, conflict: { status: 'OPEN', patientId: 'p1', field: 'phone', cursor: null, resolution: null } });
      const same = await store.openConflict(conflictOn('p1', 'phone'));
      expect(same).toMatchObject({ created: false, changed: false, conflict: { id: first.conflict.id } });
      const moved = await store.openConflict(conflictOn('p1', 'phone', { crmValue: '+447700900003', detectedAt: '2025-03-02T00:00:00.000Z' }));
      expect(moved.created).toBe(false);
      expect(moved.changed).toBe(true);
      expect(moved.conflict).toMatchObject({ id: first.conflict.id, crmValue: '+447700900003', detectedAt: '2025-03-01T12:00:00.000Z' });
      const other = await store.openConflict(conflictOn('p1', 'email', { sembleValue: null }));
      expect(other.created).toBe(true);
      expect(other.conflict.sembleValue).toBeNull();
      expect((await store.conflictsOfPatient('p1', 'OPEN')).map((c) => c.field)).toEqual(['phone', 'email']);
    });

    it('keeps one open conflict when the same conflict is opened concurrently', async () => {
      const results = await Promise.all(Array.from({ length: 10 }, () => store.openConflict(conflictOn('p9', 'dateOfBirth'))));
      expect(results.filter((result) => result.created)).toHaveLength(1);
      expect(new Set(results.map((result) => result.conflict.id)).size).toBe(1);
      expect(await store.conflictsOfPatient('p9')).toHaveLength(1);
    });

    it('lists conflicts by status in detection order, a page at a time', async () => {
      const ids: string[] = [];
      for (let i = 0; i < 5; i++) ids.push((await store.openConflict(conflictOn(`p${i}`, 'phone'))).conflict.id);
      await store.resolveConflict({ id: ids[1]!, resolution: 'KEEP_CRM', resolvedValue: '+447700900002', resolvedBy: 'staff-1', resolvedAt: '2025-03-03T00:00:00.000Z' });

      const firstPage = await store.listConflicts({ status: 'OPEN', first: 2 });
      expect(firstPage.edges.map((edge) => edge.conflict.id)).toEqual([ids[0], ids[2]]);
      expect(firstPage).toMatchObject({ hasNextPage: true, totalCount: 4 });
      const secondPage = await store.listConflicts({ status: 'OPEN', first: 2, after: firstPage.edges[1]!.cursor });
      expect(secondPage.edges.map((edge) => edge.conflict.id)).toEqual([ids[3], ids[4]]);
      expect(secondPage.hasNextPage).toBe(false);

      const resolved = await store.listConflicts({ status: 'RESOLVED', first: 10 });
      expect(resolved.edges.map((edge) => edge.conflict.id)).toEqual([ids[1]]);
      const all = await store.listConflicts({ first: 10 });
      expect(all.edges.map((edge) => edge.conflict.id)).toEqual(ids);
      expect(all.totalCount).toBe(5);
      await expect(store.listConflicts({ first: 1, after: 'not-a-cursor' })).rejects.toMatchObject({ code: 'INVALID_PAGE_CURSOR' });
    });

    describe('review queues', () => {
      const HELD_QUALITY: AssessedDataQuality = { score: 40, issues: ['EMAIL_INVALID', 'PHONE_INVALID', 'NHS_NUMBER_INVALID'], route: 'HOLD_FOR_REVIEW', since: '2025-03-01T12:00:00.000Z' };
      const FLAGGED_QUALITY: AssessedDataQuality = { score: 60, issues: ['PHONE_INVALID', 'NHS_NUMBER_INVALID'], route: 'SYNC_AND_FLAG', since: '2025-03-01T12:00:00.000Z' };
      const CLEAN_QUALITY: AssessedDataQuality = { score: 100, issues: [], route: 'DIRECT', since: '2025-03-01T12:00:00.000Z' };
      const statusOf = (patientId: string, dataQuality: PatientSyncStatus['dataQuality'], state: PatientSyncStatus['state'] = 'IN_SYNC'): PatientSyncStatus => ({
        patientId,
        state,
        lastSyncedAt: null,
        crmContactId: null,
        dataQuality: dataQuality && { ...dataQuality, issues: [...dataQuality.issues] },
      });
      const idsIn = async (queue: 'HELD' | 'FLAGGED') => (await store.listReviewQueue(queue, { first: 100 })).edges.map((edge) => edge.status.patientId);

      it('lists the patients each status routes to a queue, in the order they entered it, with their statuses', async () => {
        await store.putStatus(statusOf('p1', HELD_QUALITY, 'HELD_FOR_REVIEW'));
        await store.putStatus(statusOf('p2', FLAGGED_QUALITY, 'FLAGGED'));
        await store.putStatus(statusOf('p3', CLEAN_QUALITY));
        await store.putStatus(statusOf('p4', HELD_QUALITY, 'CONFLICT'));
        await store.putStatus({ patientId: 'p5', state: 'IN_SYNC', lastSyncedAt: null, crmContactId: null });
        const held = await store.listReviewQueue('HELD', { first: 10 });
        expect(held.edges.map((edge) => edge.status)).toEqual([statusOf('p1', HELD_QUALITY, 'HELD_FOR_REVIEW'), statusOf('p4', HELD_QUALITY, 'CONFLICT')]);
        expect(held).toMatchObject({ hasNextPage: false, totalCount: 2 });
        expect(await idsIn('FLAGGED')).toEqual(['p2']);
        expect(await store.listReviewQueue('FLAGGED', { first: 0 })).toEqual({ edges: [], hasNextPage: true, totalCount: 1 });
      });

      it('moves a patient between queues as its status changes, keeping its place while it stays', async () => {
        await store.putStatus(statusOf('p1', HELD_QUALITY));
        await store.putStatus(statusOf('p2', HELD_QUALITY));
        // Re-synced and still held: same place, newer status.
        await store.putStatus({ ...statusOf('p1', HELD_QUALITY), lastSyncedAt: '2025-03-02T00:00:00.000Z' });
        expect(await idsIn('HELD')).toEqual(['p1', 'p2']);
        expect((await store.listReviewQueue('HELD', { first: 1 })).edges[0]!.status.lastSyncedAt).toBe('2025-03-02T00:00:00.000Z');

        // Partly fixed: from held to flagged; fixed: out of both; worse again: back at the end.
        await store.putStatus(statusOf('p1', FLAGGED_QUALITY));
        expect({ held: await idsIn('HELD'), flagged: await idsIn('FLAGGED') }).toEqual({ held: ['p2'], flagged: ['p1'] });
        await store.putStatus(statusOf('p1', CLEAN_QUALITY));
        expect({ held: await idsIn('HELD'), flagged: await idsIn('FLAGGED') }).toEqual({ held: ['p2'], flagged: [] });
        await store.putStatus(statusOf('p1', HELD_QUALITY));
        expect(await idsIn('HELD')).toEqual(['p2', 'p1']);
        // A status with no assessment takes the patient out of the queues.
        await store.putStatus({ patientId: 'p2', state: 'IN_SYNC', lastSyncedAt: null, crmContactId: null });
        expect((await store.listReviewQueue('HELD', { first: 10 })).totalCount).toBe(1);
      });

      it('pages through a queue with cursors', async () => {
        for (const id of ['p1', 'p2', 'p3', 'p4', 'p5']) await store.putStatus(statusOf(id, HELD_QUALITY));
        await store.putStatus(statusOf('p2', CLEAN_QUALITY));
        const first = await store.listReviewQueue('HELD', { first: 2 });
        expect(first.edges.map((edge) => edge.status.patientId)).toEqual(['p1', 'p3']);
        expect(first).toMatchObject({ hasNextPage: true, totalCount: 4 });
        const second = await store.listReviewQueue('HELD', { first: 2, after: first.edges[1]!.cursor });
        expect(second.edges.map((edge) => edge.status.patientId)).toEqual(['p4', 'p5']);
        expect(second).toMatchObject({ hasNextPage: false, totalCount: 4 });
        await expect(store.listReviewQueue('HELD', { first: 1, after: 'not-a-cursor' })).rejects.toMatchObject({ code: 'INVALID_PAGE_CURSOR' });
      });
    });

    it('resolves as a compare-and-set: the same resolution again is idempotent, a different one is refused', async () => {
      const { conflict } = await store.openConflict(conflictOn('p1', 'phone'));
      const input = { id: conflict.id, resolution: 'KEEP_CRM' as const, resolvedValue: '+447700900002', resolvedBy: 'staff-1', resolvedAt: '2025-03-03T00:00:00.000Z' };
      const resolved = await store.resolveConflict(input);
      expect(resolved).toMatchObject({ status: 'RESOLVED', resolution: 'KEEP_CRM', resolvedValue: '+447700900002', resolvedBy: 'staff-1', resolvedAt: input.resolvedAt });

      const again = await store.resolveConflict({ ...input, resolvedBy: 'staff-2', resolvedAt: '2025-03-04T00:00:00.000Z' });
      expect(again).toEqual(resolved);
      const refused = store.resolveConflict({ ...input, resolution: 'KEEP_SEMBLE', resolvedValue: '+447700900001' });
      await expect(refused).rejects.toBeInstanceOf(SyncStoreError);
      await expect(refused).rejects.toMatchObject({ code: 'CONFLICT_ALREADY_RESOLVED' });
      await expect(store.resolveConflict({ ...input, id: 'no-such-conflict' })).rejects.toMatchObject({ code: 'CONFLICT_NOT_FOUND' });

      // Resolved, the (patient, field) slot is free: the next disagreement is a new conflict.
      const next = await store.openConflict(conflictOn('p1', 'phone'));
      expect(next.created).toBe(true);
      expect(next.conflict.id).not.toBe(conflict.id);
    });

    it('lets exactly one of two concurrent different resolutions win', async () => {
      const { conflict } = await store.openConflict(conflictOn('p1', 'phone'));
      const base = { id: conflict.id, resolvedBy: 'staff', resolvedAt: '2025-03-03T00:00:00.000Z' };
      const outcomes = await Promise.allSettled([
        store.resolveConflict({ ...base, resolution: 'KEEP_CRM', resolvedValue: '+447700900002' }),
        store.resolveConflict({ ...base, resolution: 'KEEP_SEMBLE', resolvedValue: '+447700900001' }),
      ]);
      expect(outcomes.filter((outcome) => outcome.status === 'fulfilled')).toHaveLength(1);
      expect(outcomes.filter((outcome) => outcome.status === 'rejected')).toHaveLength(1);
    });

    it('records the cursor of the event that last changed a conflict', async () => {
      const { conflict } = await store.openConflict(conflictOn('p1', 'phone'));
      expect(await store.setConflictCursor(conflict.id, '1700000000000-3')).toMatchObject({ id: conflict.id, cursor: '1700000000000-3' });
      expect((await store.getConflict(conflict.id))?.cursor).toBe('1700000000000-3');
      expect(await store.setConflictCursor('no-such-conflict', '1-0')).toBeNull();
      expect(await store.getConflict('no-such-conflict')).toBeNull();
    });

    it('keeps invoice payment states and named checkpoints', async () => {
      expect(await store.getInvoicePayment('inv1')).toBeNull();
      const payment = { invoiceId: 'inv1', patientId: 'p1', provider: 'stripe' as const, paymentId: 'pi_1', state: 'PAID' as const, amount: 6000, currency: 'gbp', updatedAt: '2025-03-01T00:00:00.000Z' };
      await store.putInvoicePayment(payment);
      expect(await store.getInvoicePayment('inv1')).toEqual(payment);

      expect(await store.getCheckpoint('backfill')).toBeNull();
      await store.setCheckpoint('backfill', '{"page":3}');
      await store.setCheckpoint('semble-poll', '2025-03-01T00:00:00.000Z');
      expect(await store.getCheckpoint('backfill')).toBe('{"page":3}');
      await store.deleteCheckpoint('backfill');
      expect(await store.getCheckpoint('backfill')).toBeNull();
      expect(await store.getCheckpoint('semble-poll')).toBe('2025-03-01T00:00:00.000Z');
    });

    describe('withLock', () => {
      it('never lets two holders of one name overlap, and does not hold up other names', async () => {
        const log: string[] = [];
        const holder = (id: number) =>
          store.withLock('patient:p1', { ttlMs: 10_000, waitMs: 10_000 }, async () => {
            log.push(`enter ${id}`);
            // Give the others every chance to get in: several turns of the event loop and a store round trip.
            for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
            await store.getShadow('p1');
            log.push(`leave ${id}`);
            return id;
          });
        const other = store.withLock('patient:p2', { ttlMs: 10_000, waitMs: 0 }, async () => 'other');
        const results = await Promise.all([holder(1), holder(2), holder(3), holder(4), other]);
        expect(results).toEqual([1, 2, 3, 4, 'other']);
        expect(log).toHaveLength(8);
        for (let i = 0; i < log.length; i += 2) {
          const id = log[i]!.split(' ')[1];
          expect([log[i], log[i + 1]]).toEqual([`enter ${id}`, `leave ${id}`]);
        }
      });

      it('releases the lock when the holder throws, and passes the error on', async () => {
        const failure = new Error('sync failed');
        await expect(
          store.withLock('patient:p1', { ttlMs: 10_000, waitMs: 0 }, async () => {
            throw failure;
          }),
        ).rejects.toBe(failure);
        // waitMs 0: one attempt, which only succeeds if the lock was released.
        await expect(store.withLock('patient:p1', { ttlMs: 10_000, waitMs: 0 }, async () => 'next')).resolves.toBe('next');
      });

      it('gives up with LockTimeoutError after waitMs while the lock is held, without running fn', async () => {
        const entered = deferred();
        const leave = deferred();
        const holding = store.withLock('patient:p1', { ttlMs: 10_000, waitMs: 0 }, async () => {
          entered.resolve();
          await leave.promise;
        });
        await entered.promise;
        let ran = false;
        const waiting = store.withLock('patient:p1', { ttlMs: 10_000, waitMs: 150 }, async () => {
          ran = true;
        });
        await expect(waiting).rejects.toBeInstanceOf(LockTimeoutError);
        await expect(waiting).rejects.toMatchObject({ lockName: 'patient:p1', waitedMs: 150 });
        expect(ran).toBe(false);
        leave.resolve();
        await holding;
      });

      it('keeps a live holder\'s lock beyond its TTL by renewing it', async () => {
        const entered = deferred();
        const leave = deferred();
        const holding = store.withLock('patient:p1', { ttlMs: 600, waitMs: 0 }, async () => {
          entered.resolve();
          await leave.promise;
        });
        await entered.promise;
        // Waits well past the holder's TTL: renewed every 200 ms, the lock never lapses.
        await expect(store.withLock('patient:p1', { ttlMs: 10_000, waitMs: 1_500 }, async () => undefined)).rejects.toBeInstanceOf(LockTimeoutError);
        leave.resolve();
        await holding;
      });

      it('lets the next holder take a lock whose holder died, once its TTL has passed', async () => {
        const entered = deferred();
        const never = deferred();
        // keepAlive false: nothing renews the lock, as when the holder's process is gone.
        const dead = store.withLock('patient:p1', { ttlMs: 200, waitMs: 0, keepAlive: false }, async () => {
          entered.resolve();
          await never.promise;
        });
        await entered.promise;
        const order: string[] = [];
        await store.withLock('patient:p1', { ttlMs: 10_000, waitMs: 10_000 }, async () => {
          order.push('next holder');
        });
        expect(order).toEqual(['next holder']);
        never.resolve();
        await dead;
      });

      it('does not delete the lock of whoever took it after the previous holder\'s lock lapsed', async () => {
        const firstEntered = deferred();
        const firstLeave = deferred();
        const first = store.withLock('patient:p1', { ttlMs: 200, waitMs: 0, keepAlive: false }, async () => {
          firstEntered.resolve();
          await firstLeave.promise;
        });
        await firstEntered.promise;

        const secondEntered = deferred();
        const secondLeave = deferred();
        const second = store.withLock('patient:p1', { ttlMs: 10_000, waitMs: 10_000 }, async () => {
          secondEntered.resolve();
          await secondLeave.promise;
        });
        await secondEntered.promise;

        // The stalled first holder finishes now and releases: the second's lock must survive it.
        firstLeave.resolve();
        await first;
        await expect(store.withLock('patient:p1', { ttlMs: 10_000, waitMs: 0 }, async () => undefined)).rejects.toBeInstanceOf(LockTimeoutError);

        secondLeave.resolve();
        await second;
        await expect(store.withLock('patient:p1', { ttlMs: 10_000, waitMs: 0 }, async () => 'free')).resolves.toBe('free');
      });
    });
  });
}
