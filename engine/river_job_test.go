package engine_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"entgo.io/ent/dialect"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverdatabasesql"

	"github.com/estateflow/estateflow/engine"
	"github.com/estateflow/estateflow/ent"
	"github.com/estateflow/estateflow/ent/run"
	"github.com/estateflow/estateflow/ent/schema/stepkind"
)

// TestStaleStepJobsExecuteNothing hands River the job of an attempt that is
// no longer its step's: the step has finished, or its run was canceled.
// Such a job carries its claimed step (StepJobArgs.Claimed), so the worker
// does not read the run and its steps before the attempt; the attempt's
// own check must still keep the executor from running it again.
func TestStaleStepJobsExecuteNothing(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	if f.db.Dialect != dialect.Postgres {
		t.Skip("River dispatch needs PostgreSQL: set TEST_DATABASE_URL")
	}
	var mu sync.Mutex
	calls := map[int]int{} // step run ID → executions
	executions := func(stepRunID int) int {
		mu.Lock()
		defer mu.Unlock()
		return calls[stepRunID]
	}
	counted := func(then func(ctx context.Context) error) engine.Executor {
		return engine.ExecutorFunc(func(ctx context.Context, sc *engine.StepContext) (any, error) {
			mu.Lock()
			calls[sc.StepRunID]++
			mu.Unlock()
			return nil, then(ctx)
		})
	}
	e := f.engine(f.config(), map[stepkind.Kind]engine.Executor{
		stepkind.CMAAnalysis: counted(func(context.Context) error { return nil }),
		stepkind.ListingStrategy: counted(func(ctx context.Context) error {
			<-ctx.Done()
			return ctx.Err()
		}),
	})

	finished := f.start(e, f.pkg(stepkind.SubjectProperty, stepDef{key: "cma", kind: stepkind.CMAAnalysis}))
	f.wait(finished.ID, run.StatusSUCCEEDED)
	canceled := f.start(e, f.pkg(stepkind.SubjectProperty, stepDef{key: "strategy", kind: stepkind.ListingStrategy}))
	for deadline := time.Now().Add(20 * time.Second); executions(f.steps(canceled.ID)["strategy"].ID) == 0; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the step never ran: %s", f.describe(canceled.ID))
		}
	}
	if _, err := e.CancelRun(f.ctx, canceled.ID); err != nil {
		t.Fatal(err)
	}
	f.wait(canceled.ID, run.StatusCANCELED)

	inserter, err := river.NewClient(riverdatabasesql.New(f.db.SQL), &river.Config{})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		run  *ent.Run
		key  string
	}{
		{"a finished step", finished, "cma"},
		{"a canceled run", canceled, "strategy"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := f.steps(tc.run.ID)[tc.key]
			args := engine.StepJobArgs{OrgID: f.orgID, RunID: tc.run.ID, StepRunID: s.ID, Attempt: s.Attempt, TimeoutSeconds: 5,
				Claimed: &engine.ClaimedStep{Key: s.Key, Kind: string(s.Kind), Timeout: 5 * time.Second,
					SubjectType: engine.SubjectProperty, SubjectID: f.property.ID}}
			res, err := inserter.Insert(f.ctx, args, nil)
			if err != nil {
				t.Fatal(err)
			}
			var state string
			for deadline := time.Now().Add(20 * time.Second); state != "completed"; time.Sleep(10 * time.Millisecond) {
				if time.Now().After(deadline) {
					t.Fatalf("job %d is still %s", res.Job.ID, state)
				}
				if err := f.db.SQL.QueryRowContext(f.ctx, `SELECT state FROM river_job WHERE id = $1`, res.Job.ID).Scan(&state); err != nil {
					t.Fatal(err)
				}
			}
			if n := executions(s.ID); n != 1 {
				t.Fatalf("step %q of run %d ran %d times, want once: its stale job ran it again", s.Key, tc.run.ID, n)
			}
			if after := f.steps(tc.run.ID)[tc.key]; after.Status != s.Status || after.Attempt != s.Attempt {
				t.Fatalf("the stale job changed the step: %s/%d, was %s/%d", after.Status, after.Attempt, s.Status, s.Attempt)
			}
		})
	}
}
