package engine

import (
	"sync"

	"github.com/estateflow/estateflow/ent"
)

// stateQueue is a state subscriber's bounded queue of run states, written
// by the broker and read, a batch at a time, by the subscriber's stream.
// While a run's state waits unsent, a newer state of the run replaces it in
// place (coalescing), so a subscriber that falls behind still gets each
// run's latest state, in the order the runs first changed. A terminal state
// is never replaced: a later state of that run (a retry) queues behind it.
type stateQueue struct {
	limit int
	// ready holds a token while items is not empty; it is closed when
	// the subscriber ends.
	ready chan struct{}

	mu      sync.Mutex
	items   []*ent.Run
	pending map[int]int // run → its replaceable (non-terminal) index in items
	closed  bool
}

func newStateQueue(limit int) *stateQueue {
	return &stateQueue{limit: limit, ready: make(chan struct{}, 1)}
}

// offer queues r, coalescing it with the run's unsent state. It reports
// false when r would exceed the queue's limit.
func (q *stateQueue) offer(r *ent.Run) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		return true
	}
	if i, ok := q.pending[r.ID]; ok {
		q.items[i] = r
		if isTerminalStatus(r.Status) {
			delete(q.pending, r.ID)
		}
		return true
	}
	if len(q.items) >= q.limit {
		return false
	}
	if !isTerminalStatus(r.Status) {
		if q.pending == nil {
			q.pending = map[int]int{}
		}
		q.pending[r.ID] = len(q.items)
	}
	q.items = append(q.items, r)
	if len(q.items) == 1 {
		select {
		case q.ready <- struct{}{}:
		default:
		}
	}
	return true
}

// take removes and returns every queued state, oldest first.
func (q *stateQueue) take() []*ent.Run {
	q.mu.Lock()
	defer q.mu.Unlock()
	items := q.items
	q.items = nil
	clear(q.pending)
	return items
}

// close wakes the reader for the last time; what is queued can still be
// taken.
func (q *stateQueue) close() {
	q.mu.Lock()
	defer q.mu.Unlock()
	if !q.closed {
		q.closed = true
		close(q.ready)
	}
}
