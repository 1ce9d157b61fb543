// Package engine is EstateFlow's generic workflow engine.
//
// A run executes a snapshot of a package's steps. The steps' dependencies
// form a directed acyclic graph: a step becomes ready when all of its
// dependencies have succeeded, and independent steps run in parallel. A
// step that fails for good skips everything downstream of it; independent
// branches still finish.
//
// The engine knows step kinds only through executors registered with it;
// the real-estate work lives in the modules packages. Every change of state
// is one database transaction that updates the step and the run and appends
// a RunEvent whose seq grows by one per run, so the event log is a complete,
// gap-free history. Events reach subscribers only after their transaction
// commits. On PostgreSQL, events also reach the subscribers of other
// processes on the same database through NOTIFY and LISTEN.
//
// A dispatcher executes the steps that transactions make ready: with SQLite
// the in-process pool of workers, with PostgreSQL River jobs that every
// process on the database shares. Only the dispatcher knows which; the
// state machine is the same on both.
//
// Files by concern:
//
//   - engine.go: Config, New, Start and Stop, readiness.
//   - runs.go: starting, canceling and retrying runs (the API).
//   - advance.go: the run state machine: what a change of a step leads to.
//   - worker.go: executing one attempt of a step and recording its outcome.
//   - retry.go: everything about retries: backoff, the retry-or-fail
//     decision, the pool's retry timers and lost-timer sweep, River's
//     scheduling and snoozing of retries.
//   - txn.go: the transaction of a change of state, and its events.
//   - mirror.go: keeping the rows a transaction loaded current as it writes.
//   - dispatcher.go: the dispatcher interface between the engine and what
//     executes its steps.
//   - pool.go: the in-process dispatcher.
//   - river.go: the River dispatcher.
//   - river_sweep.go: giving River jobs to live steps that have none.
//   - recovery.go: resuming, on the pool, the runs a previous process left
//     in flight.
//   - progress.go: coalescing an executor's progress reports.
//   - broker.go: live events for the subscribers of this process.
//   - stream.go: subscriptions: replay, then live events, with no gap.
//   - fanout.go: events of other processes, through NOTIFY and LISTEN.
//   - executor.go: what executors implement and receive.
//   - errors.go: refusals the caller caused, with their error codes.
//   - observer.go: what the engine reports, once each change commits, to
//     an Observer (the application's metrics), without knowing of them.
//   - dag.go: validating a package's graph of steps.
//   - outbox.go: the transactional outbox: Transact, Enqueue, HandleTopic,
//     and delivering a message and recording its outcome; outbox_pool.go
//     its delivery loop on the pool, outbox_river.go its River jobs.
//
// Tests use real databases (SQLite, and PostgreSQL with TEST_DATABASE_URL);
// helpers_test.go holds their fixture, dispatcher_test.go the contract both
// dispatchers keep, and example_test.go the examples of this documentation.
package engine
