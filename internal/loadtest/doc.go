// Package loadtest drives a running EstateFlow server over its public
// protocols, as `estateflow loadtest` does, and measures what its users
// would feel: how fast runs start and finish, how long an event takes from
// its commit to a subscriber, whether every subscriber got every event,
// which errors came back, and how the server's memory moved.
//
// A test is three phases. First it opens the subscribers, each on a
// websocket of its own (graphql-transport-ws): a share of them listen to
// runsUpdated, the others follow runs through runEvents, each taking the
// runs handed to it one after another. Then, for the configured duration,
// starters start runs (through GraphQL's startRun or REST's POST
// /api/v1/orchestration/runs) at a target rate or concurrency, optionally
// beside list queries; each started run is handed to its watchers. Last,
// it stops starting, waits a bounded time for the started runs to finish
// (polling their status), lets the subscribers catch up for a bounded time,
// closes everything and reports.
//
// Delivery latency is the time from an event's commit (runEvents' at, a
// run's updatedAt for runsUpdated) to its arrival at the subscriber, so
// the client's and the server's clocks must agree (one machine, or NTP).
// A runEvents subscriber got every event when the seqs of every run it
// followed to its end ran 1..N with no gap, across reconnections (it
// resumes from its last seq, as clients do). A runsUpdated subscriber got
// every event when it received the terminal state of every run the test
// started and saw finish; it has no cursor, so a reconnection that misses
// one shows as incomplete.
//
// The baseline (RunBaseline) is the ceiling the server is compared to: a
// trivial broadcaster (ServeBroadcaster) that serialises each message once
// and writes it to every websocket through a bounded queue per connection.
// `estateflow loadtest --baseline` runs it as a process of its own
// (`estateflow loadtest-broadcaster`), as the server is one; tests serve it
// in-process. The same subscriber code connects to it and measures it, and
// it sends the same volume (as many runs, as many messages per run) that
// the server's runsUpdated subscribers received, as fast as the sockets
// take it.
//
// During the load, the server's RSS and Go heap are sampled from /metrics,
// so that a long run (a soak) shows whether memory stayed flat after its
// warm-up.
//
// Every goroutine belongs to the phase that started it and ends with it;
// channels are bounded; every wait ends with its context or a timeout.
//
// Files by concern:
//
//   - config.go: Config, its defaults and checks.
//   - loadtest.go: Run, the phases.
//   - api.go: GraphQL and REST calls, and errors by code.
//   - ws.go: one graphql-transport-ws connection and its frames.
//   - subscribers.go: the runsUpdated listeners and runEvents watchers.
//   - starters.go: starting runs at a rate or concurrency, and queries.
//   - registry.go: the runs the test started, and polling their status.
//   - histogram.go: latencies and their percentiles.
//   - metrics.go: the server's RSS, Go heap and CPU from /metrics, and
//     the memory samples taken during the load.
//   - baseline.go: the trivial broadcaster, its control endpoints, and
//     RunBaseline.
//   - report.go: the report, as text and as JSON.
package loadtest
