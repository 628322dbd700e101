/** The shared event-bus behaviour, against the in-process bus and against a real Redis. */
import { createMemoryEventBus } from '../memory';
import { createRedisEventBus } from '../redis';
import { describeEventBus } from './event-bus.behaviour';
import { REDIS_URL, deleteKeys, uniqueKeyPrefix } from './redis-keys';

describeEventBus('memory', async (options) => createMemoryEventBus(options));

const keyPrefix = uniqueKeyPrefix();
describeEventBus('redis', (options) => createRedisEventBus({ ...options, url: REDIS_URL, keyPrefix }));
afterAll(() => deleteKeys(keyPrefix));
