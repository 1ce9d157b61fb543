// Package web serves the GraphiQL playground from assets embedded in the
// binary, so that it works on a machine with no internet access. The assets
// are the npm releases graphiql 4.1.2, react 18.2.0 and react-dom 18.2.0,
// byte for byte: their hashes match the subresource-integrity values that
// gqlgen's playground pins.
package web
