package engine

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/estateflow/estateflow/ent"
)

// poolDispatcher is the dispatcher of a single process: steps execute on
// the in-process pool of workers, and retries wait on in-process timers.
// The database holds the truth; what lives in memory only is rebuilt from
// it by the next start (recovery.go).
type poolDispatcher struct {
	e       *Engine
	pool    *pool
	retries *retryTimers
	sweep   *loop // of retries whose timer was lost; set by start
	// outbox delivers outbox messages; set by start, read by the
	// transactions of any goroutine.
	outbox atomic.Pointer[outboxLoop]
}

func newPoolDispatcher(e *Engine) *poolDispatcher {
	p := newPool(e.cfg.Workers, e.execute)
	return &poolDispatcher{e: e, pool: p, retries: newRetryTimers(p.submit)}
}

// start starts the workers, then recovers the runs in flight, whose steps
// the workers take as recovery hands them over.
func (d *poolDispatcher) start(ctx context.Context) error {
	d.pool.start()
	if err := d.e.recover(ctx); err != nil {
		grace, cancel := context.WithTimeout(context.Background(), d.e.cfg.ShutdownGrace)
		defer cancel()
		d.stopWorkers(grace)
		return fmt.Errorf("engine: recovering runs: %w", err)
	}
	d.sweep = startLoop(d.e.cfg.SweepInterval, false, func() { d.e.resubmitOverdueRetries(d.pool.submit) })
	d.outbox.Store(d.e.startOutboxLoop())
	return nil
}

func (d *poolDispatcher) stop(grace context.Context) {
	d.outbox.Load().stop()
	d.sweep.stop()
	d.stopWorkers(grace)
}

// stopWorkers stops the retry timers, then lets the workers finish their
// current step until grace ends, and interrupts the steps still running.
// Queued steps and waiting retries stay in the database for the next start.
func (d *poolDispatcher) stopWorkers(grace context.Context) {
	d.retries.stop()
	d.pool.close()
	drained := make(chan struct{})
	go func() { d.pool.wait(); close(drained) }()
	select {
	case <-drained:
	case <-grace.Done():
		d.e.interruptRunning(errShutdown)
		<-drained
	}
}

func (d *poolDispatcher) begin(ctx context.Context) (dispatchTx, error) {
	tx, err := d.e.client.Tx(ctx)
	if err != nil {
		return nil, err
	}
	return poolTx{tx}, nil
}

func (d *poolDispatcher) afterCommit(t *txn) {
	for _, id := range t.canceledRetries {
		d.retries.cancel(id)
	}
	for _, s := range t.retries {
		d.retries.schedule(retryRef(s, t.run.OrganizationID), *s.NextAttemptAt)
	}
	for _, ref := range t.dispatch {
		d.pool.submit(ref)
	}
}

// outboxCommitted wakes the outbox loop, which delivers the messages that
// are due. Before Start and after Stop there is no loop: the next engine to
// start delivers them.
func (d *poolDispatcher) outboxCommitted(b *outboxBatch) {
	if len(b.refs) == 0 {
		return
	}
	if l := d.outbox.Load(); l != nil {
		l.wake()
	}
}

// ready is always nil: the workers run as long as the engine does.
func (d *poolDispatcher) ready() error { return nil }

// poolTx is a plain ent transaction: the pool's work is in memory, handed
// over after the commit.
type poolTx struct{ tx *ent.Tx }

func (t poolTx) client() *ent.Client { return t.tx.Client() }
func (t poolTx) beforeCommit(context.Context, *txn, *outboxBatch) error {
	return nil
}
func (t poolTx) commit() error   { return t.tx.Commit() }
func (t poolTx) rollback() error { return t.tx.Rollback() }

// pool is a fixed set of workers draining a FIFO of ready steps. The queue holds one entry per ready step, so it is bounded
// by the steps in flight; submit never blocks, which lets workers submit the
// steps their own completion made ready.
type pool struct {
	workers int
	run     func(stepRef)

	mu     sync.Mutex
	queue  []stepRef
	queued map[int]bool // step run IDs in the queue or executing
	closed bool
	wake   chan struct{} // capacity 1: "the queue may have work"
	wg     sync.WaitGroup
}

func newPool(workers int, run func(stepRef)) *pool {
	return &pool{workers: workers, run: run, queued: map[int]bool{}, wake: make(chan struct{}, 1)}
}

func (p *pool) start() {
	for range p.workers {
		p.wg.Add(1)
		go p.loop()
	}
}

// submit queues a step unless it is already queued or executing.
func (p *pool) submit(ref stepRef) {
	p.mu.Lock()
	if p.closed || p.queued[ref.stepRunID] {
		p.mu.Unlock()
		return
	}
	p.queued[ref.stepRunID] = true
	p.queue = append(p.queue, ref)
	p.signal()
	p.mu.Unlock()
}

// signal wakes one idle worker. It is called with p.mu held, so that it
// cannot race with close.
func (p *pool) signal() {
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

func (p *pool) loop() {
	defer p.wg.Done()
	for {
		p.mu.Lock()
		if p.closed {
			p.mu.Unlock()
			return
		}
		if len(p.queue) == 0 {
			p.mu.Unlock()
			<-p.wake
			continue
		}
		ref := p.queue[0]
		p.queue[0] = stepRef{}
		p.queue = p.queue[1:]
		if len(p.queue) > 0 {
			p.signal() // pass the wake-up on, so an idle worker takes the next step
		}
		p.mu.Unlock()
		p.run(ref)
		p.mu.Lock()
		delete(p.queued, ref.stepRunID)
		p.mu.Unlock()
	}
}

// close stops the workers after their current step. Queued steps stay in
// the database as ready and are dispatched again on the next start.
func (p *pool) close() {
	p.mu.Lock()
	p.closed = true
	p.queue = nil
	p.mu.Unlock()
	close(p.wake)
}

func (p *pool) wait() { p.wg.Wait() }
