package engine

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"entgo.io/ent/dialect"

	"github.com/estateflow/estateflow/ent"
	"github.com/estateflow/estateflow/ent/run"
	"github.com/estateflow/estateflow/ent/runevent"
	"github.com/estateflow/estateflow/tenant"
)

// Retention is one organization's event retention: the progress-only events
// (STEP_PROGRESS) of its runs that finished longer than Age ago are
// compacted.
type Retention struct {
	OrgID int
	Age   time.Duration
}

// RetentionSource lists the organizations whose events are compacted, with
// their retention; organizations it leaves out keep every event. The
// application reads it from the organizations' settings.
type RetentionSource func(ctx context.Context) ([]Retention, error)

// compactionLock names the PostgreSQL advisory lock that lets one process
// at a time compact: two replicas would otherwise pick the same runs.
const compactionLock = "compaction"

// tryXactLockSQL takes the transaction-scoped advisory lock named $1 in
// the current schema, if no other session holds it. The key is drawn from
// the schema and the name, so that deployments in other schemas of the
// same database (and tests, one schema each) do not take each other's.
const tryXactLockSQL = `SELECT pg_try_advisory_xact_lock(hashtextextended(current_schema() || '/' || $1, 0))`

// retainer runs the compaction in the background, every interval, in
// bounded batches.
type retainer struct {
	e      *Engine
	cancel context.CancelFunc
	loop   *loop
}

func (e *Engine) startRetention() *retainer {
	if e.cfg.Retention == nil {
		return nil
	}
	ctx, cancel := context.WithCancel(tenant.SystemContext(context.Background()))
	r := &retainer{e: e, cancel: cancel}
	r.loop = startLoop(e.cfg.RetentionInterval, true, func() {
		if _, err := e.CompactEvents(ctx); err != nil && ctx.Err() == nil {
			e.log.Error("engine: compacting run events", "err", err)
		}
	})
	return r
}

// stop cancels a compaction in progress and waits for it.
func (r *retainer) stop() {
	if r == nil {
		return
	}
	r.cancel()
	r.loop.stop()
}

// Compaction is what one CompactEvents call did.
type Compaction struct {
	Runs    int // runs compacted
	Removed int // progress events removed
	Markers int // EVENTS_COMPACTED markers written in their place
}

// CompactEvents compacts, for every organization Config.Retention names,
// the progress events of its runs that finished longer ago than its
// retention, in batches of Config.RetentionBatch runs, each batch one
// transaction, and at most Config.RetentionBatches batches per call so
// that a call stays bounded; the background loop calls it every
// Config.RetentionInterval. Each unbroken range of STEP_PROGRESS events
// becomes one EVENTS_COMPACTED event at the range's first seq, whose
// compacted_through is the range's last: every transition and outcome
// stays, and a replay accounts for every seq. Live runs and runs finished
// within the retention keep exactly seqs 1..N. On PostgreSQL a batch runs
// only while it holds an advisory lock, so replicas never compact at once.
func (e *Engine) CompactEvents(ctx context.Context) (Compaction, error) {
	var total Compaction
	if e.cfg.Retention == nil {
		return total, nil
	}
	ctx = tenant.SystemContext(ctx)
	policies, err := e.cfg.Retention(ctx)
	if err != nil {
		return total, fmt.Errorf("engine: reading retention policies: %w", err)
	}
	batches := 0
	for _, p := range policies {
		if p.Age <= 0 {
			continue
		}
		cutoff := time.Now().Add(-p.Age)
		for batches < e.cfg.RetentionBatches {
			batches++
			c, more, err := e.compactBatch(ctx, p.OrgID, cutoff)
			total.Runs += c.Runs
			total.Removed += c.Removed
			total.Markers += c.Markers
			if err != nil {
				return total, err
			}
			if !more {
				break
			}
		}
	}
	if total.Runs > 0 {
		e.cfg.Observer.EventsCompacted(total.Runs, total.Removed)
		e.log.Info("engine: compacted run events", "runs", total.Runs, "removed", total.Removed, "markers", total.Markers)
	}
	return total, nil
}

// errCompactionBusy: another process holds the compaction lock.
var errCompactionBusy = errors.New("another process is compacting")

// compactBatch compacts up to one batch of an organization's runs in one
// transaction. more reports whether a full batch was found, so that more
// may be waiting.
func (e *Engine) compactBatch(ctx context.Context, orgID int, cutoff time.Time) (c Compaction, more bool, err error) {
	tx, err := e.client.Tx(ctx)
	if err != nil {
		return c, false, fmt.Errorf("engine: compaction: %w", err)
	}
	defer func() {
		if err != nil {
			_ = tx.Rollback()
		}
	}()
	db := tx.Client()
	if e.cfg.Dialect == dialect.Postgres {
		locked, err := tryAdvisoryXactLock(ctx, db, compactionLock)
		if err != nil {
			return c, false, err
		}
		if !locked {
			_ = tx.Rollback()
			e.log.Debug("engine: compaction skipped", "reason", errCompactionBusy)
			return c, false, nil
		}
	}
	ids, err := db.Run.Query().
		Where(
			run.OrganizationID(orgID),
			run.CompactedAtIsNil(),
			run.FinishedAtLT(cutoff),
			run.StatusIn(run.StatusSUCCEEDED, run.StatusFAILED, run.StatusCANCELED),
		).
		Order(run.ByFinishedAt(), run.ByID()).
		Limit(e.cfg.RetentionBatch).
		IDs(ctx)
	if err != nil {
		return c, false, fmt.Errorf("engine: compaction: finding runs: %w", err)
	}
	if len(ids) == 0 {
		return c, false, tx.Rollback()
	}
	events, err := db.RunEvent.Query().
		Where(runevent.RunIDIn(ids...)).
		Select(runevent.FieldID, runevent.FieldRunID, runevent.FieldSeq, runevent.FieldType,
			runevent.FieldStepKey, runevent.FieldStatus, runevent.FieldAt, runevent.FieldOrganizationID).
		Order(runevent.ByRunID(), runevent.BySeq()).
		All(ctx)
	if err != nil {
		return c, false, fmt.Errorf("engine: compaction: loading events: %w", err)
	}
	plan := planCompaction(events)
	for start := 0; start < len(plan.remove); start += compactionDeleteChunk {
		end := min(start+compactionDeleteChunk, len(plan.remove))
		if _, err := db.RunEvent.Delete().Where(runevent.IDIn(plan.remove[start:end]...)).Exec(ctx); err != nil {
			return c, false, fmt.Errorf("engine: compaction: removing events: %w", err)
		}
	}
	creates := make([]*ent.RunEventCreate, len(plan.markers))
	for i, m := range plan.markers {
		creates[i] = db.RunEvent.Create().
			SetOrganizationID(orgID).
			SetRunID(m.runID).
			SetSeq(m.from).
			SetCompactedThrough(m.through).
			SetType(runevent.TypeEVENTS_COMPACTED).
			SetStatus(m.status).
			SetAt(m.at).
			SetMessage(fmt.Sprintf("%d progress events (seq %d to %d) compacted by the organization's event retention",
				m.through-m.from+1, m.from, m.through))
	}
	for start := 0; start < len(creates); start += compactionInsertChunk {
		end := min(start+compactionInsertChunk, len(creates))
		if err := db.RunEvent.CreateBulk(creates[start:end]...).Exec(ctx); err != nil {
			return c, false, fmt.Errorf("engine: compaction: writing markers: %w", err)
		}
	}
	if err := db.Run.Update().Where(run.IDIn(ids...)).SetCompactedAt(time.Now()).Exec(ctx); err != nil {
		return c, false, fmt.Errorf("engine: compaction: marking runs: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return c, false, fmt.Errorf("engine: compaction: %w", err)
	}
	return Compaction{Runs: len(ids), Removed: len(plan.remove), Markers: len(plan.markers)},
		len(ids) == e.cfg.RetentionBatch, nil
}

// Statement sizes that stay inside SQLite's and PostgreSQL's limits on
// bound parameters (a marker binds 8).
const (
	compactionDeleteChunk = 1000
	compactionInsertChunk = 500
)

// compactionMarker stands for the progress events from..through of a run.
type compactionMarker struct {
	runID, from, through int
	status               string
	at                   time.Time
}

type compactionPlan struct {
	remove  []int // IDs of the progress events to delete
	markers []compactionMarker
}

// planCompaction finds, in events ordered by run and seq, each unbroken
// range of STEP_PROGRESS events of a run. A marker's status is the run's
// status during the range (that of the run's latest event before it that
// is about the run, not a step); its time is that of the range's last event.
func planCompaction(events []*ent.RunEvent) compactionPlan {
	var (
		p         compactionPlan
		cur       *compactionMarker
		runStatus string
	)
	flush := func() {
		if cur != nil {
			p.markers = append(p.markers, *cur)
			cur = nil
		}
	}
	for i, ev := range events {
		if i == 0 || ev.RunID != events[i-1].RunID {
			flush()
			runStatus = ""
		}
		if ev.Type != runevent.TypeSTEP_PROGRESS {
			flush()
			if ev.StepKey == nil && ev.Type != runevent.TypeEVENTS_COMPACTED {
				runStatus = ev.Status
			}
			continue
		}
		p.remove = append(p.remove, ev.ID)
		if cur == nil {
			status := runStatus
			if status == "" {
				status = string(run.StatusRUNNING)
			}
			cur = &compactionMarker{runID: ev.RunID, from: ev.Seq, status: status}
		}
		cur.through = ev.Seq
		cur.at = ev.At
	}
	flush()
	return p
}

// tryAdvisoryXactLock takes the PostgreSQL advisory lock named name
// (tryXactLockSQL), held until q's transaction ends, if no other session
// holds it. q is the transaction: an ent client on it, or the *sql.Tx.
func tryAdvisoryXactLock(ctx context.Context, q interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}, name string) (bool, error) {
	rows, err := q.QueryContext(ctx, tryXactLockSQL, name)
	if err != nil {
		return false, fmt.Errorf("engine: %s lock: %w", name, err)
	}
	defer rows.Close()
	var locked bool
	if rows.Next() {
		if err := rows.Scan(&locked); err != nil {
			return false, fmt.Errorf("engine: %s lock: %w", name, err)
		}
	}
	return locked, rows.Err()
}
