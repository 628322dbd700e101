/**
 * The subgraphs composed into the bundled patient graph's supergraph, from the service registry
 * (lib/services.ts): their names (as the gateway knows them), schema files and the default
 * routing URL written into the supergraph. The gateway overrides every URL from configuration
 * (SUBGRAPH_<NAME>_URL); the defaults are the subgraphs' fixed ports, as docker-compose uses them.
 */
import { ALL_SUBGRAPHS, defaultRoutingUrl } from '../lib/services';

export interface SubgraphDefinition {
  name: string;
  schemaPath: string;
  defaultUrl: string;
}

export const PATIENT_GRAPH_SUBGRAPHS: readonly SubgraphDefinition[] = ALL_SUBGRAPHS.map((subgraph) => ({
  name: subgraph.name,
  schemaPath: subgraph.schema,
  defaultUrl: defaultRoutingUrl(subgraph),
}));
