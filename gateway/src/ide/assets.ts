/**
 * The IDE's static files: GraphiQL's, React's and graphql-ws's prebuilt browser (UMD) builds, read
 * from the gateway's own node_modules, and the page's own script and style. All are read once, when
 * the gateway starts, and served under a path that names their content (`/graphql/ide/<hash>/…`),
 * so a browser may keep them for a year and a new release is a new path.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { IDE_SCRIPT, IDE_STYLE } from './client';

export interface IdeAsset {
  body: Buffer;
  contentType: string;
}

export interface IdeAssets {
  /** The content hash every asset URL carries. */
  version: string;
  /** URL path of a file, under `base`. */
  urlOf(file: IdeFile): string;
  get(file: string): IdeAsset | undefined;
}

/** The files the page loads, in the order it loads the scripts. */
export type IdeFile = 'graphiql.css' | 'ide.css' | 'react.js' | 'react-dom.js' | 'graphiql.js' | 'graphql-ws.js' | 'ide.js';

const JS = 'text/javascript; charset=utf-8';
const CSS = 'text/css; charset=utf-8';

/** The folder of an installed package, found from its main entry (some export no package.json). */
function packageDir(name: string): string {
  let dir = path.dirname(require.resolve(name));
  for (;;) {
    const manifest = path.join(dir, 'package.json');
    if (fs.existsSync(manifest) && (JSON.parse(fs.readFileSync(manifest, 'utf8')) as { name?: string }).name === name) return dir;
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error(`the IDE needs the package ${name}: not found above ${require.resolve(name)}`);
    dir = parent;
  }
}

/** A UMD build without its source-map comment: the map is not served, and a browser should not ask for it. */
function withoutSourceMap(text: Buffer): Buffer {
  return Buffer.from(text.toString('utf8').replace(/\n\/\/# sourceMappingURL=\S+\s*$/, '\n'), 'utf8');
}

export function loadIdeAssets(base: string): IdeAssets {
  const fromPackage = (name: string, file: string) => withoutSourceMap(fs.readFileSync(path.join(packageDir(name), file)));
  const files: Record<IdeFile, IdeAsset> = {
    'graphiql.css': { body: fromPackage('graphiql', 'graphiql.min.css'), contentType: CSS },
    'ide.css': { body: Buffer.from(IDE_STYLE, 'utf8'), contentType: CSS },
    'react.js': { body: fromPackage('react', 'umd/react.production.min.js'), contentType: JS },
    'react-dom.js': { body: fromPackage('react-dom', 'umd/react-dom.production.min.js'), contentType: JS },
    'graphiql.js': { body: fromPackage('graphiql', 'graphiql.min.js'), contentType: JS },
    'graphql-ws.js': { body: fromPackage('graphql-ws', 'umd/graphql-ws.min.js'), contentType: JS },
    'ide.js': { body: Buffer.from(IDE_SCRIPT, 'utf8'), contentType: JS },
  };
  const hash = crypto.createHash('sha256');
  for (const [name, asset] of Object.entries(files)) hash.update(name).update(asset.body);
  const version = hash.digest('hex').slice(0, 16);
  return {
    version,
    urlOf: (file) => `${base}/${version}/${file}`,
    get: (file) => (Object.hasOwn(files, file) ? files[file as IdeFile] : undefined),
  };
}
