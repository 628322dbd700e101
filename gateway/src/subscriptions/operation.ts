/**
 * Turns a client's subscription document into what the gateway needs to serve it: the mapped
 * root field (topic, lookup, filters), the field's coerced arguments, and a lookup query that
 * asks for exactly the client's selection for one event (`query($id: ID!) { <alias>: <lookup>(id: $id) { … } }`),
 * which the query planner can resolve across subgraphs. Validation is graphql-js's full rule set,
 * the same as for HTTP operations.
 */
import {
  GraphQLError,
  Kind,
  getOperationAST,
  parse,
  print,
  specifiedRules,
  validate,
  visit,
} from 'graphql';
import type { ASTNode, DocumentNode, FieldNode, FragmentDefinitionNode, GraphQLSchema, OperationDefinitionNode } from 'graphql';
import { getArgumentValues, getVariableValues } from 'graphql/execution/values';
import { ErrorCode } from '../errors';
import { checkCost, checkVariables, limitErrorOfParse, limitRules, parseOptionsOf } from '../limits/limits';
import type { LimitsConfig } from '../limits/limits';

export interface SubscriptionFieldMapping {
  topic: string;
  lookup: string;
  idFrom: string;
  filters: Record<string, string>;
}

export interface PreparedSubscription {
  /** The client's document, parsed and validated. */
  document: DocumentNode;
  operationName: string | undefined;
  fieldName: string;
  /** The response key the client expects (its alias, or the field name). */
  responseKey: string;
  mapping: SubscriptionFieldMapping;
  args: Record<string, unknown>;
  /** The lookup query, printed: also the key under which identical selections share results. */
  lookupQuery: string;
}

export function prepareSubscription(
  schema: GraphQLSchema,
  source: { query: string; variables?: Record<string, unknown> | null; operationName?: string | null },
  mappings: Record<string, SubscriptionFieldMapping>,
  limits: LimitsConfig,
): PreparedSubscription | GraphQLError[] {
  const variablesOverLimit = checkVariables(limits, source.variables);
  if (variablesOverLimit) return [variablesOverLimit];
  let document: DocumentNode;
  try {
    document = parse(source.query, parseOptionsOf(limits));
  } catch (error) {
    return [limitErrorOfParse((error as Error).message, limits) ?? new GraphQLError((error as Error).message, { extensions: { code: ErrorCode.ParseFailed } })];
  }
  // The same limits as over HTTP, before anything else looks at the document.
  const problems = validate(schema, document, [...specifiedRules, ...limitRules(limits)]);
  if (problems.length > 0) {
    return problems.map((problem) =>
      problem.extensions?.limit !== undefined ? problem : new GraphQLError(problem.message, { nodes: problem.nodes, extensions: { code: ErrorCode.ValidationFailed } }),
    );
  }
  const overLimit = checkCost(limits, schema, document, source.operationName ?? undefined, source.variables ?? undefined);
  if (overLimit) return [overLimit];
  const operation = getOperationAST(document, source.operationName ?? undefined);
  if (!operation) {
    return [new GraphQLError('Could not determine which operation to run: give operationName', { extensions: { code: ErrorCode.BadRequest } })];
  }
  if (operation.operation !== 'subscription') {
    return [
      new GraphQLError(`Only subscriptions are served over WebSocket and SSE; send ${operation.operation}s over HTTP POST /graphql`, {
        extensions: { code: ErrorCode.BadRequest },
      }),
    ];
  }
  // graphql-js's SingleFieldSubscriptionsRule already guarantees exactly one root field.
  const field = operation.selectionSet.selections[0] as FieldNode;
  const fieldName = field.name.value;
  const mapping = mappings[fieldName];
  if (!mapping) {
    return [new GraphQLError(`Subscription.${fieldName} is not served by this gateway`, { extensions: { code: ErrorCode.BadRequest, field: fieldName } })];
  }
  const subscriptionType = schema.getSubscriptionType()!;
  const fieldDef = subscriptionType.getFields()[fieldName]!;
  let args: Record<string, unknown>;
  try {
    args = getArgumentValues(fieldDef, field, coerceVariables(schema, operation, source.variables ?? {}));
  } catch (error) {
    return [new GraphQLError((error as Error).message, { extensions: { code: ErrorCode.BadUserInput } })];
  }
  const lookupField = schema.getQueryType()?.getFields()[mapping.lookup];
  if (!lookupField) {
    return [new GraphQLError(`Subscription.${fieldName} has no lookup field Query.${mapping.lookup}`, { extensions: { code: ErrorCode.Internal } })];
  }
  return {
    document,
    operationName: operation.name?.value,
    fieldName,
    responseKey: field.alias?.value ?? fieldName,
    mapping,
    args,
    lookupQuery: buildLookupQuery(document, operation, field, mapping.lookup),
  };
}

/** Variables as graphql-js coerces them; errors surface as BAD_USER_INPUT above. */
function coerceVariables(schema: GraphQLSchema, operation: OperationDefinitionNode, variables: Record<string, unknown>): Record<string, unknown> {
  const result = getVariableValues(schema, operation.variableDefinitions ?? [], variables);
  if (result.errors) throw new Error(result.errors.map((error) => error.message).join('; '));
  return result.coerced;
}

/**
 * The client's selection under the lookup field, with the client's fragments. Variables the
 * selection uses (e.g. in @include) stay variables: the lookup declares the client's variable
 * definitions too and is executed with the client's values.
 */
function buildLookupQuery(document: DocumentNode, operation: OperationDefinitionNode, field: FieldNode, lookup: string): string {
  // Only what the selection reaches: unused fragments or variables would fail validation.
  const fragmentsByName = new Map(
    document.definitions.filter((d): d is FragmentDefinitionNode => d.kind === Kind.FRAGMENT_DEFINITION).map((d) => [d.name.value, d]),
  );
  const usedFragments = new Map<string, FragmentDefinitionNode>();
  const usedVariables = new Set<string>();
  const walk = (node: ASTNode) => {
    visit(node, {
      Variable: (variable) => void usedVariables.add(variable.name.value),
      FragmentSpread: (spread) => {
        const name = spread.name.value;
        const fragment = fragmentsByName.get(name);
        if (fragment && !usedFragments.has(name)) {
          usedFragments.set(name, fragment);
          walk(fragment);
        }
      },
    });
  };
  walk({ ...field, alias: undefined, arguments: [] });
  const lookupOperation: OperationDefinitionNode = {
    kind: Kind.OPERATION_DEFINITION,
    operation: 'query' as OperationDefinitionNode['operation'],
    name: { kind: Kind.NAME, value: 'SubscriptionEvent' },
    variableDefinitions: [
      {
        kind: Kind.VARIABLE_DEFINITION,
        variable: { kind: Kind.VARIABLE, name: { kind: Kind.NAME, value: '__eventId' } },
        type: { kind: Kind.NON_NULL_TYPE, type: { kind: Kind.NAMED_TYPE, name: { kind: Kind.NAME, value: 'ID' } } },
      },
      ...(operation.variableDefinitions ?? []).filter((definition) => usedVariables.has(definition.variable.name.value)),
    ],
    directives: [],
    selectionSet: {
      kind: Kind.SELECTION_SET,
      selections: [
        {
          kind: Kind.FIELD,
          alias: { kind: Kind.NAME, value: field.alias?.value ?? field.name.value },
          name: { kind: Kind.NAME, value: lookup },
          arguments: [
            {
              kind: Kind.ARGUMENT,
              name: { kind: Kind.NAME, value: 'id' },
              value: { kind: Kind.VARIABLE, name: { kind: Kind.NAME, value: '__eventId' } },
            },
          ],
          directives: field.directives ?? [],
          selectionSet: field.selectionSet,
        },
      ],
    },
  };
  return print({ kind: Kind.DOCUMENT, definitions: [lookupOperation, ...usedFragments.values()] });
}

/** Does an event's payload pass the subscription's argument filters? */
export function matchesFilters(prepared: PreparedSubscription, payload: Record<string, unknown>): boolean {
  for (const [argument, property] of Object.entries(prepared.mapping.filters)) {
    const wanted = prepared.args[argument];
    if (wanted === undefined || wanted === null) continue;
    const actual = payload[property];
    if (Array.isArray(wanted) ? !wanted.includes(actual) : wanted !== actual) return false;
  }
  return true;
}
