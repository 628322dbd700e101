/**
 * The project's root folder, found from wherever the code runs (sources under ts-jest,
 * compiled files under dist/), so schema files and the supergraph resolve the same way.
 */
import fs from 'node:fs';
import path from 'node:path';

let cached: string | undefined;

export function projectRoot(): string {
  if (cached) return cached;
  let dir = __dirname;
  while (!fs.existsSync(path.join(dir, 'package.json'))) {
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error(`no package.json above ${__dirname}`);
    dir = parent;
  }
  cached = dir;
  return dir;
}

/** A path under the project root. */
export function fromRoot(...parts: string[]): string {
  return path.join(projectRoot(), ...parts);
}
