package engine

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/riverqueue/river"

	"github.com/estateflow/estateflow/ent"
	"github.com/estateflow/estateflow/tenant"
)

// Periodic work: the engine ticks, asks the application's Periodic source
// to claim the occurrences due at the clock's time, and fires each claimed
// occurrence once. The engine knows nothing of what an occurrence means
// (the application's schedules); it only guarantees the mechanics:
//
//   - The claim runs in a transaction of the dispatcher. The source claims
//     an occurrence by advancing its own cursor with a compare-and-set, so
//     that of several processes ticking at once only one claims it.
//   - With River, the transaction of the claim also inserts one job per
//     occurrence (unique by its key), so an occurrence claimed is never lost
//     and any process may fire it; River retries a fire that fails.
//   - With the pool, the ticking process fires the occurrences itself once
//     the claim commits. A source keeps an occurrence claimed until Fire
//     ends, and claims it again after a lease if a crash cut the fire short.
//   - Fire may run more than once for one occurrence (a crash, a River
//     retry): the source makes it idempotent, as the application's
//     schedules do with run idempotency keys.

// Clock is what tests that move time implement; its Now method is what
// they set as Config.Now.
type Clock interface {
	Now() time.Time
}

// Now is the time by the engine's clock (Config.Now): periodic work, like
// the engine's transactions, retries and deadlines, follows it.
func (e *Engine) Now() time.Time { return e.now() }

// Occurrence is one firing of a periodic source, as claimed.
type Occurrence struct {
	// Key is the same every time the same occurrence is claimed, and
	// different for every other: River's uniqueness is by it.
	Key string `json:"key"`
	// OrgID is the organization the fire acts for.
	OrgID int `json:"org_id"`
	// At is the occurrence's scheduled time.
	At time.Time `json:"at"`
	// Ref identifies, for the source, what occurs (a schedule's ID).
	Ref int `json:"ref"`
	// Missed counts the earlier occurrences the source passed over without
	// firing them (downtime), for its own record.
	Missed int `json:"missed,omitempty"`
}

// Periodic is a source of occurrences (see the comment above).
type Periodic interface {
	// Claim claims, through db (a transaction), the occurrences due at now
	// and returns them. ctx may read every organization's rows.
	Claim(ctx context.Context, db *ent.Client, now time.Time) ([]Occurrence, error)
	// Fire does what an occurrence does. ctx acts for the occurrence's
	// organization. It must be idempotent.
	Fire(ctx context.Context, o Occurrence) error
}

// periodicJobKind is River's name for the fire of an occurrence.
const periodicJobKind = "estateflow_periodic_fire"

// PeriodicJobArgs is the fire of one occurrence, as a River job.
type PeriodicJobArgs struct {
	Occurrence
}

// Kind implements river.JobArgs.
func (PeriodicJobArgs) Kind() string { return periodicJobKind }

// periodicMaxAttempts bounds River's retries of a fire that fails.
const periodicMaxAttempts = 10

// periodicJobParams is the insert of a job per occurrence. Uniqueness by
// args means that a second claim of the same occurrence (after a lease
// ran out while its job was still queued) adds no second job.
func periodicJobParams(occs []Occurrence) []river.InsertManyParams {
	params := make([]river.InsertManyParams, len(occs))
	for i, o := range occs {
		params[i] = river.InsertManyParams{
			Args: PeriodicJobArgs{Occurrence: o},
			InsertOpts: &river.InsertOpts{MaxAttempts: periodicMaxAttempts,
				UniqueOpts: river.UniqueOpts{ByArgs: true}},
		}
	}
	return params
}

// periodicWorker fires occurrences from River jobs.
type periodicWorker struct {
	river.WorkerDefaults[PeriodicJobArgs]
	e *Engine
}

// periodicFireTimeout bounds one fire: it starts a run per record, which
// takes longer than a step job's default for a large filter.
const periodicFireTimeout = 5 * time.Minute

// Timeout lets a fire outlast the client's default job timeout. A fire
// rescued from a process that died meanwhile is simply repeated: it is
// idempotent.
func (w *periodicWorker) Timeout(*river.Job[PeriodicJobArgs]) time.Duration {
	return periodicFireTimeout
}

// Work fires the job's occurrence.
func (w *periodicWorker) Work(ctx context.Context, job *river.Job[PeriodicJobArgs]) error {
	if w.e.cfg.Periodic == nil {
		return river.JobCancel(errors.New("engine: no periodic source configured"))
	}
	return w.e.fire(ctx, job.Args.Occurrence)
}

func (e *Engine) fire(ctx context.Context, o Occurrence) error {
	ctx = tenant.NewContext(ctx, tenant.Viewer{OrgID: o.OrgID})
	if err := e.cfg.Periodic.Fire(ctx, o); err != nil {
		return fmt.Errorf("engine: firing occurrence %s: %w", o.Key, err)
	}
	return nil
}

// TickPeriodic claims the occurrences due at the clock's time and has them
// fired: with the pool, before it returns; with River, by the jobs it
// inserts. It returns how many it claimed. The engine calls it every
// Config.PeriodicInterval; tests that move an injected clock call it too.
func (e *Engine) TickPeriodic(ctx context.Context) (int, error) {
	if e.cfg.Periodic == nil {
		return 0, nil
	}
	now := e.now()
	tx, err := e.dispatch.begin(ctx)
	if err != nil {
		return 0, fmt.Errorf("engine: periodic claim: %w", err)
	}
	occs, err := e.cfg.Periodic.Claim(tenant.SystemContext(ctx), tx.client(), now)
	if err == nil {
		err = tx.insertOccurrences(ctx, occs)
	}
	if err != nil {
		_ = tx.rollback()
		return 0, fmt.Errorf("engine: periodic claim: %w", err)
	}
	if err := tx.commit(); err != nil {
		return 0, fmt.Errorf("engine: periodic claim: commit: %w", err)
	}
	e.dispatch.fireOccurrences(ctx, occs)
	return len(occs), nil
}

// startPeriodic starts ticking, when there is a source; stopPeriodic ends
// the ticks and waits for the one in progress.
func (e *Engine) startPeriodic() {
	if e.cfg.Periodic == nil {
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	l := startLoop(e.cfg.PeriodicInterval, true, func() {
		if _, err := e.TickPeriodic(ctx); err != nil && ctx.Err() == nil {
			e.log.Error("engine: periodic tick", "err", err)
		}
	})
	e.mu.Lock()
	e.periodic, e.endPeriodic = l, cancel
	e.mu.Unlock()
}

func (e *Engine) stopPeriodic() {
	e.mu.Lock()
	l, cancel := e.periodic, e.endPeriodic
	e.mu.Unlock()
	if l == nil {
		return
	}
	cancel()
	l.stop()
}
