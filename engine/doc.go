// Package engine is EstateFlow's generic workflow engine.
//
// A run executes a snapshot of a package's steps. The steps' dependencies
// form a directed acyclic graph: a step becomes ready when all of its
// dependencies have succeeded, and independent steps run in parallel: on a
// bounded in-process pool of workers, or, with PostgreSQL, as River jobs
// that every process on the database shares (river.go). A step that fails for good skips everything
// downstream of it; independent branches still finish.
//
// The engine knows step kinds only through executors registered with it;
// the real-estate work lives in the modules packages. Every change of state
// is one database transaction that updates the step and the run and appends
// a RunEvent whose seq grows by one per run, so the event log is a complete,
// gap-free history. Events reach subscribers only after their transaction
// commits. On start-up the engine recovers the runs that were in flight when
// the previous process stopped. On PostgreSQL, events also reach the
// subscribers of other processes on the same database through NOTIFY and
// LISTEN (fanout.go).
//
// Files by concern: engine.go (life cycle), runs.go (start, cancel, retry),
// advance.go (the run state machine), worker.go (executing one attempt),
// txn.go (transactions and events), progress.go (coalescing progress),
// broker.go and stream.go (live events for subscribers), fanout.go (events
// of other processes), pool.go and river.go (dispatch), recovery.go,
// backoff.go, executor.go, errors.go, dag.go.
package engine
