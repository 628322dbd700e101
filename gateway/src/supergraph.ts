/**
 * Owns the supergraph the gateway serves: reads the SDL file at start-up, and (when watching)
 * hands a changed file to the gateway, which swaps query plans without dropping in-flight
 * requests. A file that fails to load is logged and the previous supergraph stays in service.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import type { SupergraphManager } from '@apollo/gateway';
import type { Logger } from '../../lib/logger';
import { markEnforcedSecurityFeatures } from './authorization/enforced-features';

export type SupergraphState =
  | { phase: 'loading' }
  | { phase: 'loaded'; hash: string; loadedAt: string; subgraphs: string[] }
  | { phase: 'stopped' };

/** Subgraph names as declared by `@join__graph(name: …)`. */
export function subgraphNamesOf(supergraphSdl: string): string[] {
  return [...supergraphSdl.matchAll(/@join__graph\(\s*name:\s*"([^"]+)"/g)].map((match) => match[1]!);
}

export function readSupergraph(file: string): string {
  let sdl: string;
  try {
    sdl = fs.readFileSync(file, 'utf8');
  } catch (error) {
    throw new Error(`cannot read the supergraph at ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
  if (!/@link\(\s*url:\s*"https:\/\/specs\.apollo\.dev\/join\/v0\.[2-9]/.test(sdl)) {
    throw new Error(`${file} is not a Federation 2 supergraph: expected a @link to the join spec v0.2 or later`);
  }
  return sdl;
}

export interface FileSupergraph extends SupergraphManager {
  state(): SupergraphState;
}

export function createFileSupergraph(options: { file: string; watch: boolean; logger: Logger; pollMs?: number }): FileSupergraph {
  let state: SupergraphState = { phase: 'loading' };
  const markLoaded = (sdl: string) => {
    state = {
      phase: 'loaded',
      hash: crypto.createHash('sha256').update(sdl).digest('hex').slice(0, 16),
      loadedAt: new Date().toISOString(),
      subgraphs: subgraphNamesOf(sdl),
    };
  };

  return {
    state: () => state,
    async initialize({ update }) {
      const sdl = readSupergraph(options.file);
      markLoaded(sdl);
      let current = sdl;
      const onChange = () => {
        let next: string;
        try {
          next = readSupergraph(options.file);
        } catch (error) {
          options.logger.error({ err: (error as Error).message }, 'supergraph reload failed; keeping the current one');
          return;
        }
        if (next === current) return;
        try {
          update(markEnforcedSecurityFeatures(next));
          current = next;
          markLoaded(next);
          options.logger.info({ hash: state.phase === 'loaded' ? state.hash : undefined }, 'supergraph reloaded');
        } catch (error) {
          options.logger.error({ err: (error as Error).message }, 'supergraph rejected; keeping the current one');
        }
      };
      // Polling survives editors that replace the file (rename) where fs.watch would lose track.
      if (options.watch) fs.watchFile(options.file, { interval: options.pollMs ?? 1000, persistent: false }, onChange);
      return {
        supergraphSdl: markEnforcedSecurityFeatures(sdl),
        cleanup: async () => {
          if (options.watch) fs.unwatchFile(options.file, onChange);
          state = { phase: 'stopped' };
        },
      };
    },
  };
}
