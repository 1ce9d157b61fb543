package engine

import (
	"fmt"
	"strings"

	"github.com/estateflow/estateflow/ent"
	"github.com/estateflow/estateflow/ent/run"
	"github.com/estateflow/estateflow/ent/runevent"
	"github.com/estateflow/estateflow/ent/steprun"
)

// advance moves a run forward after any change of its steps: it starts a
// queued run, skips the steps that can no longer run, fails the ones no
// executor can run, marks ready steps for dispatch, and ends the run when
// nothing is left to do.
func (e *Engine) advance(t *txn) error {
	switch t.run.Status {
	case run.StatusQUEUED:
		t.updateRun().SetStatus(run.StatusRUNNING).SetStartedAt(t.now)
		t.run.Status = run.StatusRUNNING
		t.emit(runevent.TypeRUN_STARTED, nil, string(run.StatusRUNNING), t.run.Progress, "run started")
		return e.advanceRunning(t)
	case run.StatusRUNNING:
		return e.advanceRunning(t)
	case run.StatusCANCELING:
		return e.advanceCanceling(t)
	default:
		return nil
	}
}

func (e *Engine) advanceRunning(t *txn) error {
	for changed := true; changed; {
		changed = false
		status := t.statusByKey()
		for i, s := range t.steps {
			if s.Status != steprun.StatusPENDING {
				continue
			}
			if blocker := firstBlocked(s, status); blocker != "" {
				if err := t.setStep(i, func(u *ent.StepRunUpdate) *ent.StepRunUpdate {
					return u.SetStatus(steprun.StatusSKIPPED).SetMessage("skipped: " + blocker).SetFinishedAt(t.now)
				}); err != nil {
					return err
				}
				t.emit(runevent.TypeSTEP_SKIPPED, t.steps[i], string(steprun.StatusSKIPPED), 0, "skipped: "+blocker)
				changed = true
				continue
			}
			if !allSucceeded(s, status) {
				continue
			}
			if _, ok := e.executors[string(s.Kind)]; !ok {
				msg := fmt.Sprintf("no executor is registered for step kind %s", s.Kind)
				if err := t.setStep(i, func(u *ent.StepRunUpdate) *ent.StepRunUpdate {
					return u.SetStatus(steprun.StatusFAILED).SetError(msg).SetMessage(msg).SetFinishedAt(t.now)
				}); err != nil {
					return err
				}
				t.emit(runevent.TypeSTEP_FAILED, t.steps[i], string(steprun.StatusFAILED), 0, msg)
				changed = true
				continue
			}
			sc, timeout, err := e.claimStep(t, i, e.dispatch.inputsAtClaim())
			if err != nil {
				return err
			}
			t.dispatch = append(t.dispatch, stepRef{orgID: t.run.OrganizationID, runID: t.run.ID, stepRunID: s.ID, claimed: sc, timeout: timeout})
		}
	}
	return e.finishIfDone(t)
}

// finishIfDone ends the run once no step is pending, running or waiting to
// retry.
func (e *Engine) finishIfDone(t *txn) error {
	var failed []string
	for _, s := range t.steps {
		switch s.Status {
		case steprun.StatusPENDING, steprun.StatusRUNNING, steprun.StatusRETRYING, steprun.StatusAWAITING_APPROVAL:
			return e.updateProgress(t)
		case steprun.StatusFAILED:
			failed = append(failed, s.Key)
		}
	}
	if len(failed) > 0 {
		msg := fmt.Sprintf("step %s failed", strings.Join(failed, ", "))
		if len(failed) > 1 {
			msg = fmt.Sprintf("steps %s failed", strings.Join(failed, ", "))
		}
		t.updateRun().SetStatus(run.StatusFAILED).SetError(msg).SetFinishedAt(t.now)
		t.run.Status = run.StatusFAILED
		t.emit(runevent.TypeRUN_FAILED, nil, string(run.StatusFAILED), t.run.Progress, msg)
		return nil
	}
	t.updateRun().SetStatus(run.StatusSUCCEEDED).SetProgress(1).SetFinishedAt(t.now).ClearError()
	t.run.Status, t.run.Progress = run.StatusSUCCEEDED, 1
	t.emit(runevent.TypeRUN_SUCCEEDED, nil, string(run.StatusSUCCEEDED), 1, "run succeeded")
	return nil
}

func (e *Engine) advanceCanceling(t *txn) error {
	running := false
	for i, s := range t.steps {
		switch s.Status {
		case steprun.StatusPENDING, steprun.StatusRETRYING, steprun.StatusAWAITING_APPROVAL:
			msg := "canceled before it ran"
			switch {
			case s.Status == steprun.StatusRETRYING:
				t.canceledRetries = append(t.canceledRetries, s.ID)
			case s.Status == steprun.StatusAWAITING_APPROVAL:
				msg = "canceled while awaiting a decision"
				if s.DeadlineAt != nil {
					t.canceledRetries = append(t.canceledRetries, s.ID)
				}
			}
			if err := t.setStep(i, func(u *ent.StepRunUpdate) *ent.StepRunUpdate {
				return u.SetStatus(steprun.StatusCANCELED).SetMessage(msg).SetFinishedAt(t.now).ClearNextAttemptAt().ClearDeadlineAt()
			}); err != nil {
				return err
			}
			t.emit(runevent.TypeSTEP_CANCELED, t.steps[i], string(steprun.StatusCANCELED), s.Progress, "canceled")
		case steprun.StatusRUNNING:
			running = true
		}
	}
	if running {
		return nil
	}
	t.updateRun().SetStatus(run.StatusCANCELED).SetFinishedAt(t.now)
	t.run.Status = run.StatusCANCELED
	t.emit(runevent.TypeRUN_CANCELED, nil, string(run.StatusCANCELED), t.run.Progress, "run canceled")
	return nil
}

// updateProgress sets the run's progress to the mean of its steps' progress,
// counting finished steps as complete. It never moves backwards.
func (e *Engine) updateProgress(t *txn) error {
	if len(t.steps) == 0 {
		return nil
	}
	var sum float64
	for _, s := range t.steps {
		switch s.Status {
		case steprun.StatusSUCCEEDED, steprun.StatusFAILED, steprun.StatusSKIPPED, steprun.StatusCANCELED:
			sum++
		default:
			sum += s.Progress
		}
	}
	p := sum / float64(len(t.steps))
	if p > t.run.Progress {
		t.updateRun().SetProgress(p)
		t.run.Progress = p
	}
	return nil
}

func (t *txn) statusByKey() map[string]steprun.Status {
	m := make(map[string]steprun.Status, len(t.steps))
	for _, s := range t.steps {
		m[s.Key] = s.Status
	}
	return m
}

// firstBlocked names the first dependency that ended without succeeding.
func firstBlocked(s *ent.StepRun, status map[string]steprun.Status) string {
	for _, dep := range s.DependsOn {
		switch status[dep] {
		case steprun.StatusFAILED, steprun.StatusSKIPPED, steprun.StatusCANCELED:
			return fmt.Sprintf("dependency %s %s", dep, strings.ToLower(string(status[dep])))
		}
	}
	return ""
}

func allSucceeded(s *ent.StepRun, status map[string]steprun.Status) bool {
	for _, dep := range s.DependsOn {
		if status[dep] != steprun.StatusSUCCEEDED {
			return false
		}
	}
	return true
}
