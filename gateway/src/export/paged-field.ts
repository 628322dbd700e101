/**
 * Turns a client's GraphQL document into the plan of an export: which root field is paged, where
 * its items are in each page's answer, and the documents sent for the pages. Generic: a paged
 * field is any root query field with `first` and `after` arguments whose type has
 * `pageInfo { hasNextPage endCursor }` and `nodes`, or `edges { node }`. The export owns the
 * field's `first` and `after` (they become variables of its own) and selects `pageInfo` under an
 * alias of its own; everything else is the client's selection, sent as it is, so each page runs
 * through the same pipeline as the client's own query would.
 */
import { Kind, getNamedType, isObjectType, parse, print, visit } from 'graphql';
import type {
  ArgumentNode,
  DocumentNode,
  FieldNode,
  FragmentDefinitionNode,
  GraphQLField,
  GraphQLObjectType,
  GraphQLSchema,
  OperationDefinitionNode,
  SelectionSetNode,
  VariableDefinitionNode,
} from 'graphql';

/** Why a document cannot be exported; `expected` says what would do. */
export class ExportPlanError extends Error {
  constructor(
    message: string,
    readonly expected: string,
  ) {
    super(message);
  }
}

export interface ExportPlan {
  /** The document of every page after the first. */
  query: string;
  /** The first page's: the same, plus the connection's `totalCount` when its type has one. */
  firstQuery: string;
  operationName?: string;
  /** The paged field's response key (its alias or name) under `data`. */
  connectionKey: string;
  /** Where a page's items are under the connection. */
  items: { kind: 'nodes'; key: string } | { kind: 'edges'; key: string; nodeKey: string };
  /** The selection set of one item (a node), for the CSV columns. */
  nodeSelection: SelectionSetNode;
  /** The type of one item, for the CSV columns. */
  nodeType: GraphQLObjectType;
  /** The document's named fragments, which the item's selection may spread. */
  fragments: Record<string, FragmentDefinitionNode>;
  /** The export's own variable names (page size and cursor), which the client's variables must not use. */
  variables: { first: string; after: string };
  /** Whether the first page's answer carries `TOTAL_COUNT_KEY`. */
  counts: boolean;
}

/** Aliases and variables the export adds; a leading underscore keeps them out of ordinary names. */
export const PAGE_INFO_KEY = '_exportPageInfo';
export const TOTAL_COUNT_KEY = '_exportTotalCount';
const FIRST_VARIABLE = '_exportFirst';
const AFTER_VARIABLE = '_exportAfter';

const responseKey = (field: FieldNode) => field.alias?.value ?? field.name.value;

/** Whether `type` is an object type with all these fields. */
function hasFields(type: unknown, ...names: string[]): type is GraphQLObjectType {
  return isObjectType(type) && names.every((name) => type.getFields()[name] !== undefined);
}

/** Whether `field` of the query root is a cursor connection the export can page through. */
function isPagedField(field: GraphQLField<unknown, unknown>): boolean {
  const args = new Set(field.args.map((arg) => arg.name));
  if (!args.has('first') || !args.has('after')) return false;
  const type = getNamedType(field.type);
  if (!hasFields(type, 'pageInfo') || !hasFields(getNamedType(type.getFields().pageInfo!.type), 'hasNextPage', 'endCursor')) return false;
  const fields = type.getFields();
  return fields.nodes !== undefined || (fields.edges !== undefined && hasFields(getNamedType(fields.edges.type), 'node'));
}

function operationOf(document: DocumentNode, operationName: string | undefined): OperationDefinitionNode {
  const operations = document.definitions.filter((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION);
  if (operationName !== undefined) {
    const named = operations.find((o) => o.name?.value === operationName);
    if (!named) throw new ExportPlanError(`The document has no operation named "${operationName}"`, 'an operationName the document defines');
    return named;
  }
  if (operations.length !== 1) throw new ExportPlanError(`The document has ${operations.length} operations and no operationName says which to export`, 'one operation, or an operationName');
  return operations[0]!;
}

/**
 * The export's plan for `source`, checked against `schema` (the API schema the gateway serves).
 * Throws ExportPlanError naming what is wrong; what the schema says of the rest (unknown fields,
 * variables) is left to the pipeline, which answers it as it would any query.
 */
export function planExport(schema: GraphQLSchema, source: string, operationName: string | undefined): ExportPlan {
  let document: DocumentNode;
  try {
    document = parse(source, { noLocation: true });
  } catch (error) {
    throw new ExportPlanError(`The query does not parse: ${(error as Error).message}`, 'a GraphQL query document');
  }
  const operation = operationOf(document, operationName);
  if (operation.operation !== 'query') throw new ExportPlanError(`A ${operation.operation} cannot be exported`, 'a query operation');
  const roots = operation.selectionSet.selections;
  const fields = roots.filter((s): s is FieldNode => s.kind === Kind.FIELD && s.name.value !== '__typename');
  if (fields.length !== 1 || fields.length !== roots.filter((s) => !(s.kind === Kind.FIELD && s.name.value === '__typename')).length) {
    throw new ExportPlanError(`The export pages through one root field; the query selects ${fields.length === 0 ? 'none' : 'more than one (or fragments)'} at its root`, 'exactly one root field, a paged connection');
  }
  const root = fields[0]!;
  const queryType = schema.getQueryType();
  const definition = queryType?.getFields()[root.name.value];
  if (!definition) throw new ExportPlanError(`The query root has no field "${root.name.value}"`, 'a root field of the schema');
  if (!isPagedField(definition)) {
    throw new ExportPlanError(
      `Query.${definition.name} is not a paged connection`,
      'a root field with `first` and `after` arguments whose type has `pageInfo { hasNextPage endCursor }` and `nodes` or `edges { node }`',
    );
  }
  const connectionType = getNamedType(definition.type) as GraphQLObjectType;
  const selections = (root.selectionSet?.selections ?? []).filter((s): s is FieldNode => s.kind === Kind.FIELD);
  const nodes = selections.find((s) => s.name.value === 'nodes' && s.selectionSet);
  const edges = selections.find((s) => s.name.value === 'edges' && s.selectionSet);
  const edgeNode = edges?.selectionSet?.selections.find((s): s is FieldNode => s.kind === Kind.FIELD && s.name.value === 'node' && s.selectionSet !== undefined);
  const item = nodes ?? edgeNode;
  if (!item?.selectionSet) {
    throw new ExportPlanError(`The query selects no items of Query.${definition.name}`, `a selection of \`${definition.name} { nodes { … } }\` or \`${definition.name} { edges { node { … } } }\``);
  }
  const nodeType = getNamedType(connectionType.getFields()[nodes ? 'nodes' : 'edges']!.type);
  const itemType = nodes ? nodeType : getNamedType((nodeType as GraphQLObjectType).getFields().node!.type);
  if (!isObjectType(itemType)) throw new ExportPlanError(`The items of Query.${definition.name} are not objects`, 'a connection of object types');

  const usedNames = new Set<string>();
  visit(document, { Variable: (node) => void usedNames.add(node.name.value) });
  for (const name of [FIRST_VARIABLE, AFTER_VARIABLE]) {
    if (usedNames.has(name)) throw new ExportPlanError(`The query uses $${name}, which the export keeps for itself`, 'variables not named $_export…');
  }

  const argType = (name: string) => parse(`query($v: ${String(definition.args.find((a) => a.name === name)!.type)}) { __typename }`).definitions[0] as OperationDefinitionNode;
  const variableDefinition = (variable: string, argument: string): VariableDefinitionNode => ({
    ...argType(argument).variableDefinitions![0]!,
    variable: { kind: Kind.VARIABLE, name: { kind: Kind.NAME, value: variable } },
  });
  const variableArgument = (argument: string, variable: string): ArgumentNode => ({
    kind: Kind.ARGUMENT,
    name: { kind: Kind.NAME, value: argument },
    value: { kind: Kind.VARIABLE, name: { kind: Kind.NAME, value: variable } },
  });
  const field = (name: string, alias?: string, selectionSet?: SelectionSetNode): FieldNode => ({
    kind: Kind.FIELD,
    name: { kind: Kind.NAME, value: name },
    ...(alias ? { alias: { kind: Kind.NAME, value: alias } } : {}),
    ...(selectionSet ? { selectionSet } : {}),
  });
  const pageInfo = field('pageInfo', PAGE_INFO_KEY, { kind: Kind.SELECTION_SET, selections: [field('hasNextPage'), field('endCursor')] });
  const counts = connectionType.getFields().totalCount !== undefined;

  const build = (withCount: boolean): string => {
    const pagedRoot: FieldNode = {
      ...root,
      arguments: [...(root.arguments ?? []).filter((a) => a.name.value !== 'first' && a.name.value !== 'after'), variableArgument('first', FIRST_VARIABLE), variableArgument('after', AFTER_VARIABLE)],
      selectionSet: { kind: Kind.SELECTION_SET, selections: [...root.selectionSet!.selections, pageInfo, ...(withCount ? [field('totalCount', TOTAL_COUNT_KEY)] : [])] },
    };
    const rewritten: OperationDefinitionNode = {
      ...operation,
      selectionSet: { ...operation.selectionSet, selections: operation.selectionSet.selections.map((s) => (s === root ? pagedRoot : s)) },
      variableDefinitions: [...(operation.variableDefinitions ?? []), variableDefinition(FIRST_VARIABLE, 'first'), variableDefinition(AFTER_VARIABLE, 'after')],
    };
    // A variable that only fed the replaced `first`/`after` is now unused, which GraphQL refuses.
    const stillUsed = new Set<string>();
    visit(rewritten.selectionSet, { Variable: (node) => void stillUsed.add(node.name.value) });
    for (const definition of document.definitions) {
      if (definition.kind === Kind.FRAGMENT_DEFINITION) visit(definition, { Variable: (node) => void stillUsed.add(node.name.value) });
    }
    const pruned = { ...rewritten, variableDefinitions: rewritten.variableDefinitions!.filter((d) => stillUsed.has(d.variable.name.value)) };
    return print({ ...document, definitions: document.definitions.filter((d) => d.kind !== Kind.OPERATION_DEFINITION || d === operation).map((d) => (d === operation ? pruned : d)) });
  };

  return {
    query: build(false),
    firstQuery: build(counts),
    ...(operation.name ? { operationName: operation.name.value } : {}),
    connectionKey: responseKey(root),
    items: nodes ? { kind: 'nodes', key: responseKey(nodes) } : { kind: 'edges', key: responseKey(edges!), nodeKey: responseKey(edgeNode!) },
    nodeSelection: item.selectionSet,
    nodeType: itemType,
    fragments: Object.fromEntries(document.definitions.filter((d): d is FragmentDefinitionNode => d.kind === Kind.FRAGMENT_DEFINITION).map((d) => [d.name.value, d])),
    variables: { first: FIRST_VARIABLE, after: AFTER_VARIABLE },
    counts,
  };
}
