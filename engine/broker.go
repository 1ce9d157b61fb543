package engine

import (
	"sync"

	"github.com/estateflow/estateflow/ent"
)

// broker fans committed events out to subscribers in this process. Each
// subscriber has a bounded buffer; publishing never blocks, and a subscriber
// whose buffer is full is dropped and told so, which keeps memory flat
// however slow its client is.
type broker struct {
	buffer int

	mu     sync.Mutex
	byRun  map[int]map[*subscriber]struct{}
	byOrg  map[int]map[*subscriber]struct{}
	closed bool
}

type subscriber struct {
	orgID int
	runID int // 0: every run of the organization
	ch    chan *ent.RunEvent
	// overflowed and ended are guarded by the broker's mutex.
	overflowed bool
	ended      bool
}

func newBroker(buffer int) *broker {
	return &broker{buffer: buffer, byRun: map[int]map[*subscriber]struct{}{}, byOrg: map[int]map[*subscriber]struct{}{}}
}

// subscribe registers a subscriber to one run, or to every run of an
// organization when runID is 0. On a stopped broker it returns an ended
// subscriber.
func (b *broker) subscribe(orgID, runID int) *subscriber {
	size := b.buffer
	if runID == 0 {
		size *= 4 // a whole organization's events
	}
	s := &subscriber{orgID: orgID, runID: runID, ch: make(chan *ent.RunEvent, size)}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		s.ended = true
		close(s.ch)
		return s
	}
	index, key := b.byOrg, orgID
	if runID != 0 {
		index, key = b.byRun, runID
	}
	set := index[key]
	if set == nil {
		set = map[*subscriber]struct{}{}
		index[key] = set
	}
	set[s] = struct{}{}
	return s
}

// unsubscribe removes s and closes its channel; it is safe to call twice.
func (b *broker) unsubscribe(s *subscriber) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.endLocked(s)
}

func (b *broker) endLocked(s *subscriber) {
	if s.ended {
		return
	}
	s.ended = true
	index, key := b.byOrg, s.orgID
	if s.runID != 0 {
		index, key = b.byRun, s.runID
	}
	if set := index[key]; set != nil {
		delete(set, s)
		if len(set) == 0 {
			delete(index, key)
		}
	}
	close(s.ch)
}

// overflowed reports whether s was dropped for falling behind.
func (b *broker) overflowed(s *subscriber) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return s.overflowed
}

func (b *broker) publish(events []*ent.RunEvent) {
	if len(events) == 0 {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, ev := range events {
		for s := range b.byRun[ev.RunID] {
			b.sendLocked(s, ev)
		}
		for s := range b.byOrg[ev.OrganizationID] {
			b.sendLocked(s, ev)
		}
	}
}

func (b *broker) sendLocked(s *subscriber, ev *ent.RunEvent) {
	if s.ended {
		return
	}
	select {
	case s.ch <- ev:
	default:
		s.overflowed = true
		b.endLocked(s)
	}
}

// closeAll ends every subscriber; later subscriptions end at once.
func (b *broker) closeAll() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.closed = true
	for _, index := range []map[int]map[*subscriber]struct{}{b.byRun, b.byOrg} {
		for _, set := range index {
			for s := range set {
				b.endLocked(s)
			}
		}
	}
}

// wants reports whether anyone here subscribes to the run or its
// organization.
func (b *broker) wants(orgID, runID int) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.byRun[runID]) > 0 || len(b.byOrg[orgID]) > 0
}

// subscribed returns the runs (with their organizations) and the
// organizations that have subscribers.
func (b *broker) subscribed() (runs map[int]int, orgs map[int]bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	runs, orgs = map[int]int{}, map[int]bool{}
	for runID, set := range b.byRun {
		for s := range set {
			runs[runID] = s.orgID
			break
		}
	}
	for orgID := range b.byOrg {
		orgs[orgID] = true
	}
	return runs, orgs
}
