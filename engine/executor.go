package engine

import (
	"context"
	"errors"

	"github.com/estateflow/estateflow/ent"
)

// SubjectType is the kind of record a run works on. A run row points at
// its subject through one of two columns, so there are exactly two types.
type SubjectType string

// The two subject types.
const (
	SubjectProperty SubjectType = "PROPERTY"
	SubjectClient   SubjectType = "CLIENT"
)

// Subject is what a run works on.
type Subject struct {
	Type SubjectType
	ID   int
}

// StartCheck is what the engine asks of a run before creating it
// (Config.CheckStart): its subject, the step kinds of its package and its
// parameters.
type StartCheck struct {
	Subject Subject
	Kinds   []string
	Params  map[string]any
}

// StartChecker validates a run before it is created: that its subject
// exists in the viewer's organization, and that its parameters suit its
// package's step kinds. The engine knows neither properties nor clients nor
// what a step kind reads, so the application supplies it. An *Error it
// returns reaches the client as it is.
type StartChecker func(ctx context.Context, c StartCheck) error

// Effect writes a step's side effects (tasks, scheduled posts, emails) in the
// same transaction that records the step's success. db is bound to that
// transaction. Effects must be keyed by (run, step) so that a re-execution
// after a crash cannot duplicate them.
type Effect func(ctx context.Context, db *ent.Client) error

// StepContext is what an executor knows about the step it executes.
type StepContext struct {
	OrgID     int
	RunID     int
	StepRunID int
	StepKey   string
	Kind      string
	Attempt   int
	Subject   Subject
	// Params are the run's parameters; Config is the step's own settings.
	Params map[string]any
	Config map[string]any
	// Inputs holds the outputs of the step's dependencies, by step key.
	Inputs map[string]map[string]any

	progress  func(fraction float64, message string)
	effects   []Effect
	dependsOn []string // the keys of the steps whose outputs are Inputs
}

// Progress reports how far the step has come (0 to 1) and what it is doing.
// Reports are coalesced to a few per second; the latest one is never lost.
func (sc *StepContext) Progress(fraction float64, message string) {
	if sc.progress != nil {
		sc.progress(fraction, message)
	}
}

// AddEffect registers a side effect to write when the step succeeds.
func (sc *StepContext) AddEffect(e Effect) { sc.effects = append(sc.effects, e) }

// Executor does the work of one step kind. Its output must marshal to a JSON
// object, or be a Wait: the step then waits for a decision from outside the
// engine (wait.go), and its effects are written as it starts waiting. It must return promptly once ctx is done: ctx ends on the attempt's
// timeout, on cancelRun and on shutdown.
type Executor interface {
	Execute(ctx context.Context, sc *StepContext) (output any, err error)
}

// ExecutorFunc adapts a function to Executor.
type ExecutorFunc func(ctx context.Context, sc *StepContext) (any, error)

// Execute implements Executor.
func (f ExecutorFunc) Execute(ctx context.Context, sc *StepContext) (any, error) { return f(ctx, sc) }

type permanentError struct{ err error }

func (e permanentError) Error() string { return e.err.Error() }
func (e permanentError) Unwrap() error { return e.err }

// Permanent marks err as not worth retrying: the step fails at once.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return permanentError{err}
}

// IsPermanent reports whether err was marked with Permanent.
func IsPermanent(err error) bool {
	var p permanentError
	return errors.As(err, &p)
}
