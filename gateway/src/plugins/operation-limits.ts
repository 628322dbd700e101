/**
 * The operation's cost estimate, which needs the request's variables, checked once the operation
 * is resolved and before the gateway plans or runs it: over the maximum is refused (400); within
 * it, the cost is charged to the caller's cost budget (rate-limit/rate-limits.ts), and a caller
 * whose budget is spent is refused with 429 and Retry-After. The other limits come earlier: the
 * variables before parsing (server.ts), the rest while parsing and validating (limits/limits.ts).
 */
import type { ApolloServerPlugin } from '@apollo/server';
import { HeaderMap } from '@apollo/server';
import { GraphQLError } from 'graphql';
import type { GraphQLSchema } from 'graphql';
import type { GatewayContext } from '../context';
import { estimateCost } from '../limits/limits';
import type { LimitsConfig } from '../limits/limits';
import { rateLimitedError } from '../rate-limit/rate-limits';
import type { RateLimited } from '../rate-limit/rate-limits';

/** Charges an operation's cost to its caller; what refused it when the caller's budget is spent. */
export type ChargeCost = (context: GatewayContext, cost: number) => Promise<RateLimited | undefined>;

export function operationLimitsPlugin(limits: LimitsConfig, schema: () => GraphQLSchema | undefined, charge?: ChargeCost): ApolloServerPlugin<GatewayContext> {
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ document, operationName, request, contextValue }) {
          const current = schema();
          if (!current) return;
          const { cost, error } = estimateCost(limits, current, document, operationName ?? undefined, request.variables as Record<string, unknown> | undefined);
          // A client error: Apollo answers 400 for it (and keeps `http` out of the body).
          if (error) throw new GraphQLError(error.message, { extensions: { ...error.extensions, http: { status: 400 } } });
          if (cost === undefined || !charge) return;
          const limited = await charge(contextValue, cost);
          if (limited) {
            const { message, extensions } = rateLimitedError(limited);
            throw new GraphQLError(message, {
              extensions: { ...extensions, cost, http: { status: 429, headers: new HeaderMap([['retry-after', String(limited.retryAfterSeconds)]]) } },
            });
          }
        },
      };
    },
  };
}
