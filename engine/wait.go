package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/estateflow/estateflow/ent"
	"github.com/estateflow/estateflow/ent/run"
	"github.com/estateflow/estateflow/ent/runevent"
	"github.com/estateflow/estateflow/ent/steprun"
	"github.com/estateflow/estateflow/internal/errcode"
	"github.com/estateflow/estateflow/tenant"
)

// Waiting for a decision from outside the engine (a person's approval).
//
// An executor whose step must wait returns a Wait as its output. The
// attempt then ends like any other, in one transaction, but the step moves
// to AWAITING_APPROVAL instead of SUCCEEDED: no worker, goroutine or River
// job holds it while it waits, and the wait is only rows (StepRun.wait and
// deadline_at). The step ends by DecideStep, or by its deadline:
//
//   - With the pool, the deadline is a timer of the same retryTimers that
//     wake retries, re-armed by recovery on start, and the lost-timer sweep
//     (resubmitOverdue) fires deadlines whose timer was lost.
//   - With River, the transaction that starts the wait inserts a job
//     scheduled at the deadline (StepJobArgs.Deadline); a job that comes
//     early snoozes, and the orphan sweep gives a waiting step with a
//     deadline and no job one.
//
// A decision, the deadline's included, is one transaction: it ends the
// step (SUCCEEDED with the decision's output, or FAILED with its error),
// cancels the deadline's timer or job, appends the events and advances the
// run.

// Wait is the output of an executor whose step waits for a decision.
type Wait struct {
	// Detail is what the step waits on (what is to be decided, by whom),
	// stored with the step (StepRun.wait) for the API to show. It must
	// marshal to a JSON object.
	Detail any
	// After, when positive, is the deadline, counted from the start of the
	// wait; OnDeadline then decides the step when it passes.
	After      time.Duration
	OnDeadline Decision
	// Message is the step's message, and its STEP_AWAITING event's, while
	// it waits.
	Message string
}

// Decision ends a waiting step.
type Decision struct {
	// Succeed ends the step SUCCEEDED with Output (which must marshal to a
	// JSON object); otherwise it ends FAILED with Error.
	Succeed bool   `json:"succeed"`
	Output  any    `json:"output,omitempty"`
	Error   string `json:"error,omitempty"`
	// Message is the step's message and its event's.
	Message string `json:"message"`
}

// Awaiting is a waiting step as DecideStep's decide function sees it.
type Awaiting struct {
	// Step holds the run, the step's settings and its dependencies'
	// outputs (Step.Inputs).
	Step *StepContext
	// Detail is the Wait's Detail, as stored.
	Detail map[string]any
	// DeadlineAt is when the deadline passes; nil without one.
	DeadlineAt *time.Time
	// Now is the time of the decision's transaction.
	Now time.Time
}

// storedWait is StepRun.wait.
type storedWait struct {
	Detail     map[string]any `json:"detail"`
	OnDeadline *Decision      `json:"onDeadline,omitempty"`
}

// asWait returns an executor's output as a Wait, if it is one.
func asWait(output any) (Wait, bool) {
	switch w := output.(type) {
	case Wait:
		return w, true
	case *Wait:
		if w != nil {
			return *w, true
		}
	}
	return Wait{}, false
}

// startWait moves step i, whose attempt returned w, to AWAITING_APPROVAL.
func (e *Engine) startWait(t *txn, i int, w Wait) error {
	detail, err := toObject(w.Detail)
	if err != nil {
		return Permanent(fmt.Errorf("the wait's detail: %w", err))
	}
	stored := storedWait{Detail: detail}
	var deadline *time.Time
	if w.After > 0 {
		d := w.OnDeadline
		if d.Succeed {
			out, err := toObject(d.Output)
			if err != nil {
				return Permanent(fmt.Errorf("the deadline's output: %w", err))
			}
			d.Output = out
		}
		stored.OnDeadline = &d
		at := t.now.Add(w.After)
		deadline = &at
	}
	waitMap, err := toObject(stored)
	if err != nil {
		return err
	}
	if err := t.setStep(i, func(u *ent.StepRunUpdate) *ent.StepRunUpdate {
		u = u.SetStatus(steprun.StatusAWAITING_APPROVAL).SetWait(waitMap).SetMessage(w.Message).ClearError().ClearOutput()
		if deadline != nil {
			return u.SetDeadlineAt(*deadline)
		}
		return u.ClearDeadlineAt()
	}); err != nil {
		return err
	}
	t.emit(runevent.TypeSTEP_AWAITING, t.steps[i], string(steprun.StatusAWAITING_APPROVAL), t.steps[i].Progress, w.Message)
	if deadline != nil {
		t.deadlines = append(t.deadlines, t.steps[i])
	}
	return nil
}

// DecideStep ends a step of a run that awaits a decision. decide sees the
// waiting step and returns the decision, or an error (an *Error reaches the
// client as it is: FORBIDDEN, BAD_USER_INPUT) that refuses it. A run of
// another organization, or a step the run does not have, is NOT_FOUND; a
// step that does not await a decision, or a run that is not RUNNING, is a
// CONFLICT. ctx must carry the viewer.
func (e *Engine) DecideStep(ctx context.Context, runID int, stepKey string, decide func(Awaiting) (Decision, error)) (*ent.Run, error) {
	t, err := e.inRun(ctx, runID, func(t *txn) error {
		i := -1
		for j, s := range t.steps {
			if s.Key == stepKey {
				i = j
			}
		}
		if i < 0 {
			return notFoundError("stepKey", "run %d has no step %q", runID, stepKey)
		}
		s := t.steps[i]
		if s.Status != steprun.StatusAWAITING_APPROVAL {
			return conflictError("stepKey", "step %q is %s: only a step that is AWAITING_APPROVAL can be decided", stepKey, s.Status)
		}
		if t.run.Status != run.StatusRUNNING {
			return conflictError("runId", "run %d is %s: its steps can no longer be decided", runID, t.run.Status)
		}
		stored, err := readWait(s)
		if err != nil {
			return err
		}
		sc, err := e.stepContext(t, i)
		if err != nil {
			return err
		}
		d, err := decide(Awaiting{Step: sc, Detail: stored.Detail, DeadlineAt: s.DeadlineAt, Now: t.now})
		if err != nil {
			return err
		}
		return e.applyDecision(t, i, d)
	})
	var refusal *Error
	if errors.As(err, &refusal) && refusal.Code == errcode.NotFound && refusal.Field == "id" {
		return nil, notFoundError("runId", "run %d not found", runID)
	}
	if err != nil {
		return nil, err
	}
	return t.run, nil
}

// applyDecision ends waiting step i as d says, cancels its deadline and
// advances the run.
func (e *Engine) applyDecision(t *txn, i int, d Decision) error {
	s := t.steps[i]
	if s.DeadlineAt != nil {
		t.canceledRetries = append(t.canceledRetries, s.ID)
	}
	if d.Succeed {
		out, err := toObject(d.Output)
		if err != nil {
			return fmt.Errorf("engine: the decision's output: %w", err)
		}
		if err := t.setStep(i, func(u *ent.StepRunUpdate) *ent.StepRunUpdate {
			return u.SetStatus(steprun.StatusSUCCEEDED).SetProgress(1).SetOutput(out).SetMessage(d.Message).
				SetFinishedAt(t.now).ClearError().ClearDeadlineAt()
		}); err != nil {
			return err
		}
		t.emit(runevent.TypeSTEP_SUCCEEDED, t.steps[i], string(steprun.StatusSUCCEEDED), 1, d.Message)
	} else {
		reason := d.Error
		if reason == "" {
			reason = d.Message
		}
		if err := t.setStep(i, func(u *ent.StepRunUpdate) *ent.StepRunUpdate {
			return u.SetStatus(steprun.StatusFAILED).SetError(reason).SetMessage(d.Message).SetFinishedAt(t.now).ClearDeadlineAt()
		}); err != nil {
			return err
		}
		t.emit(runevent.TypeSTEP_FAILED, t.steps[i], string(steprun.StatusFAILED), s.Progress, reason)
	}
	return e.advance(t)
}

// expireDeadline applies a waiting step's deadline action once the
// deadline has passed. attempt, when positive, is the attempt the deadline
// belongs to (River's job); a step decided or waiting again since is left
// alone. A deadline not yet due returns a notDueError.
func (e *Engine) expireDeadline(ctx context.Context, ref stepRef, attempt int) error {
	_, err := e.inRun(ctx, ref.runID, func(t *txn) error {
		i := t.stepIndex(ref.stepRunID)
		if i < 0 || t.run.Status != run.StatusRUNNING {
			return errSkip
		}
		s := t.steps[i]
		if s.Status != steprun.StatusAWAITING_APPROVAL || s.DeadlineAt == nil || (attempt > 0 && s.Attempt != attempt) {
			return errSkip
		}
		if wait := s.DeadlineAt.Sub(t.now); wait > 10*time.Millisecond {
			return notDueError(wait)
		}
		stored, err := readWait(s)
		if err != nil {
			return err
		}
		if stored.OnDeadline == nil {
			return fmt.Errorf("engine: step %q has a deadline but no deadline action", s.Key)
		}
		t.job = ref.job
		return e.applyDecision(t, i, *stored.OnDeadline)
	})
	return err
}

// expire fires a pool deadline timer: the deadline is applied, or, if the
// timer came early (a clock moved), set again.
func (e *Engine) expire(ref stepRef, reschedule func(stepRef, time.Time)) {
	ctx := tenant.NewContext(context.Background(), tenant.Viewer{OrgID: ref.orgID})
	err := e.expireDeadline(ctx, ref, 0)
	var early notDueError
	switch {
	case err == nil, errors.Is(err, errSkip):
	case errors.As(err, &early):
		reschedule(ref, e.now().Add(time.Duration(early)))
	default:
		// The sweep fires it again once it is overdue.
		e.log.Error("engine: applying a deadline", "run_id", ref.runID, "step_run_id", ref.stepRunID, "err", err)
	}
}

func readWait(s *ent.StepRun) (storedWait, error) {
	var w storedWait
	b, err := json.Marshal(s.Wait)
	if err != nil {
		return w, fmt.Errorf("engine: step %q's wait: %w", s.Key, err)
	}
	if err := json.Unmarshal(b, &w); err != nil {
		return w, fmt.Errorf("engine: step %q's wait: %w", s.Key, err)
	}
	return w, nil
}

// deadlineRef is the pool's reference to a waiting step's deadline.
func deadlineRef(s *ent.StepRun, orgID int) stepRef {
	return stepRef{orgID: orgID, runID: s.RunID, stepRunID: s.ID, deadline: true}
}

// WaitDetail returns the Detail of the wait a step stored, for the API to
// show what it waits on (or waited on); nil for a step that never waited.
func WaitDetail(s *ent.StepRun) (map[string]any, error) {
	if s.Wait == nil {
		return nil, nil
	}
	w, err := readWait(s)
	return w.Detail, err
}
