/** Entrypoint of the payments subgraph: configuration from the environment, then serve. */
import { runSubgraph } from '../../../lib/subgraph-main';
import type { SubgraphEntrypoint } from '../../../lib/subgraph-main';
import { loadPaymentsConfig } from './config';
import { createServer, name } from './server';

export const entrypoint: SubgraphEntrypoint = { name, start: (env, deps) => createServer(loadPaymentsConfig(env), deps) };

// The in-process test stack imports the entrypoint; only running the file as a program serves it.
if (require.main === module) runSubgraph(entrypoint);
