/**
 * A subscription sent as a plain HTTP request (a POST or GET answered with one JSON body) is
 * refused with 400 SUBSCRIPTION_TRANSPORT_REQUIRED naming the transports that serve it:
 * graphql-ws on the WebSocket of /graphql, and SSE (Accept: text/event-stream). @apollo/gateway
 * cannot execute one, and would otherwise fail with 500.
 */
import type { ApolloServerPlugin } from '@apollo/server';
import { GraphQLError } from 'graphql';
import type { GatewayContext } from '../context';
import { ErrorCode, httpStatusFor } from '../errors';

export function subscriptionTransportPlugin(): ApolloServerPlugin<GatewayContext> {
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ operation, request }) {
          if (operation?.operation !== 'subscription') return;
          const host = request.http?.headers.get('host') ?? 'localhost';
          const secure = request.http?.headers.get('x-forwarded-proto') === 'https';
          throw new GraphQLError(
            `Subscriptions are not served over a plain HTTP request: use graphql-ws (graphql-transport-ws) on ${secure ? 'wss' : 'ws'}://${host}/graphql, ` +
              `or SSE (the graphql-sse protocol): POST /graphql with Accept: text/event-stream`,
            {
              extensions: {
                code: ErrorCode.SubscriptionTransportRequired,
                transports: ['graphql-ws', 'graphql-sse'],
                http: { status: httpStatusFor(ErrorCode.SubscriptionTransportRequired) },
              },
            },
          );
        },
      };
    },
  };
}
