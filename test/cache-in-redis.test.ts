/**
 * The patient graph with its entity cache in a Redis of its own (a real redis-server this test
 * starts and kills): nothing a patient could be recognised by is stored in clear text, and
 * Redis dying under load fails no query; the cache comes back when Redis does.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createClient } from 'redis';
import { waitFor } from '../lib/event-bus/test/wait-for';
import { freePort } from '../lib/stack/patient-graph';
import { startPatientGraph } from './stack';
import type { PatientGraphStack } from './stack';

interface OwnRedis {
  url: string;
  kill(): Promise<void>;
  start(): Promise<void>;
}

async function startOwnRedis(): Promise<OwnRedis> {
  const port = await freePort();
  const url = `redis://127.0.0.1:${port}`;
  let child: ChildProcess | undefined;
  const answers = async () => {
    const client = createClient({ url, socket: { reconnectStrategy: false, connectTimeout: 500 } });
    client.on('error', () => undefined);
    try {
      await client.connect();
      return (await client.ping()) === 'PONG';
    } catch {
      return false;
    } finally {
      if (client.isOpen) client.destroy();
    }
  };
  const own: OwnRedis = {
    url,
    async start() {
      child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
      await waitFor('redis-server to answer', answers, 15_000);
    },
    async kill() {
      const dying = child;
      if (!dying || dying.exitCode !== null) return;
      await new Promise<void>((resolve) => {
        dying.once('exit', () => resolve());
        dying.kill('SIGKILL');
      });
    },
  };
  await own.start();
  return own;
}

const PATIENT = 'query($id: ID!) { patient(id: $id) { fullName crmContact { lifecycleStage } payments { status } deals { stage } } }';

describe('the entity cache in Redis', () => {
  let redis: OwnRedis;
  let stack: PatientGraphStack;
  beforeAll(async () => {
    redis = await startOwnRedis();
    stack = await startPatientGraph({
      patients: 40,
      // HubSpot's real limit would turn the uncached load below into 429s, which is not what is tested.
      hubspotRateLimit: { max: 1_000_000, windowMs: 1000 },
      gatewayEnv: { CACHE_REDIS_URL: redis.url, CACHE_ENCRYPTION_KEY: randomBytes(32).toString('hex'), CACHE_TIMEOUT_MS: '500' },
    });
  });
  afterAll(async () => {
    await stack?.stop();
    await redis?.kill();
  });

  it('stores no email, phone number, NHS number or name in clear text, in keys or values', async () => {
    const overview = '{ patients(first: 40) { nodes { fullName email nhsNumber dateOfBirth phones { number e164 } crmContact { email phone firstName } payments { status } } } }';
    const first = await stack.query(overview);
    expect(first.errors).toBeUndefined();
    await stack.resetVendorRequests();
    expect((await stack.query(overview)).data).toEqual(first.data);
    // Served from Redis: no vendor was asked again.
    expect(Object.values(await stack.vendorRequests()).map((counts) => counts.total)).toEqual([0, 0, 0, 0, 0]);

    const client = createClient({ url: redis.url });
    await client.connect();
    const stored: string[] = [];
    try {
      for await (const keys of client.scanIterator({ COUNT: 500 })) {
        for (const key of keys) {
          stored.push(key);
          const type = await client.type(key);
          if (type === 'string') stored.push((await client.get(key)) ?? '');
          else if (type === 'set') stored.push(...(await client.sMembers(key)));
          else stored.push(`(${type})`);
        }
      }
    } finally {
      client.destroy();
    }
    expect(stored.length).toBeGreaterThan(40);
    const everything = stored.join('\n').toLowerCase();
    const identifying = stack.world.patients.flatMap((patient) => [
      patient.email,
      patient.nhsNumber,
      `${patient.firstName} ${patient.lastName}`,
      ...patient.phones.flatMap((phone) => [phone.number, phone.number.replace(/\D/g, ''), `+44${phone.number.replace(/\D/g, '').replace(/^0/, '')}`]),
    ]);
    const found = identifying.filter((value): value is string => Boolean(value) && everything.includes(value!.toLowerCase()));
    expect(found).toEqual([]);
  });

  it('fails no query when Redis is killed under load, and caches again once Redis is back', async () => {
    const ids = stack.world.patients.map((patient) => patient.id);
    const failures: unknown[] = [];
    let answered = 0;
    let answeredSinceKill = 0;
    let killed = false;
    const worker = async (offset: number) => {
      for (let i = offset; !killed || answeredSinceKill < 150; i += 4) {
        const result = await stack.query(PATIENT, { id: ids[i % ids.length] });
        if (result.status !== 200 || result.errors || !result.data?.patient?.fullName) failures.push(result.errors ?? result.status);
        answered += 1;
        if (killed) answeredSinceKill += 1;
      }
    };
    const load = Promise.all([0, 1, 2, 3].map(worker));
    await waitFor('load to be under way', () => answered >= 100, 30_000);
    await redis.kill();
    killed = true;
    await load;
    expect(failures).toEqual([]);
    expect(answeredSinceKill).toBeGreaterThanOrEqual(150);

    await redis.start();
    const asked = ids[0]!;
    await waitFor(
      'the cache to serve again',
      async () => {
        await stack.query(PATIENT, { id: asked });
        const again = await stack.query(PATIENT, { id: asked });
        return (again.extensions?.cache?.fetches as Array<{ hits: number }> | undefined)?.every((fetch) => fetch.hits > 0) ?? false;
      },
      30_000,
    );
    // Counted in answers, not seconds: a loaded machine takes longer to give them.
  }, 180_000);
});
