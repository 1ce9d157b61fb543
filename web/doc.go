// Package web serves the browser-facing pages from assets embedded in the
// binary, so that they work on a machine with no internet access.
//
// The GraphiQL playground (/): the assets are the npm releases graphiql
// 4.1.2, react 18.2.0 and react-dom 18.2.0, byte for byte; the page
// (graphiql.html) pins them with subresource-integrity hashes. The page has
// its own token field, kept in the browser's localStorage, and sends it,
// with the Headers tab's headers, on every request, the schema's
// introspection included.
//
// The console (/app/, console/): a single page in plain ES modules, with no
// build step and no third-party code, that uses the public GraphQL API like
// any client: queries and mutations over POST /graphql, subscriptions over
// one graphql-transport-ws websocket that reconnects with backoff and
// resumes each run's event stream from its last seq. Its views: sign-in,
// launcher, builder, monitor and run detail.
//
// The public unsubscribe pages (/u/{token}, unsubscribe.go): small,
// self-contained HTML with no script, for the links in emails.
package web
