/**
 * The operation's cost estimate, which needs the request's variables, checked once the operation
 * is resolved and before the gateway plans or runs it. The other limits come earlier: the
 * variables before parsing (server.ts), the rest while parsing and validating (limits/limits.ts).
 */
import type { ApolloServerPlugin } from '@apollo/server';
import { GraphQLError } from 'graphql';
import type { GraphQLSchema } from 'graphql';
import type { GatewayContext } from '../context';
import { checkCost } from '../limits/limits';
import type { LimitsConfig } from '../limits/limits';

export function operationLimitsPlugin(limits: LimitsConfig, schema: () => GraphQLSchema | undefined): ApolloServerPlugin<GatewayContext> {
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ document, operationName, request }) {
          const current = schema();
          if (!current) return;
          const error = checkCost(limits, current, document, operationName ?? undefined, request.variables as Record<string, unknown> | undefined);
          // A client error: Apollo answers 400 for it (and keeps `http` out of the body).
          if (error) throw new GraphQLError(error.message, { extensions: { ...error.extensions, http: { status: 400 } } });
        },
      };
    },
  };
}
