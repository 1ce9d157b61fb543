// Package engine is EstateFlow's generic workflow engine.
//
// A run executes a snapshot of a package's steps. The steps' dependencies
// form a directed acyclic graph: a step becomes ready when all of its
// dependencies have succeeded, and independent steps run in parallel. A
// step that fails for good skips everything downstream of it; independent
// branches still finish.
//
// A step may also wait for a decision from outside the engine (a person's
// approval): its executor returns a Wait, the step shows AWAITING_APPROVAL
// without holding a worker or a job, and DecideStep or its deadline ends it.
//
// The engine knows step kinds only through executors registered with it;
// the real-estate work lives in the modules packages. Every change of state
// is one database transaction that updates the step and the run and appends
// a RunEvent whose seq grows by one per run, so the event log is a complete,
// gap-free history. Events reach subscribers only after their transaction
// commits. On PostgreSQL, events also reach the subscribers of other
// processes on the same database through NOTIFY and LISTEN. Once a run has
// finished longer ago than its organization's event retention, its progress
// events may be compacted into EVENTS_COMPACTED markers that state the seqs
// they stand for, so the log still accounts for every seq.
//
// StartRun admits a run only while the runs in flight drain within
// Config.AdmissionMaxWait, or the organization holds less than its fair
// share of that budget; otherwise it refuses with RATE_LIMITED and a
// Retry-After.
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
//   - wait.go: steps that wait for a decision from outside (an approval):
//     the Wait an executor returns, DecideStep, and deadlines, which ride
//     on the retries' timers, sweep and River jobs.
//   - txn.go: the transaction of a change of state, and its events.
//   - mirror.go: keeping the rows a transaction loaded current as it writes.
//   - dispatcher.go: the dispatcher interface between the engine and what
//     executes its steps.
//   - pool.go: the in-process dispatcher, whose workers take ready steps
//     from the organizations in turn.
//   - river.go: the River dispatcher.
//   - river_sweep.go: giving River jobs to live steps that have none.
//   - recovery.go: resuming, on the pool, the runs a previous process left
//     in flight.
//   - progress.go: coalescing an executor's progress reports.
//   - admission.go: refusing starts the workers could not drain in time,
//     fairly across organizations.
//   - retention.go: compacting the progress events of old runs, in
//     bounded batches, one process at a time.
//   - broker.go: live changes (events, and the run's state after them) for
//     the subscribers of this process, with no database read per
//     subscriber.
//   - statequeue.go: a state subscriber's bounded queue, which coalesces a
//     run's unsent states and keeps every terminal one.
//   - stream.go: subscriptions: replay, then live events, with no gap; run
//     states, in order per run.
//   - fanout.go: events of other processes, through NOTIFY and LISTEN.
//   - executor.go: what executors implement and receive.
//   - errors.go: refusals the caller caused, with their error codes.
//   - observer.go: what the engine reports, once each change commits, to
//     an Observer (the application's metrics), without knowing of them.
//   - dag.go: validating a package's graph of steps.
//   - periodic.go: periodic work: ticking on a Clock, claiming the
//     occurrences of the application's Periodic source in a dispatcher
//     transaction, and firing each once (a River job per occurrence, or on
//     the pool right after the claim).
//   - outbox.go: the transactional outbox: Transact, Enqueue, HandleTopic,
//     and delivering a message and recording its outcome; outbox_pool.go
//     its delivery loop on the pool, outbox_river.go its River jobs.
//
// Tests use real databases (SQLite, and PostgreSQL with TEST_DATABASE_URL);
// helpers_test.go holds their fixture, dispatcher_test.go the contract both
// dispatchers keep, and example_test.go the examples of this documentation.
package engine
