/**
 * The one place that chooses and orders the stages of a subgraph call:
 *
 *   entity cache → entity marks → in-flight dedupe → bulkhead → upstream pool (the terminal)
 *
 * Each stage lives in its own file and knows nothing of the others; adding one (authorisation,
 * operation limits) is a line here.
 */
import type { SupergraphEntities } from '../entities/supergraph-entities';
import type { SubgraphStage } from './call';
import { dedupeStage } from './dedupe-stage';
import { entityMarksStage } from './entity-marks-stage';

export interface StageChoices {
  /** The entity cache's stage, when the cache is on. */
  cache?: SubgraphStage;
  /** The supergraph being served, for the entity marks (undefined until it is loaded). */
  entities: () => SupergraphEntities | undefined;
  /** Whether a subgraph's identical in-flight queries are shared (its upstream policy's `dedupe`). */
  dedupe: (subgraph: string) => boolean;
  onDeduplicated?: (subgraph: string) => void;
  /** The per-subgraph and per-caller bulkheads (bulkhead-stage.ts). */
  bulkhead?: SubgraphStage;
}

export function subgraphStages(choices: StageChoices): SubgraphStage[] {
  return [
    ...(choices.cache ? [choices.cache] : []),
    entityMarksStage(choices.entities),
    dedupeStage({ enabled: choices.dedupe, ...(choices.onDeduplicated ? { onShared: choices.onDeduplicated } : {}) }),
    ...(choices.bulkhead ? [choices.bulkhead] : []),
  ];
}
