/**
 * Times every GraphQL request the gateway serves, by operation type and outcome, into the
 * gateway's Prometheus registry.
 */
import type { ApolloServerPlugin } from '@apollo/server';
import type { GatewayMetrics } from '../metrics';

export function requestMetricsPlugin(metrics: GatewayMetrics): ApolloServerPlugin {
  return {
    async requestDidStart() {
      const started = process.hrtime.bigint();
      return {
        async willSendResponse({ operation, errors, response }) {
          const body = response.body;
          const hasErrors = Boolean(errors?.length) || (body.kind === 'single' && Boolean(body.singleResult.errors?.length));
          metrics.observeRequest(
            { operation: operation?.operation ?? 'unknown', outcome: hasErrors ? 'error' : 'success' },
            Number(process.hrtime.bigint() - started) / 1e9,
          );
        },
      };
    },
  };
}
