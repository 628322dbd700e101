/**
 * Compose subgraph schema files into a Federation 2 supergraph SDL with @apollo/composition.
 * Errors come back per subgraph so the user sees which schema is at fault.
 */
import fs from 'node:fs';
import path from 'node:path';
import { composeServices } from '@apollo/composition';
import { parse } from 'graphql';
import { fromRoot } from '../lib/root';
import type { SubgraphDefinition } from './subgraphs';

export type CompositionOutcome =
  | { ok: true; supergraphSdl: string; hints: string[] }
  | { ok: false; errors: string[] };

export function composeSubgraphs(subgraphs: readonly SubgraphDefinition[]): CompositionOutcome {
  const errors: string[] = [];
  const services = [];
  for (const subgraph of subgraphs) {
    const file = path.isAbsolute(subgraph.schemaPath) ? subgraph.schemaPath : fromRoot(subgraph.schemaPath);
    try {
      services.push({ name: subgraph.name, url: subgraph.defaultUrl, typeDefs: parse(fs.readFileSync(file, 'utf8')) });
    } catch (error) {
      errors.push(`[${subgraph.name}] ${subgraph.schemaPath}: ${(error as Error).message}`);
    }
  }
  if (errors.length > 0) return { ok: false, errors };
  const result = composeServices(services);
  if (result.errors) {
    return {
      ok: false,
      errors: result.errors.map((error) => {
        const at = new Set<string>();
        for (const node of error.nodes ?? []) {
          const name = (node as { subgraph?: string }).subgraph;
          if (name) at.add(name);
        }
        // Some errors carry no AST nodes; they still quote the subgraphs they are about.
        if (at.size === 0) for (const { name } of subgraphs) if (error.message.includes(`"${name}"`)) at.add(name);
        const code = (error.extensions?.code as string | undefined) ?? 'COMPOSITION_ERROR';
        return `${at.size ? `[${[...at].join(', ')}] ` : ''}${code}: ${error.message}`;
      }),
    };
  }
  return { ok: true, supergraphSdl: result.supergraphSdl, hints: result.hints.map((hint) => hint.toString()) };
}

export const SUPERGRAPH_PATH = 'schema/supergraph.graphql';
