/**
 * Which entities a fetch of a query plan returns, worked out once per fetch document:
 *
 * - whether it is an `_entities` fetch (one entity per representation) or a root fetch;
 * - a marked copy of the document, which asks every object it touches for its `__typename` and,
 *   where the type is an entity of that subgraph, its key fields, under aliases of the gateway's
 *   own (`_pgc…`). From the answer, stripMarks() takes those aliases out again and returns the
 *   tags (`Patient:123`) of every entity in it, however deep: the entity cache tags its entries
 *   with them (a patient cached with its appointments goes when one of the appointments
 *   changes), and the audit trail names the patients an operation returned.
 */
import { Kind, getNamedType, isAbstractType, isCompositeType, isObjectType, print } from 'graphql';
import type {
  DocumentNode,
  FieldNode,
  GraphQLCompositeType,
  GraphQLSchema,
  InlineFragmentNode,
  SelectionNode,
  SelectionSetNode,
} from 'graphql';
import type { SupergraphEntities } from './supergraph-entities';

const MARK = '_pgc';
const TYPE_MARK = `${MARK}Type`;
const KEY_MARK = `${MARK}K_`;

export interface FetchShape {
  /** An `_entities` fetch: representations in, one entity each out, in order. */
  entities: boolean;
  /** The document with the cache's marks; the original when `markable` is false. */
  document: DocumentNode;
  /** `document`, printed (what goes on the wire). */
  query: string;
  /**
   * The marks could be added everywhere. When false (a field the supergraph does not know, a
   * name that clashes with the marks) answers cannot be tagged, so they are not cached.
   */
  markable: boolean;
}

const name = (value: string) => ({ kind: Kind.NAME, value }) as const;

function markField(alias: string, field: string): FieldNode {
  return { kind: Kind.FIELD, alias: name(alias), name: name(field) };
}

/** The marks for a selection set of `type` in `subgraph`: none where no entity can be. */
function marksFor(type: GraphQLCompositeType, subgraph: string, entities: SupergraphEntities): SelectionNode[] {
  const keyMarks = (objectType: string): FieldNode[] =>
    (entities.keyOf(subgraph, objectType) ?? []).map((field, index) => markField(`${KEY_MARK}${objectType}_${index}`, field));
  if (isObjectType(type)) {
    const keys = keyMarks(type.name);
    return keys.length > 0 ? [markField(TYPE_MARK, '__typename'), ...keys] : [];
  }
  if (!isAbstractType(type)) return [];
  const fragments: InlineFragmentNode[] = [];
  for (const possible of entities.schema.getPossibleTypes(type)) {
    const keys = keyMarks(possible.name);
    if (keys.length === 0) continue;
    fragments.push({
      kind: Kind.INLINE_FRAGMENT,
      typeCondition: { kind: Kind.NAMED_TYPE, name: name(possible.name) },
      selectionSet: { kind: Kind.SELECTION_SET, selections: keys },
    });
  }
  return fragments.length > 0 ? [markField(TYPE_MARK, '__typename'), ...fragments] : [];
}

function usesMarkNames(document: DocumentNode): boolean {
  let clash = false;
  JSON.stringify(document, (key, value: unknown) => {
    if ((key === 'alias' || key === 'name') && typeof value === 'object' && value !== null) {
      const text = (value as { value?: unknown }).value;
      if (typeof text === 'string' && text.startsWith(MARK)) clash = true;
    }
    return value;
  });
  return clash;
}

export function analyseFetch(document: DocumentNode, subgraph: string, entities: SupergraphEntities): FetchShape {
  const schema: GraphQLSchema = entities.schema;
  const operation = document.definitions.find((definition) => definition.kind === Kind.OPERATION_DEFINITION);
  const unmarked = (isEntities: boolean): FetchShape => ({ entities: isEntities, document, query: print(document), markable: false });
  if (!operation) return unmarked(false);
  const rootType = operation.operation === 'mutation' ? schema.getMutationType() : operation.operation === 'query' ? schema.getQueryType() : null;
  const isEntities =
    operation.operation === 'query' &&
    operation.selectionSet.selections.length === 1 &&
    operation.selectionSet.selections[0]!.kind === Kind.FIELD &&
    operation.selectionSet.selections[0]!.name.value === '_entities';
  if (!rootType || usesMarkNames(document)) return unmarked(isEntities);

  let markable = true;
  /** `type` is undefined for `_entities`' own selection set (the subgraph's `_Entity` union). */
  const mark = (set: SelectionSetNode, type: GraphQLCompositeType | undefined, isRoot: boolean): SelectionSetNode => {
    const selections = set.selections.map((selection): SelectionNode => {
      if (selection.kind === Kind.FRAGMENT_SPREAD) return selection;
      if (selection.kind === Kind.INLINE_FRAGMENT) {
        const condition = selection.typeCondition ? schema.getType(selection.typeCondition.name.value) : type;
        if (!condition || !isCompositeType(condition)) {
          markable = false;
          return selection;
        }
        return { ...selection, selectionSet: mark(selection.selectionSet, condition, false) };
      }
      if (!selection.selectionSet) return selection;
      if (isRoot && isEntities) return { ...selection, selectionSet: mark(selection.selectionSet, undefined, false) };
      const field = type && 'getFields' in type ? type.getFields()[selection.name.value] : undefined;
      const fieldType = field && getNamedType(field.type);
      if (!fieldType || !isCompositeType(fieldType)) {
        markable = false;
        return selection;
      }
      return { ...selection, selectionSet: mark(selection.selectionSet, fieldType, false) };
    });
    // The root has no key; `_entities`' members are marked inside their own fragments.
    const marks = isRoot || !type ? [] : marksFor(type, subgraph, entities);
    return { ...set, selections: [...selections, ...marks] };
  };

  const definitions = document.definitions.map((definition) => {
    if (definition === operation) return { ...operation, selectionSet: mark(operation.selectionSet, rootType, true) };
    if (definition.kind === Kind.FRAGMENT_DEFINITION) {
      const condition = schema.getType(definition.typeCondition.name.value);
      if (!condition || !isCompositeType(condition)) {
        markable = false;
        return definition;
      }
      return { ...definition, selectionSet: mark(definition.selectionSet, condition, false) };
    }
    return definition;
  });
  if (!markable) return unmarked(isEntities);
  const marked: DocumentNode = { ...document, definitions };
  return { entities: isEntities, document: marked, query: print(marked), markable: true };
}

/** The tag of an entity: `Type:id`, or `Type:["a","b"]` for a key of several fields. */
export function entityTag(type: string, key: readonly unknown[]): string {
  return key.length === 1 ? `${type}:${String(key[0])}` : `${type}:${JSON.stringify(key)}`;
}

/**
 * Removes the marks from an answer (in place) and adds the tags of the entities found in it
 * to `tags`. Only the cache's own aliases are removed: what the client asked for stays.
 */
export function stripMarks(value: unknown, tags: Set<string>): void {
  if (Array.isArray(value)) {
    for (const item of value) stripMarks(item, tags);
    return;
  }
  if (value === null || typeof value !== 'object') return;
  const record = value as Record<string, unknown>;
  const type = record[TYPE_MARK];
  if (type !== undefined) delete record[TYPE_MARK];
  let key: Array<[string, unknown]> | undefined;
  for (const property of Object.keys(record)) {
    if (property.startsWith(KEY_MARK)) {
      (key ??= []).push([property, record[property]]);
      delete record[property];
    } else {
      stripMarks(record[property], tags);
    }
  }
  if (typeof type === 'string' && key) {
    const own = key.filter(([alias]) => alias.startsWith(`${KEY_MARK}${type}_`)).sort(([a], [b]) => a.localeCompare(b, 'en', { numeric: true }));
    if (own.length > 0 && own.every(([, part]) => part !== null && part !== undefined)) tags.add(entityTag(type, own.map(([, part]) => part)));
  }
}
