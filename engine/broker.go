package engine

import (
	"sync"

	"github.com/estateflow/estateflow/ent"
	"github.com/estateflow/estateflow/ent/run"
)

// broker fans committed changes out to the subscribers of this process. A
// change is what one transaction committed: its events, and the run's
// state after them, taken from the transaction itself (or, for another
// process's change, read once per process), so that no subscriber reads the
// database per change. Publishing never blocks and starts no goroutine: it
// puts the change in each subscriber's bounded queue and wakes the
// subscriber's stream, which owns the rest.
//
// Subscribers to events (runEvents) have a channel of events; one whose
// channel is full is dropped and told so (SLOW_CONSUMER), which keeps memory
// flat however slow its client is. Subscribers to states (runUpdated,
// runsUpdated) have a stateQueue, which coalesces: while a run's state waits
// unsent, a newer state of that run replaces it in place, except that a
// terminal state is never replaced. Such a subscriber is dropped only when
// more distinct runs wait than its queue holds.
type broker struct {
	buffer int

	mu     sync.Mutex
	byRun  map[int]map[*subscriber]struct{}
	byOrg  map[int]map[*subscriber]struct{}
	closed bool
	// latest and older hold the last_seq of the latest state published per
	// run, in two generations so that memory stays bounded: when latest
	// fills, it becomes older. A state no newer than the one published
	// before it is stale (transactions of one run commit in seq order but
	// may publish out of order) and reaches no subscriber.
	latest, older map[int]int
}

// latestGeneration bounds the runs one generation of broker.latest holds.
// Stale publications trail the fresh ones by microseconds, so two
// generations of this many runs are plenty.
const latestGeneration = 8192

type subscriber struct {
	orgID int
	runID int // 0: every run of the organization
	// Exactly one of ch (events) and states (states) is set.
	ch     chan *ent.RunEvent
	states *stateQueue
	// statuses, if not empty, limits the states sent to runs in them.
	statuses []run.Status
	// overflowed and ended are guarded by the broker's mutex.
	overflowed bool
	ended      bool
}

func newBroker(buffer int) *broker {
	return &broker{buffer: buffer, byRun: map[int]map[*subscriber]struct{}{}, byOrg: map[int]map[*subscriber]struct{}{},
		latest: map[int]int{}, older: map[int]int{}}
}

// subscribe registers a subscriber to one run's events. On a stopped broker
// it returns an ended subscriber.
func (b *broker) subscribe(orgID, runID int) *subscriber {
	return b.add(&subscriber{orgID: orgID, runID: runID, ch: make(chan *ent.RunEvent, b.buffer)})
}

// subscribeStates registers a subscriber to the states of one run, or of
// every run of an organization when runID is 0, optionally only those in
// statuses.
func (b *broker) subscribeStates(orgID, runID int, statuses []run.Status) *subscriber {
	size := b.buffer
	if runID == 0 {
		size *= 4 // a whole organization's runs
	}
	return b.add(&subscriber{orgID: orgID, runID: runID, states: newStateQueue(size), statuses: statuses})
}

func (b *broker) add(s *subscriber) *subscriber {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		s.ended = true
		s.close()
		return s
	}
	index, key := b.byOrg, s.orgID
	if s.runID != 0 {
		index, key = b.byRun, s.runID
	}
	set := index[key]
	if set == nil {
		set = map[*subscriber]struct{}{}
		index[key] = set
	}
	set[s] = struct{}{}
	return s
}

func (s *subscriber) close() {
	if s.ch != nil {
		close(s.ch)
	} else {
		s.states.close()
	}
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
	s.close()
}

// overflowed reports whether s was dropped for falling behind.
func (b *broker) overflowed(s *subscriber) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return s.overflowed
}

// publish hands subscribers one run's committed events and, if known, the
// run's state after them. state is shared by every subscriber and must not
// be changed afterwards.
func (b *broker) publish(events []*ent.RunEvent, state *ent.Run) {
	if len(events) == 0 && state == nil {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if state != nil && !b.freshLocked(state) {
		state = nil
	}
	for _, ev := range events {
		for s := range b.byRun[ev.RunID] {
			if s.ch != nil {
				b.sendLocked(s, ev)
			}
		}
	}
	if state == nil {
		return
	}
	for s := range b.byRun[state.ID] {
		if s.states != nil {
			b.offerLocked(s, state)
		}
	}
	for s := range b.byOrg[state.OrganizationID] {
		b.offerLocked(s, state)
	}
}

// freshLocked reports whether state is newer than the run's state
// published last, and if so records it.
func (b *broker) freshLocked(state *ent.Run) bool {
	seen, ok := b.latest[state.ID]
	if !ok {
		seen = b.older[state.ID]
	}
	if state.LastSeq <= seen {
		return false
	}
	b.latest[state.ID] = state.LastSeq
	if len(b.latest) >= latestGeneration {
		b.older, b.latest = b.latest, make(map[int]int, latestGeneration)
	}
	return true
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

func (b *broker) offerLocked(s *subscriber, state *ent.Run) {
	if s.ended || state.OrganizationID != s.orgID {
		return
	}
	if len(s.statuses) > 0 && !statusIn(state.Status, s.statuses) {
		return
	}
	if !s.states.offer(state) {
		s.overflowed = true
		b.endLocked(s)
	}
}

func statusIn(st run.Status, in []run.Status) bool {
	for _, x := range in {
		if x == st {
			return true
		}
	}
	return false
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

// wants reports what subscribers here want of a run: its events, its
// state, or both.
func (b *broker) wants(orgID, runID int) (events, states bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for s := range b.byRun[runID] {
		if s.ch != nil {
			events = true
		} else {
			states = true
		}
	}
	return events, states || len(b.byOrg[orgID]) > 0
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
