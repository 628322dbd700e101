/** Entrypoint of the crm subgraph: configuration from the environment, then serve until stopped. */
import { runSubgraph } from '../../../lib/subgraph-main';
import type { SubgraphEntrypoint } from '../../../lib/subgraph-main';
import { loadCrmConfig } from './config';
import { createServer, name } from './server';

export const entrypoint: SubgraphEntrypoint = { name, start: (env) => createServer(loadCrmConfig(env)) };

// The in-process test stack imports the entrypoint; only running the file as a program serves it.
if (require.main === module) runSubgraph(entrypoint);
