/**
 * Knowing which entities each subgraph answer holds: the fetch goes upstream with marks asking
 * for the type and key of every entity it touches (entities/fetch-marks.ts), and comes back
 * without them, with the entities' tags attached to the result (`entityTags`, per member for an
 * `_entities` fetch) and added to the request's `seen` set. The entity cache stores and evicts
 * by these tags; the audit trail reads the patients from `seen`. A fetch that cannot be marked
 * goes as it is, with no tags.
 */
import type { DocumentNode } from 'graphql';
import { analyseFetch, stripMarks } from '../entities/fetch-marks';
import type { FetchShape } from '../entities/fetch-marks';
import type { SupergraphEntities } from '../entities/supergraph-entities';
import type { SubgraphStage } from './call';

export function entityMarksStage(entities: () => SupergraphEntities | undefined): SubgraphStage {
  const shapes = new WeakMap<DocumentNode, { entities: SupergraphEntities; shape: FetchShape }>();
  const shapeOf = (document: DocumentNode, subgraph: string, supergraph: SupergraphEntities): FetchShape => {
    const known = shapes.get(document);
    // A reloaded supergraph may change keys and types: analyse again.
    if (known?.entities === supergraph) return known.shape;
    const shape = analyseFetch(document, subgraph, supergraph);
    shapes.set(document, { entities: supergraph, shape });
    return shape;
  };

  return async (call, next) => {
    const supergraph = entities();
    if (!supergraph) return next(call);
    const shape = shapeOf(call.document, call.subgraph, supergraph);
    if (!shape.markable) return next(call);
    const result = await next({ ...call, document: shape.document, query: shape.query });
    const data = result.body.data;
    const members = shape.entities ? (data as { _entities?: unknown } | null | undefined)?._entities : undefined;
    let entityTags;
    if (Array.isArray(members)) {
      const perMember = members.map((member) => {
        const tags = new Set<string>();
        stripMarks(member, tags);
        return [...tags];
      });
      entityTags = { all: [...new Set(perMember.flat())], members: perMember };
    } else {
      const tags = new Set<string>();
      stripMarks(data, tags);
      entityTags = { all: [...tags] };
    }
    for (const tag of entityTags.all) call.seen?.add(tag);
    return { ...result, entityTags };
  };
}
