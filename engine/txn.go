package engine

import (
	"context"
	"errors"
	"fmt"
	"time"

	"entgo.io/ent/dialect"

	"github.com/estateflow/estateflow/ent"
	"github.com/estateflow/estateflow/ent/run"
	"github.com/estateflow/estateflow/ent/runevent"
	"github.com/estateflow/estateflow/ent/steprun"
)

// txn is one change of a run's state: the run row is locked, the steps are
// loaded, and every event appended gets the run's next seq.
type txn struct {
	ctx    context.Context
	db     *ent.Client
	run    *ent.Run
	steps  []*ent.StepRun // ordered by position
	now    time.Time
	seq    int
	events []*ent.RunEvent
	runUpd *ent.RunUpdateOne
	// after-commit work
	dispatch []*ent.StepRun
	retries  []*ent.StepRun
	cancel   bool // cancel the run's running steps
}

// errSkip aborts a transaction that found nothing to do.
var errSkip = errors.New("engine: nothing to do")

// inRun runs fn in a transaction on the locked run. Committed events are
// published, ready steps dispatched and retries scheduled afterwards.
// It returns errSkip unchanged when fn does.
func (e *Engine) inRun(ctx context.Context, runID int, fn func(t *txn) error) (*txn, error) {
	tx, err := e.client.Tx(ctx)
	if err != nil {
		return nil, fmt.Errorf("engine: begin: %w", err)
	}
	t, err := e.runTxn(ctx, tx.Client(), runID, fn)
	if err != nil {
		_ = tx.Rollback()
		return nil, err
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("engine: commit run %d: %w", runID, err)
	}
	e.afterCommit(t)
	return t, nil
}

func (e *Engine) runTxn(ctx context.Context, db *ent.Client, runID int, fn func(t *txn) error) (*txn, error) {
	q := db.Run.Query().Where(run.ID(runID))
	if e.cfg.Dialect == dialect.Postgres {
		// SQLite transactions are BEGIN IMMEDIATE and already serialize
		// writers; PostgreSQL needs the row lock to order a run's events.
		q.ForUpdate()
	}
	r, err := q.Only(ctx)
	if err != nil {
		if ent.IsNotFound(err) {
			return nil, notFoundError("id", "run %d not found", runID)
		}
		return nil, fmt.Errorf("engine: locking run %d: %w", runID, err)
	}
	steps, err := db.StepRun.Query().Where(steprun.RunID(runID)).All(ctx)
	if err != nil {
		return nil, fmt.Errorf("engine: loading steps of run %d: %w", runID, err)
	}
	t := &txn{ctx: ctx, db: db, run: r, steps: steps, now: time.Now().UTC(), seq: r.LastSeq}
	if err := fn(t); err != nil {
		return nil, err
	}
	if err := t.flushRun(); err != nil {
		return nil, err
	}
	return t, nil
}

// updateRun returns the pending update of the run row, applied at the end of
// the transaction together with last_seq.
func (t *txn) updateRun() *ent.RunUpdateOne {
	if t.runUpd == nil {
		t.runUpd = t.db.Run.UpdateOneID(t.run.ID)
	}
	return t.runUpd
}

func (t *txn) flushRun() error {
	if t.runUpd == nil && len(t.events) == 0 {
		return nil
	}
	upd := t.updateRun().SetLastSeq(t.seq)
	r, err := upd.Save(t.ctx)
	if err != nil {
		return fmt.Errorf("engine: updating run %d: %w", t.run.ID, err)
	}
	t.run = r
	return nil
}

// emit appends an event to the run's log.
func (t *txn) emit(typ runevent.Type, step *ent.StepRun, status string, progress float64, message string) error {
	t.seq++
	c := t.db.RunEvent.Create().
		SetRunID(t.run.ID).
		SetOrganizationID(t.run.OrganizationID).
		SetSeq(t.seq).
		SetType(typ).
		SetStatus(status).
		SetProgress(progress).
		SetMessage(message).
		SetAt(t.now)
	if step != nil {
		c.SetStepKey(step.Key)
	}
	ev, err := c.Save(t.ctx)
	if err != nil {
		return fmt.Errorf("engine: appending event %d of run %d: %w", t.seq, t.run.ID, err)
	}
	t.events = append(t.events, ev)
	return nil
}

// setStep applies an update to a step and keeps the loaded copy current.
func (t *txn) setStep(i int, upd func(*ent.StepRunUpdateOne) *ent.StepRunUpdateOne) error {
	s, err := upd(t.db.StepRun.UpdateOneID(t.steps[i].ID)).Save(t.ctx)
	if err != nil {
		return fmt.Errorf("engine: updating step %q of run %d: %w", t.steps[i].Key, t.run.ID, err)
	}
	t.steps[i] = s
	return nil
}

func (t *txn) stepIndex(id int) int {
	for i, s := range t.steps {
		if s.ID == id {
			return i
		}
	}
	return -1
}

func (e *Engine) afterCommit(t *txn) {
	e.broker.publish(t.events)
	if t.cancel {
		e.cancelRunning(t.run.ID)
	}
	for _, s := range t.retries {
		e.scheduleRetry(stepRef{orgID: t.run.OrganizationID, runID: t.run.ID, stepRunID: s.ID}, *s.NextAttemptAt)
	}
	for _, s := range t.dispatch {
		e.pool.submit(stepRef{orgID: t.run.OrganizationID, runID: t.run.ID, stepRunID: s.ID})
	}
}
