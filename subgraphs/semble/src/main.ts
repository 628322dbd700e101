/** Entrypoint of the Semble subgraph: configuration from the environment, then serve. */
import { reportReady, runMain, stopOnSignals } from '../../../lib/process';
import { loadSembleConfig } from './config';
import { createServer } from './server';

runMain(async () => {
  const config = loadSembleConfig(process.env);
  const server = await createServer(config);
  reportReady('semble', server.graphqlUrl);
  stopOnSignals(() => server.stop());
});
