/**
 * The answer a subgraph would have given had it been able to: when a call fails as a whole, every
 * field it was to return is null with the error at that field's own path, so the client sees
 * exactly what is missing and everything else of the response is served. For an `_entities`
 * fetch that is each field of each entity asked for (the planner turns `['_entities', i, field]`
 * into the entity's place in the response); for a root fetch, each root field.
 */
import { GraphQLError, Kind } from 'graphql';
import type { GraphQLFormattedError, SelectionSetNode } from 'graphql';
import type { SubgraphBody, SubgraphCall } from './call';

/** Response keys a selection set asks for, per type condition ('' for fields outside any fragment). */
function keysByType(set: SelectionSetNode): Map<string, string[]> {
  const keys = new Map<string, string[]>();
  const add = (type: string, key: string) => {
    // The gateway's own bookkeeping is not what the client asked for.
    if (key.startsWith('__') || key.startsWith('_pgc')) return;
    const list = keys.get(type) ?? [];
    if (!list.includes(key)) list.push(key);
    keys.set(type, list);
  };
  for (const selection of set.selections) {
    if (selection.kind === Kind.FIELD) add('', selection.alias?.value ?? selection.name.value);
    else if (selection.kind === Kind.INLINE_FRAGMENT) {
      const type = selection.typeCondition?.name.value ?? '';
      for (const [inner, list] of keysByType(selection.selectionSet)) for (const key of list) add(inner || type, key);
    }
  }
  return keys;
}

/**
 * The body for a failed call: nulls, and `error` at the path of every field it was to return.
 * `members` limits an `_entities` answer to those representation indexes (the rest are `null`
 * too, without errors: someone else answers them).
 */
export function failedCallBody(call: SubgraphCall, error: GraphQLError, members?: readonly number[]): SubgraphBody {
  const formatted = error.toJSON();
  const at = (path: Array<string | number>): GraphQLFormattedError => ({ ...formatted, path });
  const operation = call.document.definitions.find((definition) => definition.kind === Kind.OPERATION_DEFINITION);
  if (!operation) return { data: null, errors: [formatted] };
  const [first, ...rest] = operation.selectionSet.selections;
  const representations = (call.variables as { representations?: unknown }).representations;
  if (rest.length === 0 && first?.kind === Kind.FIELD && first.name.value === '_entities' && first.selectionSet && Array.isArray(representations)) {
    const keys = keysByType(first.selectionSet);
    const errors: GraphQLFormattedError[] = [];
    for (const index of members ?? representations.map((_, i) => i)) {
      const type = String((representations[index] as { __typename?: unknown })?.__typename ?? '');
      for (const key of [...(keys.get('') ?? []), ...(keys.get(type) ?? [])]) errors.push(at(['_entities', index, key]));
    }
    return { data: { _entities: representations.map(() => null) }, errors: errors.length > 0 ? errors : [formatted] };
  }
  const roots = keysByType(operation.selectionSet).get('') ?? [];
  return { data: null, errors: roots.length > 0 ? roots.map((key) => at([key])) : [formatted] };
}
