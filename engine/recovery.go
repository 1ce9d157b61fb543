package engine

import (
	"context"
	"errors"
	"fmt"

	"github.com/estateflow/estateflow/ent"
	"github.com/estateflow/estateflow/ent/run"
	"github.com/estateflow/estateflow/ent/runevent"
	"github.com/estateflow/estateflow/ent/steprun"
	"github.com/estateflow/estateflow/tenant"
)

// recover resumes the runs a previous process left in flight on the pool,
// which calls it as it starts. Steps that were running are executed again
// (at least once; their effects are written with their success, so the net
// effect is exactly once), waiting retries keep their schedule, steps
// awaiting a decision keep waiting with their deadline's timer set again,
// and ready steps are dispatched. River needs none of it: its jobs outlive the
// process, and its orphan sweep (river_sweep.go) covers the steps without
// one.
func (e *Engine) recover(ctx context.Context) error {
	inFlight, err := e.client.Run.Query().
		Where(run.StatusIn(run.StatusQUEUED, run.StatusRUNNING, run.StatusCANCELING)).
		Select(run.FieldID, run.FieldOrganizationID).
		All(tenant.SystemContext(ctx))
	if err != nil {
		return err
	}
	for _, r := range inFlight {
		orgCtx := tenant.NewContext(ctx, tenant.Viewer{OrgID: r.OrganizationID})
		_, err := e.inRun(orgCtx, r.ID, func(t *txn) error {
			for i, s := range t.steps {
				switch s.Status {
				case steprun.StatusRUNNING:
					const msg = "the engine restarted while this attempt ran; running it again"
					if err := t.setStep(i, func(u *ent.StepRunUpdate) *ent.StepRunUpdate {
						return u.SetStatus(steprun.StatusRETRYING).SetNextAttemptAt(t.now).SetMessage(msg)
					}); err != nil {
						return err
					}
					t.emit(runevent.TypeSTEP_RETRYING, t.steps[i], string(steprun.StatusRETRYING), s.Progress, msg)
					t.retries = append(t.retries, t.steps[i])
				case steprun.StatusRETRYING:
					if s.NextAttemptAt == nil {
						now := t.now
						t.steps[i].NextAttemptAt = &now
					}
					t.retries = append(t.retries, t.steps[i])
				case steprun.StatusAWAITING_APPROVAL:
					// It keeps waiting: only its deadline's timer is lost.
					if s.DeadlineAt != nil {
						t.deadlines = append(t.deadlines, t.steps[i])
					}
				}
			}
			return e.advance(t)
		})
		if err != nil && !errors.Is(err, errSkip) {
			return fmt.Errorf("run %d: %w", r.ID, err)
		}
	}
	if len(inFlight) > 0 {
		e.log.Info("engine: recovered runs in flight", "runs", len(inFlight))
	}
	return nil
}
