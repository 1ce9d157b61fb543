package engine

import (
	"time"

	"github.com/estateflow/estateflow/ent"
	"github.com/estateflow/estateflow/ent/runevent"
)

// Observer learns of the engine's changes of state, for metrics. The
// engine calls it after the transaction that made the change commits, in
// the process that committed it, so that each change is observed once
// however many processes share the database (River). Calls come from many
// goroutines and must return quickly: they run on the engine's own path.
type Observer interface {
	// RunStarted: a run left QUEUED for RUNNING.
	RunStarted(RunInfo)
	// RunFinished: a run ended SUCCEEDED, FAILED or CANCELED. A retried
	// run (RetryRun) finishes again.
	RunFinished(run RunInfo, status string)
	// StepFinished: an attempt of a step ended after it had started;
	// outcome is the step's status it led to: SUCCEEDED, FAILED,
	// RETRYING, CANCELED or AWAITING_APPROVAL (the executor returned a
	// Wait; the decision that ends the wait is no attempt).
	StepFinished(kind string, took time.Duration, outcome string)
	// StepRetrying: a step will run again (a failed attempt with attempts
	// left, or an attempt a restart interrupted).
	StepRetrying(kind string)
	// StepTimedOut: an attempt outlived its step's timeout.
	StepTimedOut(kind string)
	// StreamOpened and StreamClosed bracket a subscription stream
	// (RunEvents, OrgRunEvents) of this process.
	StreamOpened()
	StreamClosed()
	// SlowConsumer: a subscription stream fell too far behind and was
	// closed (ErrSlowConsumer).
	SlowConsumer()
	// StartRefused: admission control refused a new run of the
	// organization (RATE_LIMITED).
	StartRefused(orgID int)
	// EventsCompacted: the retention compacted the progress events of
	// runs, removing events of them.
	EventsCompacted(runs, events int)
}

// RunInfo identifies a run to an Observer.
type RunInfo struct {
	OrgID, RunID, PackageID int
}

// NopObserver observes nothing; it is the default.
type NopObserver struct{}

func (NopObserver) RunStarted(RunInfo)                         {}
func (NopObserver) RunFinished(RunInfo, string)                {}
func (NopObserver) StepFinished(string, time.Duration, string) {}
func (NopObserver) StepRetrying(string)                        {}
func (NopObserver) StepTimedOut(string)                        {}
func (NopObserver) StreamOpened()                              {}
func (NopObserver) StreamClosed()                              {}
func (NopObserver) SlowConsumer()                              {}
func (NopObserver) StartRefused(int)                           {}
func (NopObserver) EventsCompacted(int, int)                   {}

// attemptRecord is an attempt's end that a transaction records, reported
// to the Observer once it commits.
type attemptRecord struct {
	kind     string
	took     time.Duration
	outcome  string
	timedOut bool
}

// observe reports a committed transaction's changes to the Observer: the
// run's start and end from its events, and the attempts it recorded.
func (e *Engine) observe(t *txn) {
	o := e.cfg.Observer
	info := RunInfo{OrgID: t.run.OrganizationID, RunID: t.run.ID, PackageID: t.run.PackageID}
	for _, ev := range t.events {
		switch {
		case ev.Type == runevent.TypeRUN_STARTED:
			o.RunStarted(info)
		case IsTerminal(ev.Type):
			o.RunFinished(info, ev.Status)
		case ev.Type == runevent.TypeSTEP_RETRYING && ev.StepKey != nil:
			if s := t.stepByKey(*ev.StepKey); s != nil {
				o.StepRetrying(string(s.Kind))
			}
		}
	}
	for _, a := range t.attempts {
		o.StepFinished(a.kind, a.took, a.outcome)
		if a.timedOut {
			o.StepTimedOut(a.kind)
		}
	}
}

// stepByKey returns the loaded step with the given key, or nil.
func (t *txn) stepByKey(key string) *ent.StepRun {
	for _, s := range t.steps {
		if s.Key == key {
			return s
		}
	}
	return nil
}
