// LeadGraph's GraphiQL: renders GraphiQL (React and GraphiQL come from the scripts before this
// one, all served by LeadGraph itself) against this server's endpoints, found from the page's
// own address: POST/GET `graphql` and subscriptions over WebSocket at `graphql/ws`
// (graphql-transport-ws, through the graphql-ws client bundled in GraphiQL). The Headers tab
// (persisted in this browser) is sent with every request and as the WebSocket
// `connection_init` payload, so `{"Authorization": "Bearer <token or API key>"}` works for
// queries, mutations, subscriptions and the docs explorer alike.
(function () {
  'use strict';

  var endpoint = new URL('graphql', document.baseURI);
  var subscriptions = new URL('graphql/ws', document.baseURI);
  subscriptions.protocol = endpoint.protocol === 'https:' ? 'wss:' : 'ws:';

  var defaultQuery = [
    '# Welcome to LeadGraph.',
    '#',
    '# Sign in: fill in and run the mutation below,',
    '# then put the access token in the Headers tab:',
    '#',
    '#   { "Authorization": "Bearer <accessToken>" }',
    '#',
    '# An API key goes there the same way. Then re-fetch',
    '# the schema (circular arrow, bottom left) and open',
    '# the docs (book icon, top left).',
    '',
    'mutation SignIn {',
    '  login(input: {',
    '    organizationSlug: ""',
    '    email: ""',
    '    password: ""',
    '  }) {',
    '    accessToken',
    '  }',
    '}',
    ''
  ].join('\n');

  var fetcher = GraphiQL.createFetcher({
    url: endpoint.href,
    subscriptionUrl: subscriptions.href
  });

  ReactDOM.createRoot(document.getElementById('graphiql')).render(
    React.createElement(GraphiQL, {
      fetcher: fetcher,
      defaultQuery: defaultQuery,
      isHeadersEditorEnabled: true,
      shouldPersistHeaders: true,
      defaultEditorToolsVisibility: 'headers'
    })
  );
})();
