package engine

import (
	"context"
	"errors"
	"fmt"

	"github.com/estateflow/estateflow/ent"
	"github.com/estateflow/estateflow/ent/run"
	"github.com/estateflow/estateflow/ent/runevent"
)

// ErrSlowConsumer ends a subscription whose client fell too far behind. The
// client resumes with the last seq it received.
var ErrSlowConsumer = errors.New("subscriber fell too far behind and was disconnected; resume from the last seq received")

// ErrStopping ends subscriptions when the engine stops.
var ErrStopping = errors.New("the server is shutting down; resume from the last seq received")

const replayPage = 200

// IsTerminal reports whether an event ends a run.
func IsTerminal(t runevent.Type) bool {
	return t == runevent.TypeRUN_SUCCEEDED || t == runevent.TypeRUN_FAILED || t == runevent.TypeRUN_CANCELED
}

// RunEvents streams a run's events with seq > afterSeq: first the stored
// ones, then live ones as they commit, in seq order with no gap and no
// duplicate. The channel closes after the run's terminal event, when ctx
// ends, or when the subscriber falls behind; onEnd, if not nil, is called
// first with the reason (nil for a normal end).
func (e *Engine) RunEvents(ctx context.Context, runID, afterSeq int, onEnd func(error)) (<-chan *ent.RunEvent, error) {
	r, err := e.client.Run.Get(ctx, runID)
	if ent.IsNotFound(err) {
		return nil, notFoundError("runId", "run %d not found", runID)
	}
	if err != nil {
		return nil, fmt.Errorf("engine: loading run %d: %w", runID, err)
	}
	if afterSeq < 0 {
		return nil, inputError("afterSeq", "afterSeq must not be negative")
	}
	// Subscribe before reading the log, so that nothing committed after the
	// read is missed; duplicates are dropped by seq.
	sub := e.broker.subscribe(r.OrganizationID, runID)
	return spawnStream(e, sub, onEnd, func(out chan<- *ent.RunEvent) error {
		return e.streamRun(ctx, sub, runID, afterSeq, out)
	}), nil
}

// spawnStream runs body on a goroutine that Stop waits for. The channel
// closes when body returns; onEnd learns why first, unless the subscriber
// itself went away.
func spawnStream[T any](e *Engine, sub *subscriber, onEnd func(error), body func(out chan<- T) error) <-chan T {
	out := make(chan T)
	// Added under the lock that Stop takes to set stopped, so that no
	// stream is added once Stop may be waiting for them (WaitGroup.Add
	// must not race with Wait).
	e.mu.Lock()
	if e.stopped {
		e.mu.Unlock()
		e.broker.unsubscribe(sub)
		close(out)
		if onEnd != nil {
			onEnd(ErrStopping)
		}
		return out
	}
	e.streams.Add(1)
	e.mu.Unlock()
	e.cfg.Observer.StreamOpened()
	go func() {
		defer e.streams.Done()
		defer e.cfg.Observer.StreamClosed()
		defer close(out)
		defer e.broker.unsubscribe(sub)
		err := body(out)
		if onEnd != nil && !errors.Is(err, context.Canceled) {
			onEnd(err)
		}
	}()
	return out
}

// endReason tells why the broker closed a subscriber's channel.
func (e *Engine) endReason(sub *subscriber) error {
	if e.broker.overflowed(sub) {
		e.cfg.Observer.SlowConsumer()
		return ErrSlowConsumer
	}
	return ErrStopping
}

func (e *Engine) streamRun(ctx context.Context, sub *subscriber, runID, last int, out chan<- *ent.RunEvent) error {
	send := func(ev *ent.RunEvent) error {
		select {
		case out <- ev:
			last = ev.Seq
			return nil
		case <-ctx.Done():
			return ctx.Err()
		case <-e.quit:
			return ErrStopping
		}
	}
	// catchUp sends stored events after last, up to (not including) before;
	// before 0 means no bound. It reports whether a terminal event that is
	// the run's latest was sent.
	catchUp := func(before int) (bool, error) {
		for {
			q := e.client.RunEvent.Query().Where(runevent.RunID(runID), runevent.SeqGT(last))
			if before > 0 {
				q.Where(runevent.SeqLT(before))
			}
			evs, err := q.Order(runevent.BySeq()).Limit(replayPage).All(ctx)
			if err != nil {
				return false, fmt.Errorf("engine: replaying events of run %d: %w", runID, err)
			}
			for _, ev := range evs {
				if err := send(ev); err != nil {
					return false, err
				}
			}
			if len(evs) < replayPage {
				break
			}
		}
		if before > 0 {
			return false, nil
		}
		r, err := e.client.Run.Query().Where(run.ID(runID)).Select(run.FieldLastSeq, run.FieldStatus).Only(ctx)
		if err != nil {
			return false, fmt.Errorf("engine: loading run %d: %w", runID, err)
		}
		return last == r.LastSeq && isTerminalStatus(r.Status), nil
	}

	done, err := catchUp(0)
	if err != nil || done {
		return err
	}
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case ev, ok := <-sub.ch:
			if !ok {
				return e.endReason(sub)
			}
			if ev.Seq <= last {
				continue
			}
			if ev.Seq > last+1 {
				// Transactions of one run commit in seq order but may be
				// published out of order; the missing ones are stored.
				if _, err := catchUp(ev.Seq); err != nil {
					return err
				}
			}
			if err := send(ev); err != nil {
				return err
			}
			if IsTerminal(ev.Type) {
				return nil
			}
		}
	}
}

func isTerminalStatus(s run.Status) bool {
	return s == run.StatusSUCCEEDED || s == run.StatusFAILED || s == run.StatusCANCELED
}

// RunUpdates sends the run's current state at once, then again after every
// change, until the run finishes or ctx ends. States that arrive while the
// subscriber is behind are coalesced: it gets the latest, and the terminal
// one.
func (e *Engine) RunUpdates(ctx context.Context, runID int, onEnd func(error)) (<-chan *ent.Run, error) {
	r, err := e.client.Run.Get(ctx, runID)
	if ent.IsNotFound(err) {
		return nil, notFoundError("id", "run %d not found", runID)
	}
	if err != nil {
		return nil, fmt.Errorf("engine: loading run %d: %w", runID, err)
	}
	// Subscribe before reading the current state, so that no change
	// committed after the read is missed; older states are dropped by seq.
	sub := e.broker.subscribeStates(r.OrganizationID, runID, nil)
	return spawnStream(e, sub, onEnd, func(out chan<- *ent.Run) error {
		cur, err := e.client.Run.Get(ctx, runID)
		if err != nil {
			return fmt.Errorf("engine: loading run %d: %w", runID, err)
		}
		return e.streamStates(ctx, sub, cur, out)
	}), nil
}

// RunsUpdates sends every run of the viewer's organization that changes,
// optionally only those whose new status is in statuses. Each state comes
// from the change that produced it; no subscriber reads the database.
func (e *Engine) RunsUpdates(ctx context.Context, orgID int, statuses []run.Status, onEnd func(error)) (<-chan *ent.Run, error) {
	sub := e.broker.subscribeStates(orgID, 0, statuses)
	return spawnStream(e, sub, onEnd, func(out chan<- *ent.Run) error {
		return e.streamStates(ctx, sub, nil, out)
	}), nil
}

// streamStates sends the states the broker queues for sub, a batch at a
// time. With first (a subscription to one run) it sends that state before
// any other, skips states no newer than what it sent, and ends after
// sending the run finished.
func (e *Engine) streamStates(ctx context.Context, sub *subscriber, first *ent.Run, out chan<- *ent.Run) error {
	single := first != nil
	last := 0
	send := func(r *ent.Run) (bool, error) {
		if single {
			if r.LastSeq <= last {
				return false, nil
			}
			last = r.LastSeq
		}
		select {
		case out <- r:
		case <-ctx.Done():
			return false, ctx.Err()
		case <-e.quit:
			return false, ErrStopping
		}
		return single && isTerminalStatus(r.Status), nil
	}
	if single {
		last = first.LastSeq - 1 // the first state is sent whatever its seq
		if done, err := send(first); err != nil || done {
			return err
		}
	}
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case _, open := <-sub.states.ready:
			for _, r := range sub.states.take() {
				if done, err := send(r); err != nil || done {
					return err
				}
			}
			if !open {
				return e.endReason(sub)
			}
		}
	}
}
