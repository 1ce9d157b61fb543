package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"runtime/debug"
	"time"

	"github.com/estateflow/estateflow/ent"
	"github.com/estateflow/estateflow/ent/run"
	"github.com/estateflow/estateflow/ent/runevent"
	"github.com/estateflow/estateflow/ent/steprun"
	"github.com/estateflow/estateflow/tenant"
)

// execute runs one attempt of a step handed to the pool: it claims the
// step if the transaction that readied it did not, executes it and records
// the outcome.
func (e *Engine) execute(ref stepRef) {
	// The engine acts as the run's organization, never as a superuser.
	ctx := tenant.NewContext(context.Background(), tenant.Viewer{OrgID: ref.orgID})
	sc, timeout := ref.claimed, ref.timeout
	if sc == nil {
		var err error
		if sc, timeout, err = e.claim(ctx, ref); err != nil {
			if !errors.Is(err, errSkip) {
				e.log.Error("engine: claiming step", "run_id", ref.runID, "step_run_id", ref.stepRunID, "err", err)
			}
			return
		}
	}
	stepCtx, cancelStep := context.WithCancelCause(ctx)
	defer cancelStep(nil)
	e.attempt(ctx, stepCtx, cancelStep, ref, sc, timeout)
}

// attemptEnd tells how an attempt ended.
type attemptEnd int

const (
	attemptRecorded    attemptEnd = iota // its outcome is written
	attemptInterrupted                   // the engine is stopping; the step stays RUNNING
	attemptUnrecorded                    // the database refused the outcome; the step stays RUNNING
)

// attempt executes sc's claimed attempt under stepCtx, which cancelStep
// ends with a cause (the run was canceled, the engine is stopping), and
// records the outcome through ctx.
func (e *Engine) attempt(ctx, stepCtx context.Context, cancelStep context.CancelCauseFunc, ref stepRef, sc *StepContext, timeout time.Duration) attemptEnd {
	ex := e.executors[sc.Kind]
	e.mu.Lock()
	self := &runningStep{orgID: ref.orgID, runID: ref.runID, cancel: cancelStep}
	e.running[ref.stepRunID] = self
	stopping := e.stopped
	e.mu.Unlock()
	defer func() {
		e.mu.Lock()
		if e.running[ref.stepRunID] == self {
			delete(e.running, ref.stepRunID)
		}
		e.mu.Unlock()
	}()
	if stopping {
		cancelStep(errShutdown)
	}
	// A cancel that committed after the step was claimed, but before it
	// was registered above, interrupted nothing: look once more. The same
	// read finds a River job whose attempt is no longer the step's (the
	// run was canceled and retried before the job ran), which has nothing
	// left to do: the step's current attempt has its own job.
	switch current, err := e.attemptState(ctx, ref.stepRunID, sc.Attempt); {
	case err != nil:
		// The outcome's transaction checks again.
		e.log.Warn("engine: reading the state of a step's attempt", "run_id", ref.runID, "step", sc.StepKey, "err", err)
	case current == attemptOfCanceledRun:
		cancelStep(errRunCanceled)
	case current == attemptSuperseded:
		return attemptRecorded
	}

	reporter := newProgressReporter(e.cfg.ProgressInterval, func(p progressUpdate) {
		if err := e.writeProgress(ctx, ref, sc.Attempt, p); err != nil {
			e.log.Warn("engine: writing progress", "run_id", ref.runID, "step", sc.StepKey, "err", err)
		}
	})
	sc.progress = reporter.report

	attemptCtx, cancelAttempt := context.WithTimeoutCause(stepCtx, timeout, errTimeout)
	var (
		output  any
		execErr = stepCtx.Err()
	)
	if execErr == nil { // not interrupted before it began
		output, execErr = e.safeExecute(attemptCtx, ex, sc)
	}
	cancelAttempt()
	reporter.close()

	switch cause := context.Cause(stepCtx); {
	case errors.Is(cause, errShutdown):
		// Leave the step RUNNING: it runs again on the next start, or on
		// another process.
		return attemptInterrupted
	case errors.Is(cause, errRunCanceled):
		return e.finishAttempt(ctx, ref, sc, attemptCanceled, nil, nil)
	}
	if execErr != nil && errors.Is(context.Cause(attemptCtx), errTimeout) {
		execErr = attemptTimeoutError{fmt.Sprintf("attempt %d timed out after %s", sc.Attempt, timeout)}
	}
	if execErr != nil {
		return e.finishAttempt(ctx, ref, sc, attemptFailed, nil, execErr)
	}
	return e.finishAttempt(ctx, ref, sc, attemptSucceeded, output, nil)
}

// safeExecute turns a panicking executor into a failed attempt. The stack
// goes to the log; the step's error, which clients see, gets the message.
func (e *Engine) safeExecute(ctx context.Context, ex Executor, sc *StepContext) (out any, err error) {
	defer func() {
		if v := recover(); v != nil {
			e.log.Error("engine: executor panicked", "run_id", sc.RunID, "step", sc.StepKey, "panic", v, "stack", string(debug.Stack()))
			err = fmt.Errorf("executor panicked: %v", v)
		}
	}()
	return ex.Execute(ctx, sc)
}

// claim moves a step due for retry to RUNNING and gathers what its
// executor needs.
func (e *Engine) claim(ctx context.Context, ref stepRef) (*StepContext, time.Duration, error) {
	var (
		sc      *StepContext
		timeout time.Duration
	)
	_, err := e.inRun(ctx, ref.runID, func(t *txn) error {
		i := t.stepIndex(ref.stepRunID)
		if i < 0 || t.run.Status != run.StatusRUNNING {
			return errSkip
		}
		s := t.steps[i]
		if !retryDue(s, t.now) || !allSucceeded(s, t.statusByKey()) {
			return errSkip // already claimed, finished, or not due yet
		}
		var err error
		sc, timeout, err = e.claimInTxn(t, i)
		return err
	})
	return sc, timeout, err
}

// attemptCurrency tells whether a claimed attempt is still the one to run.
type attemptCurrency int

const (
	attemptCurrent       attemptCurrency = iota
	attemptOfCanceledRun                 // the run is CANCELING or CANCELED (or gone)
	attemptSuperseded                    // the step is no longer RUNNING in this attempt
)

// attemptState reads, in one statement, whether the step still runs the
// attempt and its run is not being canceled.
func (e *Engine) attemptState(ctx context.Context, stepRunID, attempt int) (attemptCurrency, error) {
	s, err := e.client.StepRun.Query().
		Where(steprun.ID(stepRunID), steprun.HasRunWith(run.StatusNotIn(run.StatusCANCELING, run.StatusCANCELED))).
		Select(steprun.FieldStatus, steprun.FieldAttempt).Only(ctx)
	switch {
	case ent.IsNotFound(err):
		return attemptOfCanceledRun, nil
	case err != nil:
		return attemptCurrent, err
	case s.Status != steprun.StatusRUNNING || s.Attempt != attempt:
		return attemptSuperseded, nil
	}
	return attemptCurrent, nil
}

// claimInTxn moves step i to RUNNING, starting its next attempt, and builds
// its StepContext from the run and its dependencies' outputs.
func (e *Engine) claimInTxn(t *txn, i int) (*StepContext, time.Duration, error) {
	return e.claimStep(t, i, true)
}

// claimStep is claimInTxn; without inputs, the StepContext lacks the
// dependencies' outputs, which a River job reads when it runs
// (stepWorker.Work, from StepJobArgs.Claimed) rather than in the run's
// locked transaction.
func (e *Engine) claimStep(t *txn, i int, inputs bool) (*StepContext, time.Duration, error) {
	if err := t.setStep(i, func(u *ent.StepRunUpdate) *ent.StepRunUpdate {
		return u.SetStatus(steprun.StatusRUNNING).AddAttempt(1).SetProgress(0).SetMessage("").
			ClearError().ClearNextAttemptAt().SetStartedAt(t.now).ClearFinishedAt()
	}); err != nil {
		return nil, 0, err
	}
	s := t.steps[i]
	t.emit(runevent.TypeSTEP_STARTED, s, string(steprun.StatusRUNNING), 0, fmt.Sprintf("attempt %d started", s.Attempt))
	sc := newStepContext(t.run, s)
	if inputs {
		if err := readInputs(t.ctx, t.db, sc); err != nil {
			return nil, 0, err
		}
	}
	return sc, e.stepTimeout(s), nil
}

// stepTimeout is how long one attempt of s may run.
func (e *Engine) stepTimeout(s *ent.StepRun) time.Duration {
	if s.TimeoutSeconds != nil {
		return time.Duration(*s.TimeoutSeconds) * time.Second
	}
	return e.cfg.DefaultTimeout
}

// stepContext gathers what the executor of step i's current attempt needs:
// the run, the step's settings and its dependencies' outputs. The outputs
// are read here, through t's client: a run's steps are loaded without them
// (see stepColumns), and only an attempt's start needs them.
func (e *Engine) stepContext(t *txn, i int) (*StepContext, error) {
	sc := newStepContext(t.run, t.steps[i])
	if err := readInputs(t.ctx, t.db, sc); err != nil {
		return nil, err
	}
	return sc, nil
}

// newStepContext is the StepContext of step s's current attempt, without
// its inputs (readInputs).
func newStepContext(r *ent.Run, s *ent.StepRun) *StepContext {
	return &StepContext{
		OrgID: r.OrganizationID, RunID: r.ID, StepRunID: s.ID, StepKey: s.Key, Kind: string(s.Kind),
		Attempt: s.Attempt, Subject: subjectOf(r), Params: r.Params, Config: s.Config, dependsOn: s.DependsOn,
	}
}

// readInputs reads the outputs of sc's dependencies through db. They no
// longer change once the step may run.
func readInputs(ctx context.Context, db *ent.Client, sc *StepContext) error {
	sc.Inputs = make(map[string]map[string]any, len(sc.dependsOn))
	if len(sc.dependsOn) == 0 {
		return nil
	}
	deps, err := db.StepRun.Query().Where(steprun.RunID(sc.RunID), steprun.KeyIn(sc.dependsOn...)).
		Select(steprun.FieldKey, steprun.FieldOutput).All(ctx)
	if err != nil {
		return fmt.Errorf("engine: reading the inputs of step %q of run %d: %w", sc.StepKey, sc.RunID, err)
	}
	for _, dep := range deps {
		sc.Inputs[dep.Key] = dep.Output
	}
	return nil
}

// stepColumns are the step_runs columns a run's transactions load: all but
// the output, which can be large (a CMA's comps) and which decoding in
// every transaction of the run cost more than reading it once per
// attempt's start (stepContext).
func stepColumns() []string {
	cols := make([]string, 0, len(steprun.Columns))
	for _, c := range steprun.Columns {
		if c != steprun.FieldOutput {
			cols = append(cols, c)
		}
	}
	return cols
}

func subjectOf(r *ent.Run) Subject {
	switch {
	case r.PropertyID != nil:
		return Subject{Type: SubjectProperty, ID: *r.PropertyID}
	case r.ClientID != nil:
		return Subject{Type: SubjectClient, ID: *r.ClientID}
	}
	return Subject{}
}

type attemptOutcome int

const (
	attemptSucceeded attemptOutcome = iota
	attemptFailed
	attemptCanceled
	attemptWaiting // the executor returned a Wait (wait.go)
)

// finishAttempt records an attempt's outcome, its effects and the run's next
// move in one transaction.
func (e *Engine) finishAttempt(ctx context.Context, ref stepRef, sc *StepContext, outcome attemptOutcome, output any, execErr error) attemptEnd {
	var (
		outMap map[string]any
		wait   Wait
	)
	if w, ok := asWait(output); ok && outcome == attemptSucceeded {
		outcome, wait = attemptWaiting, w
	}
	if outcome == attemptSucceeded {
		var err error
		if outMap, err = toObject(output); err != nil {
			outcome, execErr = attemptFailed, Permanent(fmt.Errorf("step output: %w", err))
		}
	}
	err := e.recordOutcome(ctx, ref, sc, outcome, outMap, wait, execErr)
	// A failed write is retried a few times: a busy or restarting database
	// should not leave the step hanging until the next start.
	for try := 1; err != nil && !errors.Is(err, errSkip) && try <= 3 && !e.isStopped(); try++ {
		time.Sleep(time.Duration(try) * 200 * time.Millisecond)
		err = e.recordOutcome(ctx, ref, sc, outcome, outMap, wait, execErr)
	}
	if err != nil && !errors.Is(err, errSkip) && (outcome == attemptSucceeded || outcome == attemptWaiting) {
		// The output or the effects cannot be written (an effect may be
		// refused by the database): count the attempt as failed, so that
		// the retry policy decides, rather than lose the step.
		e.log.Error("engine: recording step success", "run_id", ref.runID, "step", sc.StepKey, "err", err)
		sc.effects = nil
		err = e.recordOutcome(ctx, ref, sc, attemptFailed, nil, Wait{}, fmt.Errorf("recording the step's result failed: %w", err))
	}
	if err != nil && !errors.Is(err, errSkip) {
		e.log.Error("engine: recording step outcome", "run_id", ref.runID, "step", sc.StepKey, "err", err)
		// The step stays RUNNING; it runs again on the next start, or
		// with River when the job is retried.
		return attemptUnrecorded
	}
	return attemptRecorded
}

// recordOutcome writes one attempt's outcome, its effects and the run's
// next move in one transaction.
func (e *Engine) recordOutcome(ctx context.Context, ref stepRef, sc *StepContext, outcome attemptOutcome, outMap map[string]any, wait Wait, execErr error) error {
	_, err := e.inRun(ctx, ref.runID, func(t *txn) error {
		i := t.stepIndex(ref.stepRunID)
		if i < 0 || t.steps[i].Status != steprun.StatusRUNNING || t.steps[i].Attempt != sc.Attempt {
			return errSkip // canceled or recovered meanwhile
		}
		s := t.steps[i]
		t.job = ref.job
		// Recorded once the outcome below is applied and the transaction
		// commits.
		defer func() { t.recordAttempt(s, execErr) }()
		switch outcome {
		case attemptWaiting:
			for _, effect := range sc.effects {
				if err := effect(t.ctx, t.db); err != nil {
					return fmt.Errorf("engine: effects of step %q: %w", s.Key, err)
				}
			}
			if err := e.startWait(t, i, wait); err != nil {
				if !IsPermanent(err) {
					return err
				}
				if err := e.recordFailure(t, i, err); err != nil {
					return err
				}
			}
		case attemptSucceeded:
			for _, effect := range sc.effects {
				if err := effect(t.ctx, t.db); err != nil {
					return fmt.Errorf("engine: effects of step %q: %w", s.Key, err)
				}
			}
			if err := t.setStep(i, func(u *ent.StepRunUpdate) *ent.StepRunUpdate {
				return u.SetStatus(steprun.StatusSUCCEEDED).SetProgress(1).SetOutput(outMap).SetFinishedAt(t.now).ClearError()
			}); err != nil {
				return err
			}
			t.emit(runevent.TypeSTEP_SUCCEEDED, t.steps[i], string(steprun.StatusSUCCEEDED), 1, "succeeded")
		case attemptCanceled:
			if err := t.setStep(i, func(u *ent.StepRunUpdate) *ent.StepRunUpdate {
				return u.SetStatus(steprun.StatusCANCELED).SetMessage("canceled while running").SetFinishedAt(t.now)
			}); err != nil {
				return err
			}
			t.emit(runevent.TypeSTEP_CANCELED, t.steps[i], string(steprun.StatusCANCELED), s.Progress, "canceled while running")
		case attemptFailed:
			if err := e.recordFailure(t, i, execErr); err != nil {
				return err
			}
		}
		return e.advance(t)
	})
	return err
}

// writeProgress records a coalesced progress report.
func (e *Engine) writeProgress(ctx context.Context, ref stepRef, attempt int, p progressUpdate) error {
	_, err := e.inRun(ctx, ref.runID, func(t *txn) error {
		i := t.stepIndex(ref.stepRunID)
		if i < 0 || t.steps[i].Status != steprun.StatusRUNNING || t.steps[i].Attempt != attempt {
			return errSkip
		}
		if err := t.setStep(i, func(u *ent.StepRunUpdate) *ent.StepRunUpdate {
			return u.SetProgress(p.fraction).SetMessage(p.message)
		}); err != nil {
			return err
		}
		if err := e.updateProgress(t); err != nil {
			return err
		}
		t.emit(runevent.TypeSTEP_PROGRESS, t.steps[i], string(steprun.StatusRUNNING), p.fraction, p.message)
		return nil
	})
	if errors.Is(err, errSkip) {
		return nil
	}
	return err
}

// toObject converts an executor's output to the JSON object stored on the
// step run.
func toObject(v any) (map[string]any, error) {
	if v == nil {
		return map[string]any{}, nil
	}
	if m, ok := v.(map[string]any); ok {
		return m, nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("must be a JSON object: %w", err)
	}
	return m, nil
}

// attemptTimeoutError is the error of an attempt that outlived its timeout;
// it matches errTimeout, so that the attempt counts as timed out.
type attemptTimeoutError struct{ msg string }

func (e attemptTimeoutError) Error() string      { return e.msg }
func (attemptTimeoutError) Is(target error) bool { return target == errTimeout }

// recordAttempt notes, for the Observer, how the attempt of step s ended:
// s, already updated, holds the status it led to.
func (t *txn) recordAttempt(s *ent.StepRun, execErr error) {
	var took time.Duration
	if s.StartedAt != nil {
		took = max(t.now.Sub(*s.StartedAt), 0)
	}
	t.attempts = append(t.attempts, attemptRecord{
		kind: string(s.Kind), took: took, outcome: string(s.Status),
		timedOut: execErr != nil && errors.Is(execErr, errTimeout),
	})
}
