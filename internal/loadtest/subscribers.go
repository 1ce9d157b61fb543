package loadtest

import (
	"context"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// watcherQueue bounds the runs handed to one runEvents watcher that it has
// not yet followed; a run handed to a watcher whose queue is full is
// skipped (and counted).
const watcherQueue = 16

// maxUnknown bounds the terminal states a listener keeps for runs it did
// not know of yet (a run whose start's answer has not arrived, or a run
// someone else started).
const maxUnknown = 10000

// maxFailures is how many reconnections in a row, with nothing delivered
// in between, a subscriber makes before it gives up on a run (watchers)
// or waits for the test to end (listeners).
const maxFailures = 8

// fleet is the test's subscribers.
type fleet struct {
	url, token string
	reg        *registry
	errs       *errorCounter
	connect    chan struct{} // a semaphore bounding the dials in flight

	listeners []*listener
	watchers  []*watcher
	next      atomic.Int64 // round-robin over watchers
	skipped   atomic.Int64 // runs handed to a full watcher

	connected atomic.Int64 // websockets open now
	messages  atomic.Int64 // results received, over all subscribers
	wg        sync.WaitGroup
}

// subscriberStats are what one subscriber measured.
type subscriberStats struct {
	mu          sync.Mutex
	hist        histogram
	messages    int64
	reconnects  int64
	lastArrival time.Time
}

func (s *subscriberStats) record(at time.Time, latency time.Duration, timed bool) {
	s.mu.Lock()
	s.messages++
	if timed {
		s.hist.add(latency)
	}
	if at.After(s.lastArrival) {
		s.lastArrival = at
	}
	s.mu.Unlock()
}

// listener is a runsUpdated subscriber.
type listener struct {
	subscriberStats
	seen        []uint64 // bit i: the terminal state of run i arrived
	unknown     []string // terminal states of runs not (yet) registered
	unknownLost int64
}

// watcher is a runEvents subscriber that follows the runs handed to it,
// one after another.
type watcher struct {
	subscriberStats
	runs                           chan int
	busy                           atomic.Bool
	followed, complete, unfinished int64
}

func newFleet(url, token string, listeners, watchers, connectConcurrency int, reg *registry, errs *errorCounter) *fleet {
	f := &fleet{url: url, token: token, reg: reg, errs: errs, connect: make(chan struct{}, connectConcurrency)}
	for range listeners {
		f.listeners = append(f.listeners, &listener{})
	}
	for range watchers {
		f.watchers = append(f.watchers, &watcher{runs: make(chan int, watcherQueue)})
	}
	return f
}

// start opens every subscriber, at most connectConcurrency at a time, and
// returns once each has tried its first connection (and, for listeners,
// subscribed). The subscribers run until ctx ends; wait waits for them.
func (f *fleet) start(ctx context.Context) {
	var opened sync.WaitGroup
	opened.Add(len(f.listeners) + len(f.watchers))
	for _, l := range f.listeners {
		f.wg.Add(1)
		go func() {
			defer f.wg.Done()
			l.run(ctx, f, opened.Done)
		}()
	}
	for _, w := range f.watchers {
		f.wg.Add(1)
		go func() {
			defer f.wg.Done()
			w.run(ctx, f, opened.Done)
		}()
	}
	opened.Wait()
}

func (f *fleet) wait() { f.wg.Wait() }

// dial opens one websocket, waiting its turn among the dials in flight.
func (f *fleet) dial(ctx context.Context) (*wsConn, error) {
	select {
	case f.connect <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	defer func() { <-f.connect }()
	c, err := dial(ctx, f.url, f.token)
	if err == nil {
		f.connected.Add(1)
	}
	return c, err
}

func (f *fleet) hangUp(c *wsConn) {
	c.close()
	f.connected.Add(-1)
}

// assign hands run i to the next watchers, round-robin.
func (f *fleet) assign(i, perRun int) {
	if len(f.watchers) == 0 {
		return
	}
	for range min(perRun, len(f.watchers)) {
		w := f.watchers[int(f.next.Add(1)-1)%len(f.watchers)]
		select {
		case w.runs <- i:
		default:
			f.skipped.Add(1)
		}
	}
}

// backoff waits before reconnection number n (1, 2, …), or until ctx ends.
func backoff(ctx context.Context, n int) bool {
	t := time.NewTimer(min(100*time.Millisecond<<min(n-1, 5), 2*time.Second))
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// run listens to runsUpdated until ctx ends, resubscribing after any
// error; opened is called once the first subscription is sent (or failed).
func (l *listener) run(ctx context.Context, f *fleet, opened func()) {
	var once sync.Once
	defer once.Do(opened)
	failures := 0
	for op := 1; ctx.Err() == nil; op++ {
		if op > 1 {
			l.mu.Lock()
			l.reconnects++
			l.mu.Unlock()
			failures++
			if !backoff(ctx, min(failures, maxFailures)) {
				return
			}
		}
		c, err := f.dial(ctx)
		if err != nil {
			f.errs.add(ctx, "runsUpdated (connect)", err)
			once.Do(opened)
			continue
		}
		err = c.subscribe(ctx, "1", runsUpdatedQuery, nil)
		once.Do(opened)
		if err == nil {
			if l.listen(ctx, f, c) {
				failures = 0
			}
		} else {
			f.errs.add(ctx, "runsUpdated (subscribe)", err)
		}
		f.hangUp(c)
	}
}

// listen reads results until the stream or the connection ends, and
// reports whether it received any.
func (l *listener) listen(ctx context.Context, f *fleet, c *wsConn) bool {
	got := false
	for {
		fr, at, err := c.read(ctx)
		if err != nil {
			f.errs.add(ctx, "runsUpdated", err)
			return got
		}
		switch fr.Type {
		case "ping":
			if err := c.write(ctx, frame{Type: "pong"}); err != nil {
				f.errs.add(ctx, "runsUpdated (pong)", err)
				return got
			}
			continue
		case "complete":
			return got
		case "next", "error":
		default:
			continue
		}
		r, err := fr.next()
		if err != nil {
			f.errs.add(ctx, "runsUpdated", err)
			return got
		}
		run := r.Data.RunsUpdated
		if run == nil {
			f.errs.add(ctx, "runsUpdated", &protocolError{"a runsUpdated result with no run"})
			continue
		}
		got = true
		f.messages.Add(1)
		l.record(at, at.Sub(run.UpdatedAt), true)
		if terminalStatus(run.Status) {
			l.finished(f.reg, run.ID)
		}
	}
}

// finished notes that the run's terminal state arrived.
func (l *listener) finished(reg *registry, id string) {
	i, known := reg.lookup(id)
	l.mu.Lock()
	defer l.mu.Unlock()
	if !known {
		if len(l.unknown) < maxUnknown {
			l.unknown = append(l.unknown, id)
		} else {
			l.unknownLost++
		}
		return
	}
	l.mark(i)
}

func (l *listener) mark(i int) {
	for len(l.seen) <= i/64 {
		l.seen = append(l.seen, 0)
	}
	l.seen[i/64] |= 1 << (i % 64)
}

// resolve moves the terminal states of runs registered since they arrived
// into seen.
func (l *listener) resolve(reg *registry) {
	l.mu.Lock()
	defer l.mu.Unlock()
	kept := l.unknown[:0]
	for _, id := range l.unknown {
		if i, ok := reg.lookup(id); ok {
			l.mark(i)
		} else {
			kept = append(kept, id)
		}
	}
	l.unknown = kept
}

// hasAll reports whether the terminal state of every run in runs arrived.
func (l *listener) hasAll(runs []int) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, i := range runs {
		if i/64 >= len(l.seen) || l.seen[i/64]&(1<<(i%64)) == 0 {
			return false
		}
	}
	return true
}

// run opens the watcher's websocket, then follows the runs handed to it
// until ctx ends.
func (w *watcher) run(ctx context.Context, f *fleet, opened func()) {
	c, err := f.dial(ctx)
	opened()
	if err != nil {
		f.errs.add(ctx, "runEvents (connect)", err)
		c = nil
	}
	defer func() {
		if c != nil {
			f.hangUp(c)
		}
	}()
	op := 0
	for {
		select {
		case <-ctx.Done():
			return
		case i := <-w.runs:
			w.busy.Store(true)
			c = w.follow(ctx, f, c, &op, i)
			w.busy.Store(false)
		}
	}
}

// follow streams run i's events from seq 1 to its terminal event,
// resuming from the last seq after a dropped stream or connection, and
// returns the connection to use next (nil if it is gone).
func (w *watcher) follow(ctx context.Context, f *fleet, c *wsConn, op *int, i int) *wsConn {
	runID := f.reg.id(i)
	last, gap, failures := 0, false, 0
	for {
		if failures > 0 {
			w.mu.Lock()
			w.reconnects++
			w.mu.Unlock()
			if failures > maxFailures || !backoff(ctx, failures) {
				w.end(ctx, false, true)
				return c
			}
		}
		if c == nil {
			var err error
			if c, err = f.dial(ctx); err != nil {
				f.errs.add(ctx, "runEvents (connect)", err)
				c, failures = nil, failures+1
				continue
			}
		}
		*op++
		id := strconv.Itoa(*op)
		sent := time.Now()
		if err := c.subscribe(ctx, id, runEventsQuery, map[string]any{"runId": runID, "afterSeq": last}); err != nil {
			f.errs.add(ctx, "runEvents (subscribe)", err)
			f.hangUp(c)
			c, failures = nil, failures+1
			continue
		}
		done, delivered, keep := w.stream(ctx, f, c, id, sent, &last, &gap)
		if !keep {
			f.hangUp(c)
			c = nil
		}
		if done {
			w.end(ctx, !gap, false)
			return c
		}
		if ctx.Err() != nil {
			w.end(ctx, false, true)
			return c
		}
		if delivered {
			failures = 0
		}
		failures++
	}
}

// stream reads operation id until the run's terminal event (done), the
// stream's end or the connection's. It reports whether it delivered any
// event and whether the connection is still usable.
func (w *watcher) stream(ctx context.Context, f *fleet, c *wsConn, id string, sent time.Time, last *int, gap *bool) (done, delivered, keep bool) {
	for {
		fr, at, err := c.read(ctx)
		if err != nil {
			f.errs.add(ctx, "runEvents", err)
			return false, delivered, false
		}
		if fr.Type == "ping" {
			if err := c.write(ctx, frame{Type: "pong"}); err != nil {
				f.errs.add(ctx, "runEvents (pong)", err)
				return false, delivered, false
			}
			continue
		}
		if fr.ID != id {
			continue // a finished operation's last frames
		}
		switch fr.Type {
		case "complete":
			return false, delivered, true
		case "next", "error":
		default:
			continue
		}
		r, err := fr.next()
		if err != nil {
			f.errs.add(ctx, "runEvents", err)
			return false, delivered, true
		}
		ev := r.Data.RunEvents
		if ev == nil {
			f.errs.add(ctx, "runEvents", &protocolError{"a runEvents result with no event"})
			continue
		}
		if ev.Seq <= *last {
			continue // delivered before a resumption
		}
		if ev.Seq != *last+1 {
			*gap = true
		}
		*last, delivered = ev.Seq, true
		f.messages.Add(1)
		// Events committed before the subscription was sent are replays,
		// not deliveries: they count for completeness only.
		w.record(at, at.Sub(ev.At), ev.At.After(sent))
		if ev.Type == "RUN_SUCCEEDED" || ev.Type == "RUN_FAILED" || ev.Type == "RUN_CANCELED" {
			if err := c.complete(ctx, id); err != nil {
				return true, delivered, false
			}
			return true, delivered, true
		}
	}
}

// end counts a run the watcher followed: to its end (with or without
// every event), or not (the test ended first, or it gave up).
func (w *watcher) end(ctx context.Context, complete, unfinished bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	switch {
	case unfinished && ctx.Err() != nil:
		w.unfinished++
	case unfinished:
		w.followed++ // gave up: the run's events did not all arrive
	case complete:
		w.followed++
		w.complete++
	default:
		w.followed++
	}
}

// idle reports whether the watcher has followed every run handed to it.
func (w *watcher) idle() bool { return len(w.runs) == 0 && !w.busy.Load() }
