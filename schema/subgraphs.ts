/**
 * The subgraphs of the bundled patient graph: their names (as the gateway knows them), schema
 * files and the default routing URL written into the supergraph. The gateway overrides every
 * URL from configuration (SUBGRAPH_<NAME>_URL); these defaults match `npm start`'s fixed ports.
 */
export interface SubgraphDefinition {
  name: string;
  schemaPath: string;
  defaultUrl: string;
}

export const PATIENT_GRAPH_SUBGRAPHS: readonly SubgraphDefinition[] = [
  { name: 'semble', schemaPath: 'subgraphs/semble/schema.graphql', defaultUrl: 'http://localhost:4001/graphql' },
  { name: 'crm', schemaPath: 'subgraphs/crm/schema.graphql', defaultUrl: 'http://localhost:4002/graphql' },
  { name: 'payments', schemaPath: 'subgraphs/payments/schema.graphql', defaultUrl: 'http://localhost:4003/graphql' },
  { name: 'calendar', schemaPath: 'subgraphs/calendar/schema.graphql', defaultUrl: 'http://localhost:4004/graphql' },
  { name: 'sync', schemaPath: 'subgraphs/sync/schema.graphql', defaultUrl: 'http://localhost:4005/graphql' },
];
