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
// change, until the run finishes or ctx ends. Changes that arrive together
// are sent as one state.
func (e *Engine) RunUpdates(ctx context.Context, runID int, onEnd func(error)) (<-chan *ent.Run, error) {
	r, err := e.client.Run.Get(ctx, runID)
	if ent.IsNotFound(err) {
		return nil, notFoundError("id", "run %d not found", runID)
	}
	if err != nil {
		return nil, fmt.Errorf("engine: loading run %d: %w", runID, err)
	}
	sub := e.broker.subscribe(r.OrganizationID, runID)
	return spawnStream(e, sub, onEnd, func(out chan<- *ent.Run) error {
		return e.streamStates(ctx, sub, func(map[int]bool) ([]*ent.Run, error) {
			r, err := e.client.Run.Get(ctx, runID)
			return []*ent.Run{r}, err
		}, out, true)
	}), nil
}

// RunsUpdates sends every run of the viewer's organization that changes,
// optionally only those whose new status is in statuses.
func (e *Engine) RunsUpdates(ctx context.Context, orgID int, statuses []run.Status, onEnd func(error)) (<-chan *ent.Run, error) {
	sub := e.broker.subscribe(orgID, 0)
	return spawnStream(e, sub, onEnd, func(out chan<- *ent.Run) error {
		return e.streamStates(ctx, sub, func(ids map[int]bool) ([]*ent.Run, error) {
			list := make([]int, 0, len(ids))
			for id := range ids {
				list = append(list, id)
			}
			q := e.client.Run.Query().Where(run.IDIn(list...)).Order(run.ByID())
			if len(statuses) > 0 {
				q.Where(run.StatusIn(statuses...))
			}
			return q.All(ctx)
		}, out, false)
	}), nil
}

// streamStates reads the runs touched by each batch of events and sends
// them. With single (a subscription to one run) it sends the run's current
// state before any event, and it ends after sending the run finished.
func (e *Engine) streamStates(ctx context.Context, sub *subscriber, load func(ids map[int]bool) ([]*ent.Run, error), out chan<- *ent.Run, single bool) error {
	sendRuns := func(ids map[int]bool) (bool, error) {
		runs, err := load(ids)
		if err != nil {
			return false, fmt.Errorf("engine: loading runs: %w", err)
		}
		for _, r := range runs {
			select {
			case out <- r:
			case <-ctx.Done():
				return false, ctx.Err()
			case <-e.quit:
				return false, ErrStopping
			}
			if single && isTerminalStatus(r.Status) {
				return true, nil
			}
		}
		return false, nil
	}
	if single {
		if done, err := sendRuns(nil); err != nil || done {
			return err
		}
	}
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case ev, ok := <-sub.ch:
			if !ok {
				return e.endReason(sub)
			}
			ids := map[int]bool{ev.RunID: true}
		drain:
			for {
				select {
				case ev, ok := <-sub.ch:
					if !ok {
						break drain
					}
					ids[ev.RunID] = true
				default:
					break drain
				}
			}
			if done, err := sendRuns(ids); err != nil || done {
				return err
			}
		}
	}
}
