/**
 * The gateway's Prometheus metrics (prom-client), in a registry of its own so several gateways
 * can live in one process (tests). Upstream endpoint state is exported as gauges that always
 * hold the current state; transitions are counted.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Logger } from '../../lib/logger';
import type { RateLimitName } from './rate-limit/rate-limits';
import type { BreakerState } from './upstream/breaker';
import type { Endpoint, EndpointEvent } from './upstream/endpoint';
import type { BulkheadObserver } from './pipeline/bulkhead-stage';
import type { PoolObserver } from './upstream/pool';

const BREAKER_VALUE: Record<BreakerState, number> = { closed: 0, open: 1, 'half-open': 2 };

export interface GatewayMetrics {
  registry: Registry;
  upstreamObserver: PoolObserver;
  bulkheadObserver: BulkheadObserver;
  /** Register an endpoint so its gauges exist before anything happens to it. */
  trackEndpoint(endpoint: Endpoint): void;
  observeRequest(labels: { operation: string; outcome: 'success' | 'error' }, seconds: number): void;
  setSubscribers(count: number): void;
  /** A request refused by a rate limit. */
  countRateLimited(limit: RateLimitName): void;
  /** A subgraph call answered by sharing an identical in-flight one. */
  countDeduplicated(subgraph: string): void;
  cache: {
    lookup(subgraph: string, type: string, outcome: 'hit' | 'miss', count: number): void;
    /** An invalidation event was applied; `byLabel` counts evicted entries by `subgraph/type`. */
    applied(topic: string, byLabel: ReadonlyMap<string, number>): void;
    error(operation: string): void;
    breaker(state: 'closed' | 'open' | 'half-open'): void;
  };
}

export function createGatewayMetrics(logger: Logger): GatewayMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'gateway_' });

  const requests = new Histogram({
    name: 'gateway_graphql_request_duration_seconds',
    help: 'GraphQL requests served by the gateway, by operation type and outcome',
    labelNames: ['operation', 'outcome'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  const healthy = new Gauge({
    name: 'gateway_upstream_endpoint_healthy',
    help: '1 when the endpoint is healthy, 0 when ejected',
    labelNames: ['subgraph', 'url', 'role'],
    registers: [registry],
  });
  const breaker = new Gauge({
    name: 'gateway_upstream_breaker_state',
    help: 'Circuit breaker state per endpoint: 0 closed, 1 open, 2 half-open',
    labelNames: ['subgraph', 'url'],
    registers: [registry],
  });
  const transitions = new Counter({
    name: 'gateway_upstream_state_changes_total',
    help: 'Endpoint state changes (health: healthy/ejected; breaker: closed/open/half-open)',
    labelNames: ['subgraph', 'url', 'kind', 'state'],
    registers: [registry],
  });
  const attempts = new Histogram({
    name: 'gateway_upstream_attempt_duration_seconds',
    help: 'Tries sent to subgraph endpoints, by outcome (failure counts against the endpoint; rejected does not)',
    labelNames: ['subgraph', 'url', 'outcome'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [registry],
  });
  const retries = new Counter({ name: 'gateway_upstream_retries_total', help: 'Queries retried', labelNames: ['subgraph'], registers: [registry] });
  const panics = new Counter({
    name: 'gateway_upstream_panic_total',
    help: 'Calls sent to an ejected endpoint because every endpoint of the subgraph was ejected (panic mode)',
    labelNames: ['subgraph'],
    registers: [registry],
  });
  const overloads = new Counter({
    name: 'gateway_upstream_overload_total',
    help: "Subgraph calls its bulkhead refused (OVERLOADED: queue full) or gave up on (QUEUE_TIMEOUT, DEADLINE_EXCEEDED), by whose share was full",
    labelNames: ['subgraph', 'reason', 'scope'],
    registers: [registry],
  });
  const queueWait = new Histogram({
    name: 'gateway_upstream_queue_wait_seconds',
    help: "Time subgraph calls waited for a slot in the subgraph's and the caller's bulkheads",
    labelNames: ['subgraph'],
    buckets: [0.001, 0.005, 0.025, 0.1, 0.25, 1, 2.5, 10],
    registers: [registry],
  });
  const deduplicated = new Counter({
    name: 'gateway_upstream_deduplicated_total',
    help: 'Subgraph queries answered by sharing an identical in-flight call',
    labelNames: ['subgraph'],
    registers: [registry],
  });

  const cacheLookups = new Counter({
    name: 'gateway_cache_lookups_total',
    help: 'Entities (and root fetches, type Query) looked up in the entity cache, by subgraph, type and result (hit/miss)',
    labelNames: ['subgraph', 'type', 'result'],
    registers: [registry],
  });
  const cacheEvictions = new Counter({
    name: 'gateway_cache_evictions_total',
    help: 'Cache entries evicted by events, by the subgraph and type of the entry (type Query: a root fetch)',
    labelNames: ['subgraph', 'type'],
    registers: [registry],
  });
  const cacheInvalidations = new Counter({
    name: 'gateway_cache_invalidation_events_total',
    help: 'Bus events naming entities that the cache applied, by topic (each applied twice when the second eviction is on)',
    labelNames: ['topic'],
    registers: [registry],
  });
  const cacheErrors = new Counter({
    name: 'gateway_cache_errors_total',
    help: 'Cache operations that failed or timed out (each served as a miss)',
    labelNames: ['operation'],
    registers: [registry],
  });
  const cacheBreaker = new Gauge({ name: 'gateway_cache_breaker_state', help: 'The cache breaker: 0 closed, 1 open, 2 half-open', registers: [registry] });

  const subscribers = new Gauge({ name: 'gateway_subscriptions_active', help: 'Subscriptions being served (over WebSocket and SSE)', registers: [registry] });
  const rateLimited = new Counter({
    name: 'gateway_rate_limited_total',
    help: 'Requests (HTTP operations, WebSocket connections, subscribe messages) refused by a rate limit: subject, or failedAuthIp',
    labelNames: ['limit'],
    registers: [registry],
  });

  const onEndpointEvent = (endpoint: Endpoint, event: EndpointEvent) => {
    const labels = { subgraph: endpoint.subgraph, url: endpoint.shownUrl };
    transitions.inc({ ...labels, kind: event.kind, state: event.state });
    if (event.kind === 'health') healthy.set({ ...labels, role: endpoint.role }, event.state === 'healthy' ? 1 : 0);
    else breaker.set(labels, BREAKER_VALUE[event.state]);
    const level = event.state === 'healthy' || event.state === 'closed' ? 'info' : 'warn';
    logger[level]({ subgraph: endpoint.subgraph, url: endpoint.shownUrl, role: endpoint.role, [event.kind]: event.state, reason: 'reason' in event ? event.reason : undefined }, `upstream endpoint ${event.kind} → ${event.state}`);
  };

  return {
    registry,
    upstreamObserver: {
      onEndpointEvent,
      onAttempt: (endpoint, outcome, seconds) => attempts.observe({ subgraph: endpoint.subgraph, url: endpoint.shownUrl, outcome }, seconds),
      onRetry: (subgraph) => retries.inc({ subgraph }),
      onPanic: (subgraph) => panics.inc({ subgraph }),
    },
    bulkheadObserver: {
      onOverload: (subgraph, reason, scope) => overloads.inc({ subgraph, reason, scope }),
      onQueued: (subgraph, seconds) => queueWait.observe({ subgraph }, seconds),
    },
    countDeduplicated: (subgraph) => deduplicated.inc({ subgraph }),
    cache: {
      lookup: (subgraph, type, result, count) => cacheLookups.inc({ subgraph, type, result }, count),
      applied: (topic, byLabel) => {
        cacheInvalidations.inc({ topic });
        for (const [label, entries] of byLabel) {
          const [subgraph = '', type = ''] = label.split('/');
          cacheEvictions.inc({ subgraph, type }, entries);
        }
      },
      error: (operation) => cacheErrors.inc({ operation }),
      breaker: (state) => {
        cacheBreaker.set(BREAKER_VALUE[state]);
        logger[state === 'closed' ? 'info' : 'warn']({ cache: state }, `cache breaker → ${state}`);
      },
    },
    trackEndpoint(endpoint) {
      healthy.set({ subgraph: endpoint.subgraph, url: endpoint.shownUrl, role: endpoint.role }, endpoint.health.phase === 'healthy' ? 1 : 0);
      breaker.set({ subgraph: endpoint.subgraph, url: endpoint.shownUrl }, BREAKER_VALUE[endpoint.breaker.state()]);
    },
    observeRequest: (labels, seconds) => requests.observe(labels, seconds),
    setSubscribers: (count) => subscribers.set(count),
    countRateLimited: (limit) => rateLimited.inc({ limit }),
  };
}
