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
	"github.com/estateflow/estateflow/tenant"
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
	queued []*ent.RunEventCreate // written together by flushRun
	events []*ent.RunEvent       // committed by flushRun
	runUpd *ent.RunUpdate

	// What the dispatcher takes over (dispatcher.go).
	dispatch        []stepRef      // steps made ready and claimed
	retries         []*ent.StepRun // steps left waiting for a retry
	deadlines       []*ent.StepRun // steps that began waiting for a decision with a deadline (wait.go)
	canceledRetries []int          // steps whose waiting retry or deadline was canceled
	// job is the River job whose attempt the transaction records; it
	// completes with the transaction. Nil with the pool.
	job *stepJob

	cancel bool // interrupt the run's running steps, here and elsewhere

	attempts []attemptRecord // attempts whose end this transaction records, for the Observer
}

// errSkip aborts a transaction that found nothing to do.
var errSkip = errors.New("engine: nothing to do")

// inRun runs fn in a transaction on the locked run. Committed events are
// published, ready steps dispatched and retries scheduled afterwards.
// It returns errSkip unchanged when fn does.
func (e *Engine) inRun(ctx context.Context, runID int, fn func(t *txn) error) (*txn, error) {
	return e.transact(ctx, func(ctx context.Context, db *ent.Client) (*txn, error) {
		return e.runTxn(ctx, db, runID, fn)
	})
}

// transact runs fn in a transaction of the dispatcher and, once it
// commits, does the work that must follow the commit. What the dispatcher
// keeps in the database (River's jobs) commits with fn's writes. fn gets a
// ctx through which it writes outbox messages (Enqueue); it returns the
// change of a run it made, or nil when it changed none (Transact).
func (e *Engine) transact(ctx context.Context, fn func(ctx context.Context, db *ent.Client) (*txn, error)) (*txn, error) {
	batch := &outboxBatch{now: e.now().UTC()}
	ctx = withOutbox(ctx, batch)
	tx, err := e.dispatch.begin(ctx)
	if err != nil {
		return nil, fmt.Errorf("engine: begin: %w", err)
	}
	// A panic below must not leave the transaction, and the run's row
	// lock, behind: the context it runs in is never canceled.
	defer func() {
		if p := recover(); p != nil {
			_ = tx.rollback()
			panic(p)
		}
	}()
	t, err := fn(ctx, tx.client())
	if err == nil {
		err = tx.beforeCommit(ctx, t, batch)
	}
	if err != nil {
		_ = tx.rollback()
		return nil, err
	}
	if err := tx.commit(); err != nil {
		if t == nil {
			return nil, fmt.Errorf("engine: commit: %w", err)
		}
		return nil, fmt.Errorf("engine: commit run %d: %w", t.run.ID, err)
	}
	if t != nil {
		e.afterCommit(t)
	}
	e.dispatch.outboxCommitted(batch)
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
	// The row came through the viewer's privacy filter, so the events and
	// step rows written below may point at it without another lookup.
	tenant.RememberInOrg(ctx, r.ID)
	steps, err := db.StepRun.Query().Where(steprun.RunID(runID)).Select(stepColumns()...).All(ctx)
	if err != nil {
		return nil, fmt.Errorf("engine: loading steps of run %d: %w", runID, err)
	}
	return e.apply(ctx, db, r, steps, fn)
}

// apply runs fn on a run and its steps already read (and locked) in db's
// transaction, then writes the run row and the events fn produced.
func (e *Engine) apply(ctx context.Context, db *ent.Client, r *ent.Run, steps []*ent.StepRun, fn func(t *txn) error) (*txn, error) {
	// Microseconds, PostgreSQL's precision: what subscribers are sent from
	// the transaction (see afterCommit) is then exactly what is stored.
	t := &txn{ctx: ctx, db: db, run: r, steps: steps, now: e.now().UTC().Truncate(time.Microsecond), seq: r.LastSeq}
	if err := fn(t); err != nil {
		return nil, err
	}
	if err := t.flushRun(); err != nil {
		return nil, err
	}
	if e.cfg.OnEvents != nil && len(t.events) > 0 {
		if err := e.cfg.OnEvents(ctx, db, t.run, t.events); err != nil {
			return nil, fmt.Errorf("engine: writing what events of run %d lead to: %w", t.run.ID, err)
		}
	}
	if err := e.fan.announce(t); err != nil {
		return nil, err
	}
	return t, nil
}

// updateRun returns the pending update of the run row, applied at the end of
// the transaction together with last_seq.
func (t *txn) updateRun() *ent.RunUpdate {
	if t.runUpd == nil {
		t.runUpd = t.db.Run.Update().Where(run.ID(t.run.ID))
	}
	return t.runUpd
}

func (t *txn) flushRun() error {
	if t.runUpd == nil && len(t.queued) == 0 {
		return nil
	}
	if len(t.queued) > 0 {
		evs, err := t.db.RunEvent.CreateBulk(t.queued...).Save(t.ctx)
		if err != nil {
			return fmt.Errorf("engine: appending events %d-%d of run %d: %w", t.seq-len(t.queued)+1, t.seq, t.run.ID, err)
		}
		t.events = evs
	}
	// updated_at is the transaction's time, not the schema's default (the
	// clock's, to the nanosecond), so that the mirrored row is the stored one.
	upd := t.updateRun().SetLastSeq(t.seq).SetUpdatedAt(t.now)
	// A plain UPDATE, not UpdateOne: that would read the row back, and the
	// loaded copy is kept current here instead.
	if err := upd.Exec(t.ctx); err != nil {
		return fmt.Errorf("engine: updating run %d: %w", t.run.ID, err)
	}
	return mirrorRun(t.run, upd.Mutation())
}

// emit appends an event to the run's log. The events are written, and can
// fail, together at the end of the transaction (flushRun).
func (t *txn) emit(typ runevent.Type, step *ent.StepRun, status string, progress float64, message string) {
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
	t.queued = append(t.queued, c)
}

// setStep applies an update to a step and keeps the loaded copy current.
func (t *txn) setStep(i int, upd func(*ent.StepRunUpdate) *ent.StepRunUpdate) error {
	u := upd(t.db.StepRun.Update().Where(steprun.ID(t.steps[i].ID)))
	// A plain UPDATE, not UpdateOne, which would read the row back.
	if err := u.Exec(t.ctx); err != nil {
		return fmt.Errorf("engine: updating step %q of run %d: %w", t.steps[i].Key, t.run.ID, err)
	}
	return mirrorStep(t.steps[i], u.Mutation())
}

func (t *txn) stepIndex(id int) int {
	for i, s := range t.steps {
		if s.ID == id {
			return i
		}
	}
	return -1
}

// afterCommit publishes t's events, and the run's state after them (a copy
// of the row t wrote, bound to the engine's client), to this process's
// subscribers,
// reports them to the Observer, interrupts the steps of a run t canceled,
// and hands the dispatcher its share.
func (e *Engine) afterCommit(t *txn) {
	if len(t.events) > 0 {
		e.broker.publish(t.events, e.client.Run.Bind(t.run))
	}
	e.observe(t)
	if t.cancel {
		e.cancelRunning(t.run.ID)
	}
	e.dispatch.afterCommit(t)
}
