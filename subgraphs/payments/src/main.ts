/** Entrypoint of the payments subgraph: configuration from the environment, then serve. */
import { reportReady, runMain, stopOnSignals } from '../../../lib/process';
import { loadPaymentsConfig } from './config';
import { createServer } from './server';

runMain(async () => {
  const config = loadPaymentsConfig(process.env);
  const server = await createServer(config);
  reportReady('payments', server.graphqlUrl);
  stopOnSignals(() => server.stop());
});
