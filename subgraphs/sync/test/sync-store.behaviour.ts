/**
 * What every SyncStore must do, written once and run against each implementation
 * (sync-store.test.ts): shadows and statuses round-trip, one open conflict per
 * (patient, field), listings in detection order with page cursors, resolve as an idempotent
 * compare-and-set, and checkpoints.
 */
import type { OpenConflictInput, SyncStore } from '../src/store';
import { SyncStoreError } from '../src/store';

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
  });
}
