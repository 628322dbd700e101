/**
 * The sync service's operational routes, next to the /healthz every subgraph has (alive):
 * /readyz says whether it can do its work (its bus and store answer, its worker runs) with 200 or
 * 503 and a JSON body naming what is wrong, and /metrics serves its Prometheus registry. Both
 * are open on the service's internal port; with SYNC_ADMIN_TOKEN set, /metrics needs it (it
 * counts the clinic's activity). /readyz carries no addresses or secrets, so a load balancer and
 * an operator read the same answer.
 */
import express from 'express';
import type { Router } from 'express';
import type { Registry } from 'prom-client';
import { requireBearerToken } from '../../../lib/bearer-token';
import type { EventBus } from '../../../lib/event-bus';
import type { SyncStore } from './store';

/** The worker as /readyz reports it: 'off' (SYNC_WORKER=false) is not a reason to be unready. */
export type WorkerPhase = 'starting' | 'running' | 'stopped' | 'off';

export interface StatusRouteOptions {
  bus: EventBus;
  store: SyncStore;
  worker: () => WorkerPhase;
  registry: Registry;
  /** When set, /metrics answers only requests carrying it as a bearer token. */
  adminToken?: string;
  /** A bus or store that has not answered within this is unreachable. @default 1000 */
  probeTimeoutMs?: number;
}

/** A checkpoint nobody writes: reading it is a round trip to the store and nothing more. */
const STORE_PROBE_CHECKPOINT = 'readyz-probe';

/** True when `probe` resolves truthy within `timeoutMs`; a throw or a hang is false. */
async function answers(probe: () => Promise<unknown>, timeoutMs: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), timeoutMs)));
  try {
    return await Promise.race([probe().then((value) => value !== false, () => false), late]);
  } finally {
    clearTimeout(timer);
  }
}

function workerIsReady(phase: WorkerPhase): boolean {
  switch (phase) {
    case 'running':
    case 'off':
      return true;
    case 'starting':
    case 'stopped':
      return false;
  }
}

export function createStatusRouter(options: StatusRouteOptions): Router {
  const probeTimeoutMs = options.probeTimeoutMs ?? 1000;
  const router = express.Router();
  router.get('/readyz', async (_req, res) => {
    const [busReachable, storeReachable] = await Promise.all([
      answers(() => options.bus.ping(), probeTimeoutMs),
      answers(() => options.store.getCheckpoint(STORE_PROBE_CHECKPOINT), probeTimeoutMs),
    ]);
    const worker = options.worker();
    const ready = busReachable && storeReachable && workerIsReady(worker);
    res.status(ready ? 200 : 503).json({
      status: ready ? 'ready' : 'not_ready',
      bus: { reachable: busReachable },
      store: { reachable: storeReachable },
      worker: { phase: worker },
    });
  });
  router.get('/metrics', ...(options.adminToken ? [requireBearerToken(options.adminToken)] : []), async (_req, res) => {
    res.setHeader('content-type', options.registry.contentType);
    res.send(await options.registry.metrics());
  });
  return router;
}
