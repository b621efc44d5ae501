import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { ApolloServerPlugin } from '@apollo/server';
import type { FastifyInstance } from 'fastify';

/**
 * GraphiQL served by this server from node_modules (development only): Apollo Sandbox, the /graphql landing page,
 * loads from Apollo's CDN and shows a single unstyled sentence without network. GraphiQL's UMD build and React's
 * UMD builds need no bundler; the page, its start-up script and its assets all come from here, under a strict CSP.
 */
export const LOCAL_EXPLORER_PATH = '/graphiql';

const packageFile = (pkg: string, file: string) => join(dirname(require.resolve(`${pkg}/package.json`)), file);

const ASSETS: Record<string, { file: string; type: string }> = {
  'react.js': { file: packageFile('react', 'umd/react.production.min.js'), type: 'text/javascript' },
  'react-dom.js': { file: packageFile('react-dom', 'umd/react-dom.production.min.js'), type: 'text/javascript' },
  'graphiql.js': { file: packageFile('graphiql', 'graphiql.min.js'), type: 'text/javascript' },
  'graphiql.css': { file: packageFile('graphiql', 'graphiql.min.css'), type: 'text/css' },
};

const DEFAULT_QUERY = `# GraphiQL, served by this server: works offline.
#
# Put your token in the Headers tab below, as
#   { "Authorization": "Bearer <token>" }
# (npm start prints a demo admin token; npm run token mints others).
# Then press the run button (or Ctrl-Enter).

{
  roles {
    id
    name
  }
}
`;

/** Runs in the page; a file rather than an inline script, so the CSP needs no 'unsafe-inline' for scripts. */
const START_SCRIPT = `(function () {
  var fetcher = GraphiQL.createFetcher({ url: ${JSON.stringify('/graphql')} });
  var root = ReactDOM.createRoot(document.getElementById('graphiql'));
  root.render(React.createElement(GraphiQL, {
    fetcher: fetcher,
    defaultQuery: ${JSON.stringify(DEFAULT_QUERY)},
    defaultEditorToolsVisibility: 'headers',
    shouldPersistHeaders: false
  }));
})();
`;

const PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>GraphiQL: bulk invite service</title>
<link rel="stylesheet" href="${LOCAL_EXPLORER_PATH}/assets/graphiql.css">
<link rel="stylesheet" href="${LOCAL_EXPLORER_PATH}/assets/page.css">
</head><body>
<div id="graphiql"><p class="loading">Loading GraphiQL&hellip;</p></div>
<script src="${LOCAL_EXPLORER_PATH}/assets/react.js"></script>
<script src="${LOCAL_EXPLORER_PATH}/assets/react-dom.js"></script>
<script src="${LOCAL_EXPLORER_PATH}/assets/graphiql.js"></script>
<script src="${LOCAL_EXPLORER_PATH}/assets/start.js"></script>
</body></html>
`;

const PAGE_CSS = 'html,body{height:100%;margin:0}#graphiql{height:100vh}.loading{font-family:system-ui,sans-serif;padding:1rem}\n';

/**
 * Scripts and styles from this origin only, requests only to this origin. CodeMirror and GraphiQL set inline
 * style attributes and inject style elements, hence style-src 'unsafe-inline'; fonts and icons are data: URLs in
 * GraphiQL's stylesheet.
 */
const CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "font-src 'self' data:",
  "img-src 'self' data:",
  "connect-src 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "form-action 'none'",
].join('; ');

export async function localExplorerRoutes(app: FastifyInstance) {
  // Read once, lazily: a few MB that only a developer's browser asks for.
  const cache = new Map<string, Buffer>();
  const read = (name: string) => {
    let body = cache.get(name);
    if (!body) cache.set(name, (body = readFileSync(ASSETS[name].file)));
    return body;
  };

  app.get(LOCAL_EXPLORER_PATH, { schema: { hide: true } }, async (_request, reply) =>
    reply
      .header('content-security-policy', CSP)
      .header('x-content-type-options', 'nosniff')
      .header('cache-control', 'no-store')
      .type('text/html; charset=utf-8')
      .send(PAGE),
  );

  app.get<{ Params: { name: string } }>(`${LOCAL_EXPLORER_PATH}/assets/:name`, { schema: { hide: true } }, async (request, reply) => {
    const { name } = request.params;
    reply.header('x-content-type-options', 'nosniff').header('cache-control', 'no-cache');
    if (name === 'start.js') return reply.type('text/javascript; charset=utf-8').send(START_SCRIPT);
    if (name === 'page.css') return reply.type('text/css; charset=utf-8').send(PAGE_CSS);
    if (!Object.hasOwn(ASSETS, name)) return reply.code(404).type('text/plain').send('Not found');
    return reply.type(`${ASSETS[name].type}; charset=utf-8`).send(read(name));
  });
}

const LINK_ID = 'local-explorer-link';
const LINK = `<a href="${LOCAL_EXPLORER_PATH}">Open GraphiQL, served by this server</a>`;
const LINK_CSS =
  `#${LINK_ID}{position:fixed;bottom:0;right:0;z-index:2147483647;margin:0;padding:6px 12px;` +
  'font:14px system-ui,sans-serif;background:#fff;border:1px solid #ccc;border-radius:6px 0 0 0}';

/**
 * Adds to Sandbox's page a fixed link to the local explorer (on top of Sandbox when it loads, alone when it does
 * not). The page's own CSP admits styles only by its nonce, so the link's style element carries that nonce.
 */
export function addLocalExplorerLink(html: string): string {
  const nonce = /nonce="?([A-Za-z0-9+/=_-]+)"?/.exec(html)?.[1];
  const style = nonce ? `<style nonce="${nonce}">${LINK_CSS}</style>` : '';
  const banner = `${style}<p id="${LINK_ID}">Offline, or Sandbox does not load? ${LINK}</p>`;
  return html.includes('<body>') ? html.replace('<body>', `<body>${banner}`) : `${banner}${html}`;
}

/** Wraps a landing page plugin (Apollo's Sandbox) so that its page also links to the local explorer. */
export function withLocalExplorerLink<T extends object>(plugin: ApolloServerPlugin<T>): ApolloServerPlugin<T> {
  return {
    ...plugin,
    async serverWillStart(service) {
      const listener = await plugin.serverWillStart?.(service);
      if (!listener?.renderLandingPage) return listener;
      const render = listener.renderLandingPage.bind(listener);
      return {
        ...listener,
        async renderLandingPage() {
          const page = await render();
          const original = page.html;
          const html = async () => addLocalExplorerLink(typeof original === 'string' ? original : await original());
          return { html };
        },
      };
    },
  };
}
