/**
 * Field-level authorisation before planning: the operation is rewritten without every field the
 * caller may not see (by the field's own requirement and by its type's), so no subgraph is ever
 * asked for one; the answer is then given a null and an `UNAUTHORIZED_FIELD_OR_TYPE` error at
 * each place a removed field would have been, with nulls propagating to the nearest nullable
 * parent as GraphQL's own rules do for errors.
 *
 * Named fragments are inlined first, since one fragment spread in two places may be allowed in
 * one and not the other. A selection left empty removes its field as well.
 */
import { GraphQLError, Kind, getNamedType, getNullableType, isAbstractType, isCompositeType, isListType, isNonNullType } from 'graphql';
import type {
  DocumentNode,
  FieldNode,
  FragmentDefinitionNode,
  GraphQLCompositeType,
  GraphQLOutputType,
  GraphQLSchema,
  OperationDefinitionNode,
  SelectionNode,
  SelectionSetNode,
} from 'graphql';
import { meets } from './rules';
import type { AuthorizationRules, Caller, Requirement } from './rules';

export const UNAUTHORIZED_CODE = 'UNAUTHORIZED_FIELD_OR_TYPE';

/** Where removed fields are, as a tree over response keys (only branches that lead to one). */
interface Branch {
  type: GraphQLOutputType;
  /** The field was removed: null and an error here. */
  removed: boolean;
  /** Only for objects of this type (a removal inside `... on T` under an abstract parent). */
  onType?: string;
  children?: Map<string, Branch[]>;
}

export interface MaskedOperation {
  /** Nothing was removed: run the operation as it came. */
  unchanged: boolean;
  /** The scopes the fields it keeps were shown under (the audit trail's field categories). */
  categories: ReadonlySet<string>;
  document: DocumentNode;
  /** The operation kept no root field at all: there is nothing to run. */
  empty: boolean;
  /** Puts nulls and errors where removed fields were, in `data` (changed in place). */
  fill(data: Record<string, unknown> | null | undefined): { data: Record<string, unknown> | null; errors: GraphQLError[] };
}

export function maskOperation(
  schema: GraphQLSchema,
  rules: AuthorizationRules,
  document: DocumentNode,
  operationName: string | null | undefined,
  caller: Caller,
): MaskedOperation {
  const operations = document.definitions.filter((definition): definition is OperationDefinitionNode => definition.kind === Kind.OPERATION_DEFINITION);
  const operation = operationName ? operations.find((each) => each.name?.value === operationName) : operations[0];
  const rootType = operation && (operation.operation === 'query' ? schema.getQueryType() : operation.operation === 'mutation' ? schema.getMutationType() : schema.getSubscriptionType());
  const categories = new Set<string>();
  const nothing = (): MaskedOperation => ({ unchanged: true, categories, document, empty: false, fill: (data) => ({ data: data ?? null, errors: [] }) });
  if (rules.empty || !operation || !rootType) return nothing();
  /** Notes the scope list under which `caller` meets `requirement`. */
  const note = (requirement: Requirement | undefined) => {
    const met = requirement?.scopes?.find((all) => all.every((scope) => caller.scopes.has(scope)));
    for (const scope of met ?? []) categories.add(scope);
  };

  const fragments = new Map(
    document.definitions.filter((definition): definition is FragmentDefinitionNode => definition.kind === Kind.FRAGMENT_DEFINITION).map((definition) => [definition.name.value, definition]),
  );
  /** A field was removed (inlining fragments alone changes nothing worth a new plan). */
  let removedAny = false;

  const allowed = (parent: GraphQLCompositeType, field: string, fieldType: GraphQLOutputType) =>
    meets(rules.field(parent.name, field), caller) && meets(rules.type(getNamedType(fieldType).name), caller);

  /** Masks a selection set of `type`; adds what it removed to `branches`. */
  const mask = (set: SelectionSetNode, type: GraphQLCompositeType, branches: Map<string, Branch[]>, onType?: string): SelectionNode[] => {
    const kept: SelectionNode[] = [];
    for (const selection of set.selections) {
      if (selection.kind === Kind.FRAGMENT_SPREAD || selection.kind === Kind.INLINE_FRAGMENT) {
        const fragment = selection.kind === Kind.FRAGMENT_SPREAD ? fragments.get(selection.name.value) : selection;
        if (!fragment) continue;
        const condition = fragment.typeCondition ? schema.getType(fragment.typeCondition.name.value) : type;
        if (!condition || !isCompositeType(condition)) continue;
        if (!meets(rules.type(condition.name), caller)) {
          // A whole type the caller may not see: its part of the selection goes, silently (the
          // object is of another type, or its fields carry their own errors).
          removedAny = true;
          continue;
        }
        const narrowed = isAbstractType(type) && condition !== type ? condition.name : onType;
        const inner = mask(fragment.selectionSet, condition, branches, narrowed);
        if (inner.length > 0) {
          kept.push({
            kind: Kind.INLINE_FRAGMENT,
            ...(fragment.typeCondition ? { typeCondition: fragment.typeCondition } : {}),
            directives: selection.directives ?? [],
            selectionSet: { kind: Kind.SELECTION_SET, selections: inner },
          });
        }
        continue;
      }
      const name = selection.name.value;
      if (name.startsWith('__')) {
        kept.push(selection);
        continue;
      }
      const definition = 'getFields' in type ? type.getFields()[name] : undefined;
      if (!definition) {
        kept.push(selection);
        continue;
      }
      const key = selection.alias?.value ?? name;
      const record = (branch: Branch) => branches.set(key, [...(branches.get(key) ?? []), branch]);
      if (!allowed(type, name, definition.type)) {
        removedAny = true;
        record({ type: definition.type, removed: true, ...(onType ? { onType } : {}) });
        continue;
      }
      const noteKept = () => {
        note(rules.field(type.name, name));
        note(rules.type(getNamedType(definition.type).name));
      };
      if (!selection.selectionSet) {
        noteKept();
        kept.push(selection);
        continue;
      }
      const children = new Map<string, Branch[]>();
      const inner = mask(selection.selectionSet, getNamedType(definition.type) as GraphQLCompositeType, children);
      if (inner.length === 0) {
        removedAny = true;
        record({ type: definition.type, removed: true, ...(onType ? { onType } : {}) });
        continue;
      }
      if (children.size > 0) record({ type: definition.type, removed: false, children, ...(onType ? { onType } : {}) });
      noteKept();
      kept.push({ ...selection, selectionSet: { ...selection.selectionSet, selections: inner } } as FieldNode);
    }
    return kept;
  };

  const root = new Map<string, Branch[]>();
  const selections = mask(operation.selectionSet, rootType, root);
  if (!removedAny) return nothing();
  const masked: DocumentNode = {
    ...document,
    definitions: [{ ...operation, selectionSet: { ...operation.selectionSet, selections } }],
  };
  const empty = selections.length === 0;
  return { unchanged: false, categories, document: masked, empty, fill: (data) => (data || empty ? fill(data ?? {}, root) : { data: null, errors: [] }) };
}

/**
 * Nulls and errors for the removed fields, with null propagation: a removed non-null field
 * nulls its object, a null item in a list of non-null items nulls the list, and so on up to the
 * first position that may be null (or `data` itself).
 */
function fill(data: Record<string, unknown>, root: Map<string, Branch[]>): { data: Record<string, unknown> | null; errors: GraphQLError[] } {
  const errors: GraphQLError[] = [];
  /** Returns false when `object` must become null. */
  const visitObject = (object: Record<string, unknown>, branches: Map<string, Branch[]>, path: Array<string | number>): boolean => {
    const typename = typeof object.__typename === 'string' ? object.__typename : undefined;
    for (const [key, list] of branches) {
      for (const branch of list) {
        if (branch.onType && typename !== undefined && branch.onType !== typename) continue;
        if (branch.removed) {
          object[key] = null;
          errors.push(new GraphQLError('Unauthorized field or type', { path: [...path, key], extensions: { code: UNAUTHORIZED_CODE } }));
          if (isNonNullType(branch.type)) return false;
          continue;
        }
        if (!(key in object)) continue;
        if (!visitValue(object, key, branch.type, branch.children!, [...path, key])) return false;
      }
    }
    return true;
  };
  /** Visits `holder[key]` of `type`; returns false when the holder must become null. */
  const visitValue = (holder: Record<string, unknown> | unknown[], key: string | number, type: GraphQLOutputType, branches: Map<string, Branch[]>, path: Array<string | number>): boolean => {
    const value = (holder as Record<string | number, unknown>)[key];
    if (value === null || value === undefined) return true;
    const inner = getNullableType(type);
    let keep: boolean;
    if (isListType(inner) && Array.isArray(value)) {
      keep = value.every((_, index) => visitValue(value, index, inner.ofType as GraphQLOutputType, branches, [...path, index]));
    } else {
      keep = typeof value === 'object' ? visitObject(value as Record<string, unknown>, branches, path) : true;
    }
    if (keep) return true;
    (holder as Record<string | number, unknown>)[key] = null;
    return !isNonNullType(type);
  };
  const ok = visitObject(data, root, []);
  return { data: ok ? data : null, errors };
}
