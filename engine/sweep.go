package engine

import (
	"context"
	"time"

	"github.com/estateflow/estateflow/ent/run"
	"github.com/estateflow/estateflow/ent/steprun"
	"github.com/estateflow/estateflow/tenant"
)

// sweepOverdueRetries resubmits retries that are well past due. A retry's
// timer can be lost when claiming it fails on a database error; without
// this, the step would wait for the next start.
func (e *Engine) sweepOverdueRetries() {
	defer e.work.Done()
	ticker := time.NewTicker(e.cfg.SweepInterval)
	defer ticker.Stop()
	for {
		select {
		case <-e.quit:
			return
		case <-ticker.C:
		}
		ctx := tenant.SystemContext(context.Background())
		overdue, err := e.client.StepRun.Query().
			Where(steprun.StatusEQ(steprun.StatusRETRYING), steprun.NextAttemptAtLT(time.Now().Add(-e.cfg.SweepInterval)),
				steprun.HasRunWith(run.StatusEQ(run.StatusRUNNING))).
			Limit(500).All(ctx)
		if err != nil {
			e.log.Warn("engine: looking for overdue retries", "err", err)
			continue
		}
		for _, s := range overdue {
			e.pool.submit(stepRef{orgID: s.OrganizationID, runID: s.RunID, stepRunID: s.ID})
		}
	}
}
