// Package web serves the GraphiQL playground from assets embedded in the
// binary, so that it works on a machine with no internet access. The assets
// are the npm releases graphiql 4.1.2, react 18.2.0 and react-dom 18.2.0,
// byte for byte; the page (graphiql.html) pins them with
// subresource-integrity hashes. The page has its own token field, kept in
// the browser's localStorage, and sends it, with the Headers tab's headers,
// on every request, the schema's introspection included.
//
// It also serves the public unsubscribe pages (/u/{token}, unsubscribe.go):
// small, self-contained HTML with no script, for the links in emails.
package web
