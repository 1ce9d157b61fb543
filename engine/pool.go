package engine

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/estateflow/estateflow/ent"
)

// poolDispatcher is the dispatcher of a single process: steps execute on
// the in-process pool of workers, and retries and the deadlines of waiting
// steps (wait.go) wait on in-process timers.
// The database holds the truth; what lives in memory only is rebuilt from
// it by the next start (recovery.go).
type poolDispatcher struct {
	e       *Engine
	pool    *pool
	retries *retryTimers
	sweep   *loop // of retries and deadlines whose timer was lost; set by start
	// outbox delivers outbox messages; set by start, read by the
	// transactions of any goroutine.
	outbox atomic.Pointer[outboxLoop]
}

func newPoolDispatcher(e *Engine) *poolDispatcher {
	d := &poolDispatcher{e: e}
	d.pool = newPool(e.cfg.Workers, d.run)
	d.retries = newRetryTimers(d.pool.submit, e.now)
	return d
}

// run is what a worker does with a step handed to it: execute it, or, for
// a waiting step's timer, apply its deadline (a short transaction).
func (d *poolDispatcher) run(ref stepRef) {
	if ref.deadline {
		d.e.expire(ref, d.retries.schedule)
		return
	}
	d.e.execute(ref)
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
	d.sweep = startLoop(d.e.cfg.SweepInterval, false, func() { d.e.resubmitOverdue(d.pool.submit) })
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
	for _, s := range t.deadlines {
		d.retries.schedule(deadlineRef(s, t.run.OrganizationID), *s.DeadlineAt)
	}
	for _, ref := range t.dispatch {
		d.pool.submit(ref)
	}
}

// fireOccurrences fires the claimed occurrences one after the other, on
// the ticking goroutine. A fire that fails stays claimed, and the source
// claims it again once its lease has passed.
func (d *poolDispatcher) fireOccurrences(ctx context.Context, occs []Occurrence) {
	for _, o := range occs {
		if ctx.Err() != nil {
			return
		}
		if err := d.e.fire(ctx, o); err != nil {
			d.e.log.Error("engine: periodic fire", "key", o.Key, "err", err)
		}
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

// inputsAtClaim: the pool executes a claimed step's StepContext as the
// claiming transaction built it.
func (d *poolDispatcher) inputsAtClaim() bool { return true }

// poolTx is a plain ent transaction: the pool's work is in memory, handed
// over after the commit.
type poolTx struct{ tx *ent.Tx }

func (t poolTx) client() *ent.Client { return t.tx.Client() }
func (t poolTx) beforeCommit(context.Context, *txn, *outboxBatch) error {
	return nil
}
func (t poolTx) insertOccurrences(context.Context, []Occurrence) error {
	return nil
}
func (t poolTx) commit() error   { return t.tx.Commit() }
func (t poolTx) rollback() error { return t.tx.Rollback() }

// pool is a fixed set of workers draining the ready steps. Each
// organization has its own FIFO, and the workers take from the
// organizations in turn, so that one organization's bulk of runs cannot
// make another's single run wait behind all of it. The queues hold one entry
// per ready step, so they are bounded by the steps in flight; submit never
// blocks, which lets workers submit the steps their own completion made
// ready.
type pool struct {
	workers int
	run     func(stepRef)

	mu     sync.Mutex
	queue  orgQueues
	queued map[int]bool // step run IDs in the queue or executing
	closed bool
	wake   chan struct{} // capacity 1: "the queue may have work"
	wg     sync.WaitGroup
}

func newPool(workers int, run func(stepRef)) *pool {
	return &pool{workers: workers, run: run, queue: newOrgQueues(), queued: map[int]bool{}, wake: make(chan struct{}, 1)}
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
	p.queue.push(ref)
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
		if p.queue.len() == 0 {
			p.mu.Unlock()
			<-p.wake
			continue
		}
		ref := p.queue.pop()
		if p.queue.len() > 0 {
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
	p.queue = newOrgQueues()
	p.mu.Unlock()
	close(p.wake)
}

func (p *pool) wait() { p.wg.Wait() }

// orgQueues is a FIFO of ready steps per organization, popped round-robin
// over the organizations that have steps waiting.
type orgQueues struct {
	byOrg map[int][]stepRef
	turn  []int // organizations with steps waiting, in the order they are served
	n     int
}

func newOrgQueues() orgQueues { return orgQueues{byOrg: map[int][]stepRef{}} }

func (q *orgQueues) len() int { return q.n }

func (q *orgQueues) push(ref stepRef) {
	if len(q.byOrg[ref.orgID]) == 0 {
		q.turn = append(q.turn, ref.orgID)
	}
	q.byOrg[ref.orgID] = append(q.byOrg[ref.orgID], ref)
	q.n++
}

// pop takes the oldest step of the organization whose turn it is; that
// organization goes to the back of the turn if it has more.
func (q *orgQueues) pop() stepRef {
	org := q.turn[0]
	q.turn[0] = 0
	q.turn = q.turn[1:]
	steps := q.byOrg[org]
	ref := steps[0]
	steps[0] = stepRef{}
	if len(steps) == 1 {
		delete(q.byOrg, org)
	} else {
		q.byOrg[org] = steps[1:]
		q.turn = append(q.turn, org)
	}
	q.n--
	return ref
}
