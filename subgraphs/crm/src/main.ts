/** Entrypoint of the crm subgraph: configuration from the environment, then serve until stopped. */
import { reportReady, runMain, stopOnSignals } from '../../../lib/process';
import { loadCrmConfig } from './config';
import { createServer, name } from './server';

runMain(async () => {
  const config = loadCrmConfig(process.env);
  const server = await createServer(config);
  reportReady(name, server.graphqlUrl);
  stopOnSignals(() => server.stop());
});
