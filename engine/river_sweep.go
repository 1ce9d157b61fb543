package engine

import (
	"context"
	"fmt"
	"time"

	"github.com/riverqueue/river"
)

// With River, every live step (RUNNING or RETRYING in a RUNNING or
// CANCELING run, or AWAITING_APPROVAL with a deadline in a RUNNING one) has
// an unfinished job, because both are written in one transaction. Two cases break that, and the orphan sweep repairs them:
//   - a job River gave up on (its outcome could not be written 25 times
//     over) leaves its step without a job;
//   - runs that were in flight under the in-process pool before the
//     database moved to River have no jobs at all.
//
// The sweep runs at start and every orphanSweepInterval (a loop the River
// dispatcher starts and stops). One replica at a
// time does it (a transaction-scoped advisory lock), in one transaction
// that inserts the missing jobs, so two replicas never add a job twice.

// orphanSweepInterval is how often a replica looks for live steps without
// a job.
const orphanSweepInterval = 30 * time.Second

// orphanSweepLock names the advisory lock of the sweep (tryXactLockSQL).
const orphanSweepLock = "orphan-sweep"

// sweepOrphans is one round of the sweep.
func (d *riverDispatcher) sweepOrphans() {
	if n, err := d.requeueOrphans(context.Background()); err != nil {
		d.e.log.Warn("engine: looking for steps without a job", "err", err)
	} else if n > 0 {
		d.e.log.Info("engine: requeued steps that had no job", "steps", n)
	}
}

// requeueOrphans inserts a job for every live step that has none, and
// returns how many it inserted.
func (d *riverDispatcher) requeueOrphans(ctx context.Context) (int, error) {
	tx, err := d.cfg.DB.BeginTx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("begin: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // after Commit, a no-op
	locked, err := tryAdvisoryXactLock(ctx, tx, orphanSweepLock)
	if err != nil {
		return 0, err
	}
	if !locked {
		return 0, nil // another replica is sweeping
	}
	// One statement, so one snapshot: a step and its job commit together,
	// and either both or neither are seen.
	rows, err := tx.QueryContext(ctx, `
		SELECT s.id, s.run_id, r.organization_id, s.status, s.attempt, s.timeout_seconds, s.next_attempt_at, s.deadline_at
		FROM step_runs s JOIN runs r ON r.id = s.run_id
		WHERE ((r.status IN ('RUNNING', 'CANCELING') AND s.status IN ('RUNNING', 'RETRYING'))
			OR (r.status = 'RUNNING' AND s.status = 'AWAITING_APPROVAL' AND s.deadline_at IS NOT NULL))
		AND NOT EXISTS (
			SELECT 1 FROM river_job j
			WHERE j.kind = $1 AND j.state IN ('available', 'scheduled', 'retryable', 'running', 'pending')
			AND j.tags @> ARRAY['step-' || s.id::text]::varchar(255)[])
		LIMIT 500`, stepJobKind)
	if err != nil {
		return 0, fmt.Errorf("finding steps without a job: %w", err)
	}
	var params []river.InsertManyParams
	for rows.Next() {
		var (
			a       StepJobArgs
			status  string
			timeout *int
			next    *time.Time
			due     *time.Time
		)
		if err := rows.Scan(&a.StepRunID, &a.RunID, &a.OrgID, &status, &a.Attempt, &timeout, &next, &due); err != nil {
			rows.Close()
			return 0, fmt.Errorf("reading steps without a job: %w", err)
		}
		a.TimeoutSeconds = int(d.e.cfg.DefaultTimeout.Seconds())
		if timeout != nil {
			a.TimeoutSeconds = *timeout
		}
		opts := &river.InsertOpts{Tags: []string{stepTag(a.StepRunID)}}
		switch status {
		case "RETRYING":
			a.Attempt++ // the job claims the next attempt
			opts.ScheduledAt = retryJobAt(next, d.e.now())
		case "AWAITING_APPROVAL":
			a.Deadline, a.TimeoutSeconds = true, 0
			opts.ScheduledAt = *due
		}
		params = append(params, river.InsertManyParams{Args: a, InsertOpts: opts})
	}
	if err := rows.Err(); err != nil {
		rows.Close()
		return 0, fmt.Errorf("reading steps without a job: %w", err)
	}
	if err := rows.Close(); err != nil {
		return 0, fmt.Errorf("reading steps without a job: %w", err)
	}
	if len(params) == 0 {
		return 0, nil
	}
	if _, err := d.client.InsertManyTx(ctx, tx, params); err != nil {
		return 0, fmt.Errorf("requeueing steps: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("commit: %w", err)
	}
	return len(params), nil
}
