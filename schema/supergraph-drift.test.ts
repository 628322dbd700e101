import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fromRoot } from '../lib/root';
import { composeSubgraphs, SUPERGRAPH_PATH } from './composition';
import { PATIENT_GRAPH_SUBGRAPHS } from './subgraphs';

describe('the committed supergraph', () => {
  it('is what the subgraph schemas compose to today (run `npm run compose` when this fails)', () => {
    const outcome = composeSubgraphs(PATIENT_GRAPH_SUBGRAPHS);
    if (!outcome.ok) throw new Error(outcome.errors.join('\n'));
    expect(fs.readFileSync(fromRoot(SUPERGRAPH_PATH), 'utf8')).toBe(outcome.supergraphSdl);
  });
});

describe('composition errors', () => {
  it('name the subgraph at fault and the error code', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'compose-'));
    const a = path.join(dir, 'a.graphql');
    const b = path.join(dir, 'b.graphql');
    const link = 'extend schema @link(url: "https://specs.apollo.dev/federation/v2.7", import: ["@key"])';
    fs.writeFileSync(a, `${link}\ntype Query { a: Thing }\ntype Thing @key(fields: "id") { id: ID! size: Int }`);
    fs.writeFileSync(b, `${link}\ntype Thing @key(fields: "id") { id: ID! size: String }`);
    const outcome = composeSubgraphs([
      { name: 'alpha', schemaPath: a, defaultUrl: 'http://a/graphql' },
      { name: 'beta', schemaPath: b, defaultUrl: 'http://b/graphql' },
    ]);
    expect(outcome.ok).toBe(false);
    if (outcome.ok) return;
    expect(outcome.errors).toEqual([
      expect.stringMatching(/^\[alpha, beta\] FIELD_TYPE_MISMATCH: .*Thing\.size/),
      expect.stringMatching(/^\[alpha, beta\] INVALID_FIELD_SHARING: .*Thing\.size/),
    ]);
  });

  it('name the file that does not parse', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'compose-'));
    const broken = path.join(dir, 'broken.graphql');
    fs.writeFileSync(broken, 'type Query {');
    const outcome = composeSubgraphs([{ name: 'gamma', schemaPath: broken, defaultUrl: 'http://g/graphql' }]);
    expect(outcome).toEqual({ ok: false, errors: [expect.stringMatching(/^\[gamma\] .*broken\.graphql: Syntax Error/)] });
  });
});
