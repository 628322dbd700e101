import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createMemorySyncStore } from '../src/store/memory';
import { withFileCheckpoints } from '../src/store/file-checkpoints';

describe('backfill checkpoints without Redis', () => {
  it('survive the process: a new store over the same file finds the place, and other state stays in memory', async () => {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'sync-state-')), 'nested', 'checkpoints.json');
    const first = withFileCheckpoints(createMemorySyncStore(), file);
    await first.setCheckpoint('backfill', JSON.stringify({ page: 3 }));
    await first.putStatus({ patientId: 'p1', state: 'IN_SYNC', lastSyncedAt: '2026-01-01T00:00:00.000Z', crmContactId: null });

    const second = withFileCheckpoints(createMemorySyncStore(), file);
    expect(await second.getCheckpoint('backfill')).toBe(JSON.stringify({ page: 3 }));
    expect(await second.getStatus('p1')).toBeNull();
    await second.deleteCheckpoint('backfill');
    expect(await withFileCheckpoints(createMemorySyncStore(), file).getCheckpoint('backfill')).toBeNull();
  });
});
