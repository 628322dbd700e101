/**
 * In development, each response says in `extensions.cache.fetches` which subgraph fetches the
 * entity cache served: per subgraph and type, the entities found (hits) and fetched (misses).
 */
import type { ApolloServerPlugin } from '@apollo/server';
import type { GatewayContext } from '../context';

export function cacheTracePlugin(): ApolloServerPlugin<GatewayContext> {
  return {
    async requestDidStart({ contextValue }) {
      contextValue.cacheTrace = [];
      return {
        async willSendResponse({ contextValue: context, response }) {
          if (response.body.kind !== 'single' || !context.cacheTrace?.length) return;
          const result = response.body.singleResult;
          result.extensions = { ...result.extensions, cache: { fetches: context.cacheTrace } };
        },
      };
    },
  };
}
