// Package httpserver holds EstateFlow's HTTP plumbing: request IDs, access
// logs, body limits, panic recovery and the server's life cycle. The routes
// themselves are wired in server.go.
package httpserver
