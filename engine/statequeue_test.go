package engine

import (
	"testing"

	"github.com/estateflow/estateflow/ent"
	"github.com/estateflow/estateflow/ent/run"
)

func TestStateQueueCoalesces(t *testing.T) {
	st := func(id, seq int, s run.Status) *ent.Run { return &ent.Run{ID: id, LastSeq: seq, Status: s} }
	type want struct {
		id, seq int
	}
	tests := []struct {
		name   string
		limit  int
		offers []*ent.Run
		refuse int // index of the first offer refused; -1 for none
		want   []want
	}{
		{"latest state per run, in the order runs first changed", 4,
			[]*ent.Run{st(1, 1, run.StatusRUNNING), st(2, 1, run.StatusRUNNING), st(1, 2, run.StatusRUNNING), st(1, 3, run.StatusRUNNING)},
			-1, []want{{1, 3}, {2, 1}}},
		{"a terminal state replaces the unsent progress", 4,
			[]*ent.Run{st(1, 1, run.StatusRUNNING), st(1, 2, run.StatusSUCCEEDED)},
			-1, []want{{1, 2}}},
		{"a terminal state is never replaced: a retry queues behind it", 4,
			[]*ent.Run{st(1, 5, run.StatusFAILED), st(1, 6, run.StatusRUNNING), st(1, 7, run.StatusRUNNING)},
			-1, []want{{1, 5}, {1, 7}}},
		{"coalescing needs no room", 2,
			[]*ent.Run{st(1, 1, run.StatusRUNNING), st(2, 1, run.StatusRUNNING), st(2, 2, run.StatusRUNNING), st(1, 2, run.StatusCANCELED)},
			-1, []want{{1, 2}, {2, 2}}},
		{"more runs than the limit are refused", 2,
			[]*ent.Run{st(1, 1, run.StatusRUNNING), st(2, 1, run.StatusRUNNING), st(3, 1, run.StatusRUNNING)},
			2, []want{{1, 1}, {2, 1}}},
		{"terminal states count against the limit", 2,
			[]*ent.Run{st(1, 1, run.StatusSUCCEEDED), st(2, 1, run.StatusFAILED), st(2, 2, run.StatusRUNNING)},
			2, []want{{1, 1}, {2, 1}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := newStateQueue(tt.limit)
			for i, r := range tt.offers {
				accepted := q.offer(r)
				if accepted != (tt.refuse < 0 || i < tt.refuse) {
					t.Fatalf("offer %d (run %d seq %d) accepted=%v", i, r.ID, r.LastSeq, accepted)
				}
				if !accepted {
					break
				}
			}
			select {
			case <-q.ready:
			default:
				t.Fatal("a queue with states holds no ready token")
			}
			got := q.take()
			if len(got) != len(tt.want) {
				t.Fatalf("took %d states, want %d", len(got), len(tt.want))
			}
			for i, w := range tt.want {
				if got[i].ID != w.id || got[i].LastSeq != w.seq {
					t.Fatalf("state %d: run %d seq %d, want run %d seq %d", i, got[i].ID, got[i].LastSeq, w.id, w.seq)
				}
			}
			if rest := q.take(); len(rest) != 0 {
				t.Fatalf("take left %d states", len(rest))
			}
			// After a take, a state of a run taken queues anew.
			if !q.offer(st(1, 100, run.StatusRUNNING)) || len(q.take()) != 1 {
				t.Fatal("a state offered after take was not queued")
			}
		})
	}
}

func TestBrokerDropsStaleStates(t *testing.T) {
	b := newBroker(4)
	s := b.subscribeStates(7, 0, nil)
	other := b.subscribeStates(8, 0, nil)
	b.publish(nil, &ent.Run{ID: 1, OrganizationID: 7, LastSeq: 3, Status: run.StatusRUNNING})
	b.publish(nil, &ent.Run{ID: 1, OrganizationID: 7, LastSeq: 2, Status: run.StatusRUNNING}) // published late
	b.publish(nil, &ent.Run{ID: 1, OrganizationID: 7, LastSeq: 3, Status: run.StatusRUNNING}) // again, from another process
	got := s.states.take()
	if len(got) != 1 || got[0].LastSeq != 3 {
		t.Fatalf("subscriber got %v, want one state at seq 3", got)
	}
	if n := len(other.states.take()); n != 0 {
		t.Fatalf("a subscriber of another organization got %d states", n)
	}
}
