/**
 * Field-level authorisation around @apollo/gateway: every operation the gateway runs (HTTP,
 * and each subscription event's lookup, which goes through the same executor) is masked for
 * its caller before the query planner sees it (mask.ts), and the answer gets a null and an
 * error where each removed field was. The caller's scopes come from its roles through the
 * configured table (scopes.ts); the requirements from the supergraph (rules.ts), read again
 * whenever it reloads.
 */
import crypto from 'node:crypto';
import type { ApolloGateway } from '@apollo/gateway';
import type { GatewayExecutor, GatewayInterface } from '@apollo/server-gateway-interface';
import { getOperationAST, print } from 'graphql';
import type { DocumentNode, GraphQLError, GraphQLSchema } from 'graphql';
import type { AuthIdentity } from '../auth';
import type { GatewayContext } from '../context';
import { maskOperation } from './mask';
import type { MaskedOperation } from './mask';
import { readAuthorizationRules } from './rules';
import type { AuthorizationRules, Caller } from './rules';

export interface Authorization {
  /** Wraps the gateway so that its executor runs masked operations. */
  gateway: GatewayInterface;
  /** The operation as `auth` may run it (for subscriptions, before they start). */
  mask(document: DocumentNode, operationName: string | null | undefined, auth: AuthIdentity): MaskedOperation;
}

export function createAuthorization(inner: ApolloGateway, callerOf: (auth: AuthIdentity) => Caller): Authorization {
  let schema: GraphQLSchema | undefined;
  let rules: AuthorizationRules | undefined;
  inner.onSchemaLoadOrUpdate(({ apiSchema, coreSupergraphSdl }) => {
    schema = apiSchema;
    rules = readAuthorizationRules(coreSupergraphSdl);
  });

  const mask = (document: DocumentNode, operationName: string | null | undefined, auth: AuthIdentity): MaskedOperation => {
    if (!schema || !rules) throw new Error('the supergraph is not loaded yet');
    return maskOperation(schema, rules, document, operationName, callerOf(auth));
  };

  const authorized = (executor: GatewayExecutor): GatewayExecutor => async (requestContext) => {
    const context = requestContext.context as unknown as GatewayContext;
    const masked = mask(requestContext.document, requestContext.operationName ?? requestContext.request.operationName, context.auth);
    context.categories = masked.categories;
    if (masked.unchanged) return executor(requestContext);
    let result: Awaited<ReturnType<GatewayExecutor>> = { data: undefined };
    if (!masked.empty) {
      const source = print(masked.document);
      result = await executor({
        ...requestContext,
        document: masked.document,
        source,
        // The query plan is cached by this hash: the masked operation must not share the whole one's plan.
        queryHash: crypto.createHash('sha256').update(source).digest('hex'),
        operation: getOperationAST(masked.document, requestContext.operationName) ?? requestContext.operation,
      });
    }
    const filled = masked.fill(result.data as Record<string, unknown> | null | undefined);
    const errors: GraphQLError[] = [...(result.errors ?? []), ...filled.errors];
    return { ...result, data: filled.data, ...(errors.length > 0 ? { errors } : {}) };
  };

  return {
    mask,
    gateway: {
      onSchemaLoadOrUpdate: (callback) => inner.onSchemaLoadOrUpdate(callback),
      stop: () => inner.stop(),
      async load(options) {
        const { executor } = await inner.load(options);
        return { executor: executor && authorized(executor) };
      },
    },
  };
}
