package engine

import (
	"math"
	"sync"
	"time"
)

type progressUpdate struct {
	fraction float64
	message  string
}

// progressReporter coalesces a step's progress reports: it writes at most
// one per interval, always the latest, and close writes the last pending one
// before the step's outcome is recorded, so the latest report is never lost.
type progressReporter struct {
	interval time.Duration
	write    func(progressUpdate)

	mu        sync.Mutex
	pending   *progressUpdate
	timer     *time.Timer
	lastWrite time.Time
	closed    bool
	writes    sync.WaitGroup // timer-driven writes in flight
}

func newProgressReporter(interval time.Duration, write func(progressUpdate)) *progressReporter {
	return &progressReporter{interval: interval, write: write}
}

func (r *progressReporter) report(fraction float64, message string) {
	if math.IsNaN(fraction) {
		fraction = 0
	}
	fraction = math.Min(1, math.Max(0, fraction))
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return
	}
	r.pending = &progressUpdate{fraction: fraction, message: message}
	if r.timer != nil {
		return // a write is already scheduled; it will take the latest
	}
	wait := r.interval - time.Since(r.lastWrite)
	if wait < 0 {
		wait = 0
	}
	r.writes.Add(1)
	r.timer = time.AfterFunc(wait, r.flush)
}

func (r *progressReporter) flush() {
	defer r.writes.Done()
	r.mu.Lock()
	p := r.pending
	r.pending = nil
	r.mu.Unlock()
	if p != nil {
		r.write(*p)
	}
	r.mu.Lock()
	r.lastWrite = time.Now()
	r.timer = nil
	if r.pending != nil && !r.closed {
		r.writes.Add(1)
		r.timer = time.AfterFunc(r.interval, r.flush)
	}
	r.mu.Unlock()
}

// close stops reporting, waits for a write in flight, and writes the last
// pending report.
func (r *progressReporter) close() {
	r.mu.Lock()
	r.closed = true
	if r.timer != nil && r.timer.Stop() {
		r.timer = nil
		r.writes.Done()
	}
	r.mu.Unlock()
	r.writes.Wait()
	r.mu.Lock()
	p := r.pending
	r.pending = nil
	r.mu.Unlock()
	if p != nil {
		r.write(*p)
	}
}
