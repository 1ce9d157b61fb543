package engine

import (
	"context"
	"time"

	"github.com/estateflow/estateflow/ent"
)

// A dispatcher executes the steps the engine's transactions make ready.
// There are two: the in-process pool (pool.go), which suits one process on
// SQLite, and River jobs (river.go), which every process on a PostgreSQL
// database shares; Config.River chooses. Like River's driver interface it
// keeps the rest of the engine unaware of which one runs: the state machine
// writes through the dispatcher's transactions, and the dispatcher takes
// what a committed transaction claimed, scheduled or canceled from its txn.
type dispatcher interface {
	// start begins executing steps, those a previous process left in
	// flight included. When it fails, it has stopped what it started.
	start(ctx context.Context) error
	// stop stops taking work and waits for the steps executing until grace
	// ends; then it interrupts them, and they are executed again later.
	// Nothing start began outlives it. It is called only after a start
	// that succeeded.
	stop(grace context.Context)
	// begin opens a transaction for the engine's writes.
	begin(ctx context.Context) (dispatchTx, error)
	// afterCommit hands over what t committed: the steps it claimed, the
	// retries it scheduled and those it canceled.
	afterCommit(t *txn)
	// outboxCommitted hands over the outbox messages a committed
	// transaction wrote or scheduled (outbox.go).
	outboxCommitted(b *outboxBatch)
	// ready reports whether the dispatcher executes steps.
	ready() error
	// inputsAtClaim reports whether the transaction that claims a step
	// must read its inputs: the pool executes the claimed StepContext as
	// it is, while a River job reads them when it runs, outside the run's
	// locked transaction.
	inputsAtClaim() bool
	// fireOccurrences fires, after their claim committed, the periodic
	// occurrences a tick claimed (periodic.go): the pool fires them at
	// once, River has inserted their jobs with the claim.
	fireOccurrences(ctx context.Context, occs []Occurrence)
}

// dispatchTx is one transaction of a dispatcher.
type dispatchTx interface {
	// client is an ent client bound to the transaction.
	client() *ent.Client
	// beforeCommit writes, in the transaction, what the dispatcher must
	// commit together with t: with River, the jobs of the steps t claimed
	// or scheduled for retry, the cancellation of the jobs of the retries
	// t canceled, the completion of the job whose attempt t records, and
	// the jobs of the outbox messages in b. t is nil when the transaction
	// changed no run (Transact, outbox outcomes).
	beforeCommit(ctx context.Context, t *txn, b *outboxBatch) error
	// insertOccurrences writes, with River, the jobs that fire the
	// occurrences a periodic claim returned; the pool has nothing to write.
	insertOccurrences(ctx context.Context, occs []Occurrence) error
	commit() error
	rollback() error
}

// loop calls a function on its own goroutine every interval until stop: the
// dispatchers' sweeps.
type loop struct {
	quit chan struct{}
	done chan struct{}
}

// startLoop starts calling fn every interval, and at once when immediately.
func startLoop(interval time.Duration, immediately bool, fn func()) *loop {
	l := &loop{quit: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(l.done)
		ticker := time.NewTicker(interval)
		defer ticker.Stop()
		if immediately {
			fn()
		}
		for {
			select {
			case <-l.quit:
				return
			case <-ticker.C:
				fn()
			}
		}
	}()
	return l
}

// stop ends the loop and waits for a call in progress.
func (l *loop) stop() {
	close(l.quit)
	<-l.done
}
