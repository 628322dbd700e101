/** Entrypoint of the sync subgraph (and, with SYNC_WORKER, the worker): configuration from the environment, then serve until stopped. */
import { reportReady, runMain, stopOnSignals } from '../../../lib/process';
import { loadSyncConfig } from './config';
import { createServer, name } from './server';

runMain(async () => {
  const config = loadSyncConfig(process.env);
  const server = await createServer(config);
  reportReady(name, server.graphqlUrl);
  stopOnSignals(() => server.stop());
});
