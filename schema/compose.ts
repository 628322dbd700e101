/**
 * `npm run compose`: write schema/supergraph.graphql from the subgraphs' schema files.
 * `--check` exits 1 instead of writing when the committed file is stale.
 */
import fs from 'node:fs';
import { fromRoot } from '../lib/root';
import { composeSubgraphs, SUPERGRAPH_PATH } from './composition';
import { PATIENT_GRAPH_SUBGRAPHS } from './subgraphs';

const check = process.argv.includes('--check');
const outcome = composeSubgraphs(PATIENT_GRAPH_SUBGRAPHS);
if (!outcome.ok) {
  console.error(`Composition failed (${outcome.errors.length} error(s)):`);
  for (const error of outcome.errors) console.error(`  ${error}`);
  process.exit(1);
}
const target = fromRoot(SUPERGRAPH_PATH);
const current = fs.existsSync(target) ? fs.readFileSync(target, 'utf8') : '';
if (check) {
  if (current !== outcome.supergraphSdl) {
    console.error(`${SUPERGRAPH_PATH} is out of date: run npm run compose`);
    process.exit(1);
  }
  console.log(`${SUPERGRAPH_PATH} is up to date`);
} else {
  fs.writeFileSync(target, outcome.supergraphSdl);
  console.log(`Wrote ${SUPERGRAPH_PATH} from ${PATIENT_GRAPH_SUBGRAPHS.map((s) => s.name).join(', ')}`);
}
