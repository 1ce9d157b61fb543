// Package metrics holds EstateFlow's Prometheus metrics: the collectors of
// one server, in a registry of its own (never the global one), and the
// adapters through which the engine (engine.Observer), the GraphQL endpoint
// (graph.Observer) and River (a worker middleware) report to them.
//
// Every label is bounded: step kinds and statuses are enums; package keys
// and GraphQL operation names come from users, so each keeps its first
// MaxLabelValues distinct values and counts the rest as "other".
//
// Files by concern:
//
//   - metrics.go: Metrics, New, the registry and its HTTP handler.
//   - engine.go: runs, steps, retries, timeouts, streams, starts refused by
//     admission control and events compacted by the retention
//     (engine.Observer).
//   - graphql.go: operation latency and websockets (graph.Observer).
//   - river.go: River's queue depth (read from its job table at each
//     scrape) and job latency (a worker middleware).
//   - labels.go: bounding user-given label values.
package metrics
