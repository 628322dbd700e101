/**
 * `npm start`: the whole patient graph on embedded defaults, one command. Shows each service as
 * it starts and is ready, then the gateway URL, a development token, a sample query and the
 * emulators' admin URLs; keeps the services running (the launcher restarts one that dies);
 * Ctrl-C or SIGTERM stops every process it started.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import { fromRoot } from '../root';
import { portInUseMessage } from '../process';
import { ALL_EMULATORS, SYNC_SERVICE } from '../services';
import { DEV_IDENTITY, removeDevAuthFile, signDevToken, writeDevAuthFile } from './dev-token';
import { launch } from './launcher';
import { patientGraphServices, portIfFree } from './patient-graph';

const SAMPLE_QUERY = '{ patients(first: 3) { totalCount nodes { id fullName dataQuality { score route } crmContact { lifecycleStage } payments { status amountMinor } } } }';

function parseReplicas(value: string): number {
  const replicas = Number(value);
  if (!Number.isInteger(replicas) || replicas < 1 || replicas > 8) throw new InvalidArgumentError(`expected a whole number 1-8, got ${JSON.stringify(value)}`);
  return replicas;
}

/** Where the backfill CLI finds this run's sync service (see subgraphs/sync/src/backfill-remote.ts). */
function writeServiceFile(env: NodeJS.ProcessEnv, service: { url: string; token: string }): string | undefined {
  const file = path.resolve(env.SYNC_SERVICE_FILE || fromRoot('.sync-state', 'service.json'));
  try {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, `${JSON.stringify(service)}\n`, { mode: 0o600 });
    return file;
  } catch (error) {
    console.error(`Could not write ${file} (${(error as Error).message}): \`npm run sync -- --backfill\` will run on its own, not through the sync service.`);
    return undefined;
  }
}

/** Removes the file if it is still ours (a later `npm start` may have taken it over). */
function removeServiceFile(file: string, token: string): void {
  try {
    if ((JSON.parse(fs.readFileSync(file, 'utf8')) as { token?: string }).token === token) fs.rmSync(file);
  } catch {
    // Already gone, or not ours to judge.
  }
}

async function main() {
  const env = process.env;
  const program = new Command('npm start')
    .description('Start the whole patient graph: vendor emulators, subgraphs and the gateway')
    .option('--replicas <n>', 'instances of each subgraph, load-balanced by the gateway (env REPLICAS)', parseReplicas)
    .parse(process.argv);
  const replicas = program.opts<{ replicas?: number }>().replicas ?? (env.REPLICAS ? parseReplicas(env.REPLICAS) : 1);
  const port = env.PORT === undefined || env.PORT === '' ? 4000 : Number(env.PORT);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    console.error(`PORT: expected a port 0-65535, found ${JSON.stringify(env.PORT)}`);
    process.exit(78);
  }
  const seedPatients = env.SEED_PATIENTS ? Number(env.SEED_PATIENTS) : 500;
  if (!Number.isInteger(seedPatients) || seedPatients < 1) {
    console.error(`SEED_PATIENTS: expected a whole number >= 1, found ${JSON.stringify(env.SEED_PATIENTS)}`);
    process.exit(78);
  }
  // Embedded default: a fresh secret per run, and a token for every role to try the graph with.
  const jwtSecret = env.AUTH_JWT_SECRET ?? crypto.randomBytes(32).toString('hex');
  const devToken = signDevToken(jwtSecret, DEV_IDENTITY);

  // Said now rather than after every emulator has seeded its world: the gateway binds last. Its
  // own bind still decides (something may take the port meanwhile), and says the same.
  if (port !== 0 && (await portIfFree(port, env.HOST ?? '127.0.0.1')) === undefined) {
    console.error(portInUseMessage(port));
    process.exit(1);
  }

  // Without Redis the sync service's store and bus live in its memory: `npm run sync -- --backfill`
  // runs its pages there, through the admin route, found with this file (removed on the way out).
  const syncAdminToken = env.REDIS_URL ? undefined : crypto.randomBytes(24).toString('hex');
  // The documented ports, so `npm run sync -- --backfill` and other tools find the emulators with
  // their defaults; a service whose port is taken binds another and the progress lines say which.
  const emulatorPorts = Object.fromEntries(ALL_EMULATORS.map(({ name, defaultPort }) => [name, defaultPort]));
  const services = patientGraphServices({ gatewayPort: port, jwtSecret, developmentToken: devToken, seedPatients, replicas, syncPort: SYNC_SERVICE.port, syncAdminToken, emulatorPorts, env });
  console.error(`Starting the patient graph: ${services.flat().length} processes, one line each as it starts and as it is ready…`);
  const stack = await launch(services);
  const serviceFile = syncAdminToken ? writeServiceFile(env, { url: new URL(stack.urls.sync!).origin, token: syncAdminToken }) : undefined;
  // `npm run token` signs tokens for other roles with this run's secret, found in this file.
  const authFile = (env.AUTH_MODE ?? 'jwt') === 'jwt' ? writeDevAuthFile(env, jwtSecret) : undefined;
  // The gateway binds 127.0.0.1 by default; localhost is the name people type.
  const url = stack.urls.gateway!.replace('://127.0.0.1:', '://localhost:');
  const ide = /^(0|false|no|off)$/i.test(env.IDE_ENABLED ?? '')
    ? ''
    : `\n  (open it in a browser for GraphiQL${authFile ? '; on this machine its headers editor holds the token below' : ''})`;
  console.log(`
The patient graph is running at ${url}${replicas > 1 ? `\n  (${replicas} instances of each subgraph behind the gateway's upstream pools)` : ''}${ide}

Development token (valid 12 h; every request needs it; \`npm run -s token -- --role finance\` makes one for other roles):
  ${devToken}

Try:
  curl -s ${url} -H 'content-type: application/json' -H 'authorization: Bearer ${devToken}' \\
    --data '${JSON.stringify({ query: SAMPLE_QUERY })}'

Vendor emulators (admin API: requests served, faults to inject, webhooks sent; see the README):
${ALL_EMULATORS.map(({ name }) => `  ${name.padEnd(26)}${stack.urls[name]}/__admin`).join('\n')}

A service that dies is restarted on its port; each death and restart is a line here. Ctrl-C stops everything.`);

  const onSignal = () => void stack.stop();
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const reason = await stack.stopped;
  if (serviceFile) removeServiceFile(serviceFile, syncAdminToken!);
  if (authFile) removeDevAuthFile(authFile, jwtSecret);
  if (reason !== 'stopped') console.error(`The patient graph stopped: ${reason}`);
  process.exit(reason === 'stopped' ? 0 : 1);
}

main().catch((error: unknown) => {
  console.error(`The patient graph could not start: ${(error as Error).message}`);
  process.exit(1);
});
