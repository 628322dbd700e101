/**
 * The in-browser IDE: GraphiQL at /graphql for a browser that asks for HTML, instead of Apollo's
 * landing page (which loads Apollo Sandbox from a CDN). Two express handlers:
 * - `page`, first on /graphql: a GET that prefers HTML and carries no `query` gets the page,
 *   without authentication (it holds no data); anything else goes on to the GraphQL chain, where
 *   every operation the page sends is authenticated.
 * - `assets`, on /graphql/ide: the page's scripts and styles from the gateway's own dependencies.
 * The page carries the development token only as this-machine.ts allows, and only while the token
 * still verifies (an expired one is left out rather than handed out).
 */
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { Authenticate } from '../auth';
import { ErrorCode, errorBody } from '../errors';
import { loadIdeAssets } from './assets';
import { headersText, idePagePolicy, renderIdePage } from './page';
import { isFromThisMachine } from './this-machine';

/** Where the assets are served; the page is served at the GraphQL endpoint itself. */
export const IDE_ASSETS_PATH = '/graphql/ide';

export interface IdeOptions {
  /** The token the page may carry (ide.developmentToken, when the gateway runs with development auth). */
  developmentToken?: string;
  /** The gateway's authentication: a development token that no longer verifies is not handed out. */
  authenticate: Authenticate;
}

export interface Ide {
  page: RequestHandler;
  assets: RequestHandler;
}

/** A browser navigating to the endpoint, not a client asking for a GraphQL response. */
function wantsPage(req: Request): boolean {
  return (
    (req.method === 'GET' || req.method === 'HEAD') &&
    req.path === '/' &&
    req.query.query === undefined &&
    req.accepts(['application/graphql-response+json', 'application/json', 'text/html']) === 'text/html'
  );
}

const ONE_YEAR_SECONDS = 365 * 24 * 60 * 60;

export function createIde(options: IdeOptions): Ide {
  const assets = loadIdeAssets(IDE_ASSETS_PATH);
  const tokenFor = async (req: Request): Promise<string | undefined> => {
    const token = options.developmentToken;
    if (!token || !isFromThisMachine(req)) return undefined;
    return (await options.authenticate(`Bearer ${token}`)).ok ? token : undefined;
  };

  const page = (req: Request, res: Response, next: NextFunction) => {
    if (!wantsPage(req)) return next();
    tokenFor(req)
      .then((token) => {
        res.setHeader('Content-Type', 'text/html; charset=utf-8');
        res.setHeader('Content-Security-Policy', idePagePolicy(req.headers.host));
        // It may carry a token: never kept by a browser's or a proxy's cache.
        res.setHeader('Cache-Control', 'no-store');
        res.setHeader('Referrer-Policy', 'no-referrer');
        res.setHeader('X-Content-Type-Options', 'nosniff');
        res.setHeader('Vary', 'Accept');
        res.send(renderIdePage(assets, { endpoint: req.baseUrl || '/graphql', headers: headersText(token) }));
      })
      .catch(next);
  };

  const serveAsset = (req: Request, res: Response) => {
    const match = /^\/([0-9a-f]+)\/([a-z-]+\.(?:js|css))$/.exec(req.path);
    const asset = match && match[1] === assets.version ? assets.get(match[2]!) : undefined;
    if (!asset || (req.method !== 'GET' && req.method !== 'HEAD')) {
      // An old page's asset (a release ago) is gone: the page itself is never cached, so a reload mends it.
      res.status(404).json(errorBody(ErrorCode.NotFound, 'No such IDE file'));
      return;
    }
    res.setHeader('Content-Type', asset.contentType);
    res.setHeader('Cache-Control', `public, max-age=${ONE_YEAR_SECONDS}, immutable`);
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.setHeader('Cross-Origin-Resource-Policy', 'same-origin');
    res.send(asset.body);
  };

  return { page, assets: serveAsset };
}
