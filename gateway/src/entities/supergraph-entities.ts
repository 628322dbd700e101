/**
 * What the entity cache needs to know of the supergraph: every type and field (to follow a
 * fetch's selections), and which types are entities in which subgraph with which key fields
 * (from `@join__type(graph:, key:)`), so a fetch can be made to return the keys of every entity
 * it touches and its cache entries can be tagged with them.
 */
import { Kind, buildASTSchema, parse } from 'graphql';
import type { ConstDirectiveNode, GraphQLSchema } from 'graphql';

export interface SupergraphEntities {
  schema: GraphQLSchema;
  /** Key fields of `type` as an entity of `subgraph`; undefined when it is none (or its key is not a flat field list). */
  keyOf(subgraph: string, type: string): readonly string[] | undefined;
}

function argument(directive: ConstDirectiveNode, name: string): string | undefined {
  const value = directive.arguments?.find((arg) => arg.name.value === name)?.value;
  if (!value) return undefined;
  return value.kind === Kind.STRING || value.kind === Kind.ENUM ? value.value : undefined;
}

/** A key of plain fields ("id", "id version"); nested keys ("org { id }") are not followed. */
function flatKey(fields: string): string[] | undefined {
  const names = fields.trim().split(/[\s,]+/).filter(Boolean);
  return names.length > 0 && names.every((name) => /^[_A-Za-z][_0-9A-Za-z]*$/.test(name)) ? names : undefined;
}

export function readSupergraphEntities(supergraphSdl: string): SupergraphEntities {
  const document = parse(supergraphSdl);
  const schema = buildASTSchema(document, { assumeValidSDL: true });
  const graphNames = new Map<string, string>();
  const keys = new Map<string, string[]>();
  for (const definition of document.definitions) {
    if (definition.kind === Kind.ENUM_TYPE_DEFINITION && definition.name.value === 'join__Graph') {
      for (const value of definition.values ?? []) {
        const graph = value.directives?.find((directive) => directive.name.value === 'join__graph');
        const name = graph && argument(graph, 'name');
        if (name) graphNames.set(value.name.value, name);
      }
    }
  }
  for (const definition of document.definitions) {
    if (definition.kind !== Kind.OBJECT_TYPE_DEFINITION && definition.kind !== Kind.INTERFACE_TYPE_DEFINITION) continue;
    for (const directive of definition.directives ?? []) {
      if (directive.name.value !== 'join__type') continue;
      const graph = argument(directive, 'graph');
      const key = argument(directive, 'key');
      const subgraph = graph && graphNames.get(graph);
      const fields = key && flatKey(key);
      // The first key a subgraph declares is the one its entities are tagged by.
      if (subgraph && fields && !keys.has(`${subgraph}\u0000${definition.name.value}`)) keys.set(`${subgraph}\u0000${definition.name.value}`, fields);
    }
  }
  return { schema, keyOf: (subgraph, type) => keys.get(`${subgraph}\u0000${type}`) };
}
