/** Entrypoint of the calendar subgraph: configuration from the environment, then serve. */
import { reportReady, runMain, stopOnSignals } from '../../../lib/process';
import { loadCalendarConfig } from './config';
import { createServer } from './server';

runMain(async () => {
  const config = loadCalendarConfig(process.env);
  const server = await createServer(config);
  reportReady('calendar', server.graphqlUrl);
  stopOnSignals(() => server.stop());
});
