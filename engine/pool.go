package engine

import "sync"

// pool is the in-process dispatcher: a fixed set of workers draining a FIFO
// of ready steps. The queue holds one entry per ready step, so it is bounded
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
