/**
 * The audit trail: one record per operation that touched data the supergraph protects or
 * returned a data subject (a patient): who (subject, roles, clinic), when, over which transport,
 * which operation (name and hash, never its text or variables), the ids of the data subjects
 * returned or changed, the field categories (the scopes the kept fields were shown under),
 * whether the cache served any of it, and how it ended. Ids only: never a value.
 *
 * Records go to a bus topic, so they survive restarts and can be shipped elsewhere; a record
 * that cannot be published is logged (without its content) and the operation is not failed.
 */
import type { ApolloServerPlugin } from '@apollo/server';
import { z } from 'zod';
import type { EventBus } from '../../../lib/event-bus/types';
import type { Logger } from '../../../lib/logger';
import type { AuthIdentity } from '../auth';
import type { GatewayContext } from '../context';

export const auditConfigSchema = z.object({
  /** The bus topic records go to; unset: no audit trail. */
  topic: z.string().min(1).optional(),
  /** Entity types whose ids a record names (the data subjects), e.g. `Patient`. @default [] */
  subjects: z.array(z.string().min(1)).default([]),
});

export type AuditConfig = z.infer<typeof auditConfigSchema>;

export type AuditTransport = 'HTTP' | 'WEBSOCKET' | 'SSE' | 'SUBSCRIPTION_EVENT';

/** The payload of an `audit.operation` event. */
export interface AuditRecord {
  at: string;
  subject: string;
  roles: string[];
  clinic: string | null;
  transport: AuditTransport;
  operationType: 'QUERY' | 'MUTATION' | 'SUBSCRIPTION';
  operationName: string | null;
  /** sha256 of the operation's text. */
  operationHash: string | null;
  /** The data subjects returned or changed: `{ type, id }` of the configured types. */
  entities: Array<{ type: string; id: string }>;
  categories: string[];
  fromCache: boolean;
  outcome: 'OK' | 'PARTIAL' | 'FAILED';
}

export const AUDIT_EVENT_TYPE = 'audit.operation';

export interface AuditTrail {
  /** Writes a record for each HTTP operation and subscription event the gateway executes. */
  plugin(): ApolloServerPlugin<GatewayContext>;
  /** Writes a record for a subscription started over WebSocket or SSE. */
  subscribed(input: { auth: AuthIdentity; transport: 'WEBSOCKET' | 'SSE'; operationName: string | null; operationHash: string; categories: ReadonlySet<string> }): void;
}

export function createAuditTrail(config: AuditConfig, deps: { bus: EventBus; logger: Logger }): AuditTrail | undefined {
  const topic = config.topic;
  if (!topic) return undefined;
  const subjectTypes = new Set(config.subjects);
  const write = (record: AuditRecord) => {
    // Not awaited: the trail must not slow or fail the answer; a failure is logged by id only.
    deps.bus.publish({ topic, type: AUDIT_EVENT_TYPE, payload: record }).catch((error: Error) => {
      deps.logger.error({ topic, operationHash: record.operationHash, err: error.message }, 'audit record not written');
    });
  };
  const who = (auth: AuthIdentity) => ({ at: new Date().toISOString(), subject: auth.subject, roles: [...auth.roles], clinic: auth.clinic ?? null });
  const subjectsOf = (seen: ReadonlySet<string> | undefined) =>
    [...(seen ?? [])].flatMap((tag) => {
      const at = tag.indexOf(':');
      const type = tag.slice(0, at);
      return at > 0 && subjectTypes.has(type) ? [{ type, id: tag.slice(at + 1) }] : [];
    });

  return {
    plugin: () => ({
      async requestDidStart({ contextValue }) {
        contextValue.seen ??= new Set();
        contextValue.cacheTrace ??= [];
        return {
          async willSendResponse({ contextValue: context, operation, operationName, queryHash, response }) {
            const entities = subjectsOf(context.seen);
            const categories = [...(context.categories ?? [])];
            if (!operation || (entities.length === 0 && categories.length === 0)) return;
            const body = response.body.kind === 'single' ? response.body.singleResult : undefined;
            write({
              ...who(context.auth),
              transport: context.transport ?? 'HTTP',
              operationType: operation.operation.toUpperCase() as AuditRecord['operationType'],
              operationName: operationName ?? null,
              operationHash: queryHash ?? null,
              entities,
              categories,
              fromCache: (context.cacheTrace ?? []).some((fetch) => fetch.hits > 0),
              outcome: !body?.errors?.length ? 'OK' : body.data ? 'PARTIAL' : 'FAILED',
            });
          },
        };
      },
    }),
    subscribed({ auth, transport, operationName, operationHash, categories }) {
      if (categories.size === 0) return;
      write({
        ...who(auth),
        transport,
        operationType: 'SUBSCRIPTION',
        operationName,
        operationHash,
        entities: [],
        categories: [...categories],
        fromCache: false,
        outcome: 'OK',
      });
    },
  };
}
