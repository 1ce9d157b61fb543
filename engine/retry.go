package engine

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/estateflow/estateflow/ent"
	"github.com/estateflow/estateflow/ent/run"
	"github.com/estateflow/estateflow/ent/runevent"
	"github.com/estateflow/estateflow/ent/steprun"
	"github.com/estateflow/estateflow/tenant"
)

// Retries, all of them. A failed attempt either fails its step for good or
// moves it to RETRYING with next_attempt_at set from the backoff
// (recordFailure). That row is the retry: whatever wakes it up is only a
// wake-up, and a lost one delays the retry without losing it.
//
//   - With the pool, a timer per step submits the retry when it falls due
//     (retryTimers), and a sweep resubmits retries whose timer was lost
//     (resubmitOverdueRetries); the worker claims the step only once it is
//     due (retryDue).
//   - With River, the transaction that records the failure inserts a job
//     scheduled a little before the retry is due (retryJobAt); a job that
//     comes early snoozes for the rest (earlyRetry, snoozeIfEarly). River's
//     own retry policy (infraRetryPolicy) only re-executes jobs whose
//     outcome could not be written.

// backoff returns the wait before the next attempt after the given number of
// failed attempts: exponential from base, capped at max, with full jitter in
// its upper half so that steps failing together do not retry together.
func backoff(failedAttempts int, base, max time.Duration) time.Duration {
	if failedAttempts < 1 {
		failedAttempts = 1
	}
	d := float64(base) * math.Pow(2, float64(failedAttempts-1))
	if d > float64(max) || math.IsInf(d, 1) {
		d = float64(max)
	}
	half := d / 2
	return time.Duration(half + rand.Float64()*half)
}

// recordFailure moves a failed attempt's step to RETRYING, or to FAILED when
// the error is permanent, the attempts are used up, or the run is ending.
func (e *Engine) recordFailure(t *txn, i int, execErr error) error {
	s := t.steps[i]
	maxAttempts := e.cfg.DefaultMaxAttempts
	if s.MaxAttempts != nil {
		maxAttempts = *s.MaxAttempts
	}
	msg := execErr.Error()
	used := s.Attempt - s.AttemptBase
	if !IsPermanent(execErr) && used < maxAttempts && t.run.Status == run.StatusRUNNING {
		next := t.now.Add(backoff(used, e.cfg.BackoffBase, e.cfg.BackoffMax))
		if err := t.setStep(i, func(u *ent.StepRunUpdate) *ent.StepRunUpdate {
			return u.SetStatus(steprun.StatusRETRYING).SetError(msg).SetNextAttemptAt(next).
				SetMessage(fmt.Sprintf("attempt %d of %d failed; retrying at %s", used, maxAttempts, next.Format(time.RFC3339)))
		}); err != nil {
			return err
		}
		t.retries = append(t.retries, t.steps[i])
		t.emit(runevent.TypeSTEP_RETRYING, t.steps[i], string(steprun.StatusRETRYING), s.Progress,
			fmt.Sprintf("attempt %d failed: %s; next attempt at %s", s.Attempt, msg, next.Format(time.RFC3339Nano)))
		return nil
	}
	reason := msg
	if !IsPermanent(execErr) && maxAttempts > 1 {
		reason = fmt.Sprintf("%s (after %d attempts)", msg, used)
	}
	if err := t.setStep(i, func(u *ent.StepRunUpdate) *ent.StepRunUpdate {
		return u.SetStatus(steprun.StatusFAILED).SetError(reason).SetMessage("failed").SetFinishedAt(t.now)
	}); err != nil {
		return err
	}
	t.emit(runevent.TypeSTEP_FAILED, t.steps[i], string(steprun.StatusFAILED), s.Progress, reason)
	return nil
}

// retryRef is the pool's reference to a step waiting for its retry; the
// worker claims it once it is due.
func retryRef(s *ent.StepRun, orgID int) stepRef {
	return stepRef{orgID: orgID, runID: s.RunID, stepRunID: s.ID}
}

// retryDue reports whether the pool may start a waiting step's retry. A
// timer may fire a little before its time; that counts as due.
func retryDue(s *ent.StepRun, now time.Time) bool {
	return s.Status == steprun.StatusRETRYING && s.NextAttemptAt != nil && !s.NextAttemptAt.After(now.Add(50*time.Millisecond))
}

// retryTimers submits the pool's retries to its workers when they fall due,
// and the deadlines of its waiting steps when they pass (wait.go); a step
// has at most one of either.
type retryTimers struct {
	submit func(stepRef)
	now    func() time.Time // the engine's clock, which times are on

	mu      sync.Mutex
	stopped bool
	timers  map[int]*time.Timer // by step run ID
	pending sync.WaitGroup      // timers set whose function has not returned
}

func newRetryTimers(submit func(stepRef), now func() time.Time) *retryTimers {
	return &retryTimers{submit: submit, now: now, timers: map[int]*time.Timer{}}
}

// schedule submits ref at the given time, replacing the step's earlier
// timer. Once the timers are stopped it does nothing: the retry is
// durable, and the next start schedules it.
func (r *retryTimers) schedule(ref stepRef, at time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.stopped {
		return
	}
	r.cancelLocked(ref.stepRunID)
	r.pending.Add(1)
	var tm *time.Timer
	// tm is read under r.mu, which schedule holds until it is set.
	tm = time.AfterFunc(at.Sub(r.now()), func() {
		defer r.pending.Done()
		r.mu.Lock()
		if r.timers[ref.stepRunID] == tm {
			delete(r.timers, ref.stepRunID)
		}
		r.mu.Unlock()
		r.submit(ref)
	})
	r.timers[ref.stepRunID] = tm
}

// cancel forgets a step's timer: its retry was canceled.
func (r *retryTimers) cancel(stepRunID int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.cancelLocked(stepRunID)
}

func (r *retryTimers) cancelLocked(stepRunID int) {
	if tm, ok := r.timers[stepRunID]; ok {
		if tm.Stop() {
			r.pending.Done() // its function will never run
		}
		delete(r.timers, stepRunID)
	}
}

// stop cancels every timer and waits for those already firing.
func (r *retryTimers) stop() {
	r.mu.Lock()
	r.stopped = true
	for id := range r.timers {
		r.cancelLocked(id)
	}
	r.mu.Unlock()
	r.pending.Wait()
}

// resubmitOverdue submits the pool's retries that are well past due, and
// the deadlines of waiting steps that are well past. A retry's timer is
// lost when claiming it fails on a database error, a deadline's when
// applying it does; without this, the step would wait for the next start.
func (e *Engine) resubmitOverdue(submit func(stepRef)) {
	ctx := tenant.SystemContext(context.Background())
	before := e.now().Add(-e.cfg.SweepInterval)
	overdue, err := e.client.StepRun.Query().
		Where(steprun.StatusEQ(steprun.StatusRETRYING), steprun.NextAttemptAtLT(before),
			steprun.HasRunWith(run.StatusEQ(run.StatusRUNNING))).
		Limit(500).All(ctx)
	if err != nil {
		e.log.Warn("engine: looking for overdue retries", "err", err)
		return
	}
	for _, s := range overdue {
		submit(retryRef(s, s.OrganizationID))
	}
	passed, err := e.client.StepRun.Query().
		Where(steprun.StatusEQ(steprun.StatusAWAITING_APPROVAL), steprun.DeadlineAtLT(before),
			steprun.HasRunWith(run.StatusEQ(run.StatusRUNNING))).
		Limit(500).All(ctx)
	if err != nil {
		e.log.Warn("engine: looking for passed deadlines", "err", err)
		return
	}
	for _, s := range passed {
		submit(deadlineRef(s, s.OrganizationID))
	}
}

// schedulerLead is how long before a retry is due its River job is
// scheduled: River's scheduler promotes scheduled jobs only every 5 s, and
// the job snoozes the rest of the way, which River times precisely.
const schedulerLead = 5 * time.Second

// retryJobAt is when the River job of a retry due at next is scheduled;
// the zero time, which River takes as now, when that has passed.
func retryJobAt(next *time.Time, now time.Time) time.Time {
	if next == nil {
		return time.Time{}
	}
	if at := next.Add(-schedulerLead); at.After(now) {
		return at
	}
	return time.Time{}
}

// notDueError ends a transaction that found its retry early by the
// duration it carries.
type notDueError time.Duration

func (e notDueError) Error() string { return fmt.Sprintf("engine: retry due in %s", time.Duration(e)) }

// earlyRetry returns a notDueError when a River job came for step s's
// retry before it is due.
func earlyRetry(s *ent.StepRun, now time.Time) error {
	if s.NextAttemptAt != nil {
		if wait := s.NextAttemptAt.Sub(now); wait > 10*time.Millisecond {
			return notDueError(wait)
		}
	}
	return nil
}

// snoozeIfEarly turns a claim that found its retry early into River's
// snooze for the rest of the wait.
func snoozeIfEarly(claimErr error) (snooze error, early bool) {
	var wait notDueError
	if errors.As(claimErr, &wait) {
		return river.JobSnooze(time.Duration(wait)), true
	}
	return nil, false
}

// infraRetryPolicy spaces out River's re-executions of a job whose outcome
// could not be written; the engine's own retries never go through it.
type infraRetryPolicy struct{}

func (infraRetryPolicy) NextRetry(job *rivertype.JobRow) time.Time {
	wait := time.Duration(math.Min(30, math.Pow(2, float64(len(job.Errors))))) * time.Second
	return time.Now().Add(wait)
}
