// Package cli is the client side of EstateFlow's command-line tools: a
// GraphQL client over HTTP, a graphql-transport-ws subscription client
// that reconnects and resumes a run's event stream from its last seq, the
// REST report download, and what the commands print (a live progress bar
// per step on a terminal, plain lines otherwise, and the outcome summary).
//
// The commands themselves (run, runs, report), with their flags, are
// registered in internal/app beside the server's; they call this package.
//
// Files by concern:
//
//   - client.go: Client, GraphQL over HTTP, API errors, the report.
//   - ws.go: one graphql-transport-ws subscription.
//   - watch.go: following a run to its end across dropped connections.
//   - progress.go: drawing the steps' progress and the summary.
//   - exit.go: exit codes.
package cli
