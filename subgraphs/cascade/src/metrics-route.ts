/**
 * GET /metrics of the cascade service: its Prometheus registry (metrics.ts). Protected as the
 * sync service's is: open on the service's internal port, and with CASCADE_ADMIN_TOKEN set only
 * for requests carrying it as a bearer token (the counters show the clinic's activity).
 */
import express from 'express';
import type { Router } from 'express';
import type { Registry } from 'prom-client';
import { requireBearerToken } from '../../../lib/bearer-token';

export function createMetricsRouter(registry: Registry, adminToken?: string): Router {
  const router = express.Router();
  router.get('/metrics', ...(adminToken ? [requireBearerToken(adminToken)] : []), async (_req, res) => {
    res.setHeader('content-type', registry.contentType);
    res.send(await registry.metrics());
  });
  return router;
}
