/** Entrypoint of the cascade service (subgraph, intake and deliverer): configuration from the environment, then serve until stopped. */
import { runSubgraph } from '../../../lib/subgraph-main';
import type { SubgraphEntrypoint } from '../../../lib/subgraph-main';
import { loadCascadeConfig } from './config';
import { createServer, name } from './server';
import type { CascadeServer } from './server';

export const entrypoint: SubgraphEntrypoint<CascadeServer> = { name, start: (env, deps) => createServer(loadCascadeConfig(env), { ...deps, env }) };

// The in-process test stack imports the entrypoint; only running the file as a program serves it.
if (require.main === module) runSubgraph(entrypoint);
