/**
 * The IDE's HTML page and the headers it is served with. The page holds no data: its scripts
 * and styles come from the gateway (assets.ts) and its settings (the endpoint, the headers
 * editor's starting text) sit in a JSON block the page's own script reads, so the
 * Content-Security-Policy allows no inline script and no other host.
 */
import type { IdeAssets } from './assets';

export interface IdePageSettings {
  /** Where the page sends operations, relative to the page. */
  endpoint: string;
  /** The headers editor's starting text (JSON). */
  headers: string;
}

/** What the headers editor starts with when the page hands out no token. */
const HEADERS_WITHOUT_TOKEN = '{\n  "Authorization": "Bearer <paste a token>"\n}';

export function headersText(token: string | undefined): string {
  return token ? JSON.stringify({ Authorization: `Bearer ${token}` }, null, 2) : HEADERS_WITHOUT_TOKEN;
}

/** JSON safe inside a <script> element: no `<` to close it, no line separators to trip old parsers. */
function scriptJson(value: unknown): string {
  return JSON.stringify(value).replace(/</g, '\\u003c').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
}

export function renderIdePage(assets: IdeAssets, settings: IdePageSettings): string {
  const script = (file: Parameters<IdeAssets['urlOf']>[0]) => `    <script src="${assets.urlOf(file)}"></script>`;
  return `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <title>GraphiQL</title>
    <link rel="icon" href="data:,">
    <link rel="stylesheet" href="${assets.urlOf('graphiql.css')}">
    <link rel="stylesheet" href="${assets.urlOf('ide.css')}">
  </head>
  <body>
    <div id="graphiql">Loading the IDE…</div>
    <script type="application/json" id="ide-settings">${scriptJson(settings)}</script>
${script('react.js')}
${script('react-dom.js')}
${script('graphiql.js')}
${script('graphql-ws.js')}
${script('ide.js')}
  </body>
</html>
`;
}

/** A Host header fit to be echoed into a policy; anything else leaves the WebSocket sources out. */
const PLAIN_HOST = /^[a-z0-9.-]+(:\d{1,5})?$|^\[[0-9a-f:.]+\](:\d{1,5})?$/i;

/**
 * The page's Content-Security-Policy: scripts and styles from the gateway only, fonts and icons
 * that GraphiQL's stylesheet inlines (data: URLs), requests to the gateway only (its WebSocket
 * included: ws:/wss: of the same host are named, as 'self' does not cover them in every browser).
 */
export function idePagePolicy(host: string | undefined): string {
  const sockets = host && PLAIN_HOST.test(host) ? ` ws://${host} wss://${host}` : '';
  return [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "font-src 'self' data:",
    `connect-src 'self'${sockets}`,
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
}
