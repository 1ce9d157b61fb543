package loadtest

import (
	"context"
	"sync"
	"time"
)

// registry holds the runs the test started, by index in start order, and
// their last known state.
type registry struct {
	mu    sync.RWMutex
	index map[string]int
	runs  []runState
}

type runState struct {
	id         string
	status     string // "" until polled
	createdAt  time.Time
	finishedAt time.Time
}

func newRegistry() *registry { return &registry{index: map[string]int{}} }

// add records a started run and returns its index; a run already known
// (an idempotent start answering an earlier run) keeps its index.
func (r *registry) add(id string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	if i, ok := r.index[id]; ok {
		return i
	}
	r.index[id] = len(r.runs)
	r.runs = append(r.runs, runState{id: id})
	return len(r.runs) - 1
}

func (r *registry) lookup(id string) (int, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	i, ok := r.index[id]
	return i, ok
}

func (r *registry) id(i int) string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.runs[i].id
}

func (r *registry) len() int {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return len(r.runs)
}

func terminalStatus(s string) bool { return s == "SUCCEEDED" || s == "FAILED" || s == "CANCELED" }

// snapshot returns a copy of the runs' states.
func (r *registry) snapshot() []runState {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return append([]runState(nil), r.runs...)
}

// finished returns the indexes of the runs known to be finished.
func (r *registry) finished() []int {
	r.mu.RLock()
	defer r.mu.RUnlock()
	var out []int
	for i, s := range r.runs {
		if terminalStatus(s.status) {
			out = append(out, i)
		}
	}
	return out
}

// pollBatch is how many runs one status query asks for.
const pollBatch = 100

const runsStatusQuery = `query LoadRuns($ids: [ID!], $n: Int) { runs(first: $n, where: {idIn: $ids}) { edges { node { id status createdAt finishedAt } } } }`

// poll reads the state of every run not yet known to be finished and
// returns how many are still unfinished.
func (r *registry) poll(ctx context.Context, a *api, errs *errorCounter) (int, error) {
	r.mu.RLock()
	var pending []string
	for _, s := range r.runs {
		if !terminalStatus(s.status) {
			pending = append(pending, s.id)
		}
	}
	r.mu.RUnlock()
	for start := 0; start < len(pending); start += pollBatch {
		batch := pending[start:min(start+pollBatch, len(pending))]
		var out struct {
			Runs struct {
				Edges []struct {
					Node struct {
						ID         string
						Status     string
						CreatedAt  time.Time
						FinishedAt *time.Time
					}
				}
			}
		}
		if err := a.graphql(ctx, runsStatusQuery, map[string]any{"ids": batch, "n": len(batch)}, &out); err != nil {
			errs.add(ctx, "runs (status poll)", err)
			return 0, err
		}
		r.mu.Lock()
		for _, e := range out.Runs.Edges {
			i, ok := r.index[e.Node.ID]
			if !ok {
				continue
			}
			s := &r.runs[i]
			s.status, s.createdAt = e.Node.Status, e.Node.CreatedAt
			if e.Node.FinishedAt != nil {
				s.finishedAt = *e.Node.FinishedAt
			}
		}
		r.mu.Unlock()
	}
	r.mu.RLock()
	defer r.mu.RUnlock()
	unfinished := 0
	for _, s := range r.runs {
		if !terminalStatus(s.status) {
			unfinished++
		}
	}
	return unfinished, nil
}

// waitFinished polls every interval until every run has finished or ctx
// ends, and returns the runs still unfinished.
func (r *registry) waitFinished(ctx context.Context, a *api, errs *errorCounter, interval time.Duration, onPoll func(unfinished int)) int {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		unfinished, err := r.poll(ctx, a, errs)
		if err == nil {
			if onPoll != nil {
				onPoll(unfinished)
			}
			if unfinished == 0 {
				return 0
			}
		}
		select {
		case <-ctx.Done():
			return r.len() - len(r.finished())
		case <-t.C:
		}
	}
}
