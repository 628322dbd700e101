/**
 * The page's own script and style, served as files (the page's Content-Security-Policy runs no
 * inline script). The script reads its settings from the page's JSON block, sends queries and
 * mutations over HTTP POST to /graphql with the headers editor's headers, subscriptions over
 * graphql-ws on the same path (the Authorization header travels in connectionParams), and renders
 * GraphiQL. It uses the globals the UMD builds define: React, ReactDOM, GraphiQL, graphqlWs.
 */

/** Plain ES2020 for the browser; nothing here runs in Node. */
export const IDE_SCRIPT = String.raw`(function () {
  'use strict';
  var settings = JSON.parse(document.getElementById('ide-settings').textContent);
  var endpoint = new URL(settings.endpoint, window.location.href);
  var socketUrl = new URL(endpoint.href);
  socketUrl.protocol = endpoint.protocol === 'https:' ? 'wss:' : 'ws:';

  function headerOf(headers, name) {
    for (var key in headers) if (key.toLowerCase() === name) return headers[key];
    return undefined;
  }

  // One socket per Authorization value: another token is another caller.
  var sockets = new Map();
  function socketFor(headers) {
    var authorization = headerOf(headers, 'authorization');
    var key = typeof authorization === 'string' ? authorization : '';
    var client = sockets.get(key);
    if (!client) {
      client = window.graphqlWs.createClient({ url: socketUrl.href, lazy: true, connectionParams: key ? { authorization: key } : {} });
      sockets.set(key, client);
    }
    return client;
  }

  // GraphiQL hands over the AST it parsed last, which can be of the text before the latest
  // keystrokes (it parses on a debounce): trust it only when it is of this very query.
  function isSubscription(params, documentAST) {
    if (documentAST && documentAST.loc && documentAST.loc.source && documentAST.loc.source.body === params.query) {
      var operations = documentAST.definitions.filter(function (d) { return d.kind === 'OperationDefinition'; });
      var operation = params.operationName
        ? operations.find(function (o) { return o.name && o.name.value === params.operationName; })
        : operations[0];
      return Boolean(operation) && operation.operation === 'subscription';
    }
    return operationTypeOf(params.query, params.operationName) === 'subscription';
  }

  // The operation's type read from the text: strings and comments blanked, then the named
  // operation's keyword, or the first operation's (one after a fragment's closing brace counts).
  function operationTypeOf(query, operationName) {
    var text = query.replace(/"""[\s\S]*?"""|"(?:[^"\\\n]|\\.)*"/g, '""').replace(/#[^\n]*/g, '');
    if (operationName) {
      var named = new RegExp('\\b(query|mutation|subscription)\\s+' + operationName + '\\b').exec(text);
      return named ? named[1] : 'query';
    }
    var first = /(?:^|\})\s*(query|mutation|subscription|\{)/.exec(text);
    return first && first[1] !== '{' ? first[1] : 'query';
  }

  async function overHttp(params, headers) {
    var response = await fetch(endpoint.href, {
      method: 'POST',
      credentials: 'omit',
      headers: Object.assign({ 'content-type': 'application/json', accept: 'application/graphql-response+json, application/json' }, headers),
      body: JSON.stringify(params),
    });
    if ((response.headers.get('content-type') || '').indexOf('json') !== -1) return response.json();
    return { errors: [{ message: 'HTTP ' + response.status + ' ' + response.statusText + ' (not a GraphQL response)' }] };
  }

  function fetcher(params, options) {
    var headers = (options && options.headers) || {};
    if (isSubscription(params, options && options.documentAST)) return socketFor(headers).iterate(params);
    return overHttp(params, headers);
  }

  var root = window.ReactDOM.createRoot(document.getElementById('graphiql'));
  root.render(
    window.React.createElement(window.GraphiQL, {
      fetcher: fetcher,
      defaultHeaders: settings.headers,
      initialHeaders: settings.headers,
      // Tokens stay out of localStorage.
      shouldPersistHeaders: false,
      defaultEditorToolsVisibility: 'headers',
    }),
  );
})();
`;

export const IDE_STYLE = `html, body { height: 100%; margin: 0; }
#graphiql { height: 100vh; }
`;
