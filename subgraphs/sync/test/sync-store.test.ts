/** The shared sync-store behaviour, against the in-process store and against a real Redis. */
import { createMemorySyncStore, createRedisSyncStore } from '../src/store';
import { REDIS_URL, deleteKeys, uniqueKeyPrefix } from '../../../lib/event-bus/test/redis-keys';
import { describeSyncStore } from './sync-store.behaviour';

describeSyncStore('memory', async () => createMemorySyncStore());

let keyPrefix = uniqueKeyPrefix();
describeSyncStore(
  'redis',
  async () => {
    // A fresh prefix per test: every test starts from an empty store.
    keyPrefix = uniqueKeyPrefix();
    return createRedisSyncStore({ url: REDIS_URL, keyPrefix });
  },
  () => deleteKeys(keyPrefix),
);
