package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"
)

// Event is one of a run's events, as runEvents streams it.
type Event struct {
	Seq      int       `json:"seq"`
	Type     string    `json:"type"`
	StepKey  *string   `json:"stepKey"`
	Status   string    `json:"status"`
	Progress float64   `json:"progress"`
	Message  string    `json:"message"`
	At       time.Time `json:"at"`
}

// Terminal reports whether the event ends the run.
func (e Event) Terminal() bool {
	return e.Type == "RUN_SUCCEEDED" || e.Type == "RUN_FAILED" || e.Type == "RUN_CANCELED"
}

const runEventsSubscription = `subscription WatchRun($runId: ID!, $afterSeq: Int) {
  runEvents(runId: $runId, afterSeq: $afterSeq) { seq type stepKey status progress message at }
}`

// retryableCodes are the refusals after which the stream resumes: the
// subscriber fell behind, the server is stopping or its database is down,
// or the token spent its rate.
var retryableCodes = map[string]bool{"SLOW_CONSUMER": true, "SHUTTING_DOWN": true, "UNAVAILABLE": true, "RATE_LIMITED": true}

// WatchOptions tune WatchRun.
type WatchOptions struct {
	// AfterSeq is the cursor: events with a greater seq are delivered.
	AfterSeq int
	// OnEvent receives each event once, in seq order.
	OnEvent func(Event)
	// OnResume, if set, learns of each reconnection and why.
	OnResume func(afterSeq int, cause error)
	// MaxReconnects bounds the reconnections in a row that deliver no
	// event (default 8); backoff grows from 100ms to 5s between them.
	MaxReconnects int
}

// WatchRun follows a run's events until its terminal event, which it
// returns. A dropped connection, or a stream the server ended early, is
// reopened from the last seq received, so that each event is delivered
// exactly once.
func (c *Client) WatchRun(ctx context.Context, runID string, opts WatchOptions) (Event, error) {
	if opts.MaxReconnects <= 0 {
		opts.MaxReconnects = 8
	}
	last, failures := opts.AfterSeq, 0
	for {
		final, delivered, err := c.watchOnce(ctx, runID, &last, opts.OnEvent)
		if err == nil {
			return final, nil
		}
		if ctx.Err() != nil {
			return Event{}, ctx.Err()
		}
		var apiErr *APIError
		if errors.As(err, &apiErr) && !retryableCodes[apiErr.Code] {
			return Event{}, withCode(ExitConnection, err)
		}
		if delivered {
			failures = 0
		}
		failures++
		if failures > opts.MaxReconnects {
			return Event{}, withCode(ExitConnection, fmt.Errorf("lost the run's event stream: %w", err))
		}
		if opts.OnResume != nil {
			opts.OnResume(last, err)
		}
		wait := min(100*time.Millisecond<<(failures-1), 5*time.Second)
		select {
		case <-ctx.Done():
			return Event{}, ctx.Err()
		case <-time.After(wait):
		}
	}
}

// watchOnce streams events after *last on one connection, until the
// terminal event (returned with a nil error) or the stream's end (an
// error; io.ErrUnexpectedEOF when the server completed it early). It
// reports whether it delivered any event.
func (c *Client) watchOnce(ctx context.Context, runID string, last *int, onEvent func(Event)) (Event, bool, error) {
	sub, err := c.subscribe(ctx, runEventsSubscription, map[string]any{"runId": runID, "afterSeq": *last})
	if err != nil {
		return Event{}, false, err
	}
	defer sub.close()
	delivered := false
	for {
		data, err := sub.next(ctx)
		if errors.Is(err, io.EOF) {
			return Event{}, delivered, io.ErrUnexpectedEOF
		}
		if err != nil {
			return Event{}, delivered, err
		}
		var payload struct {
			RunEvents Event `json:"runEvents"`
		}
		if err := json.Unmarshal(data, &payload); err != nil {
			return Event{}, delivered, fmt.Errorf("a malformed event: %w", err)
		}
		ev := payload.RunEvents
		if ev.Seq <= *last {
			continue // already delivered before a reconnection
		}
		*last = ev.Seq
		delivered = true
		if onEvent != nil {
			onEvent(ev)
		}
		if ev.Terminal() {
			return ev, true, nil
		}
	}
}
