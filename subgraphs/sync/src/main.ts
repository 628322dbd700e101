/** Entrypoint of the sync subgraph (and, with SYNC_WORKER, the worker): configuration from the environment, then serve until stopped. */
import { runSubgraph } from '../../../lib/subgraph-main';
import type { SubgraphEntrypoint } from '../../../lib/subgraph-main';
import { loadSyncConfig } from './config';
import { createServer, name } from './server';
import type { SyncServer } from './server';

export const entrypoint: SubgraphEntrypoint<SyncServer> = { name, start: (env, deps) => createServer(loadSyncConfig(env), deps) };

// The in-process test stack imports the entrypoint; only running the file as a program serves it.
if (require.main === module) runSubgraph(entrypoint);
