package engine_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"

	"testing"
	"time"

	"github.com/estateflow/estateflow/engine"
	"github.com/estateflow/estateflow/ent"
	"github.com/estateflow/estateflow/ent/interaction"
	"github.com/estateflow/estateflow/ent/run"
	"github.com/estateflow/estateflow/ent/runevent"
	"github.com/estateflow/estateflow/ent/schema/stepkind"
	"github.com/estateflow/estateflow/ent/steprun"
)

// effectful succeeds and, as its side effect, records an interaction keyed
// by run and step: the record must exist exactly once per step.
var effectful = engine.ExecutorFunc(func(ctx context.Context, sc *engine.StepContext) (any, error) {
	sc.AddEffect(func(ctx context.Context, db *ent.Client) error {
		return db.Interaction.Create().SetClientID(sc.Subject.ID).SetType(interaction.TypeCALL).
			SetNote(fmt.Sprintf("run %d step %s", sc.RunID, sc.StepKey)).Exec(ctx)
	})
	return nil, nil
})

// crashingEngine starts an engine on the pool whose email step hangs, like
// a process that died in the middle of it; lead scoring and follow-ups
// work. inStep receives each time the email step starts; release lets the
// hanging attempts return (after the test has moved on), and the engine is
// stopped when the test ends.
func (f *fixture) crashingEngine(t *testing.T) (a *engine.Engine, inStep <-chan struct{}, release func()) {
	t.Helper()
	crashed := make(chan struct{})
	started := make(chan struct{}, 100)
	hanging := engine.ExecutorFunc(func(ctx context.Context, sc *engine.StepContext) (any, error) {
		started <- struct{}{}
		select {
		case <-crashed:
		case <-ctx.Done():
		}
		return nil, ctx.Err()
	})
	cfg := testConfig(f.db)
	cfg.ShutdownGrace = 10 * time.Millisecond
	a = engine.New(f.db.Client, cfg)
	a.Register(string(stepkind.LeadScoring), effectful)
	a.Register(string(stepkind.EmailSequence), hanging)
	a.Register(string(stepkind.FollowUpScheduling), effectful)
	if err := a.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	release = sync.OnceFunc(func() { close(crashed) })
	t.Cleanup(func() {
		release()
		_ = a.Stop(context.Background())
	})
	return a, started, release
}

// TestCrashRecovery abandons an engine mid-step, as a killed process would,
// and checks that a new engine on the same database finishes every run with
// each side effect written once and no gap in the event logs.
func TestCrashRecovery(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	a, inStep, release := f.crashingEngine(t)
	p := f.pkg(stepkind.SubjectClient,
		stepDef{key: "score", kind: stepkind.LeadScoring},
		stepDef{key: "email", kind: stepkind.EmailSequence, deps: []string{"score"}},
		stepDef{key: "follow-up", kind: stepkind.FollowUpScheduling, deps: []string{"email"}},
	)
	const runs = 5
	var ids []int
	for range runs {
		ids = append(ids, f.start(a, p).ID)
	}
	for range runs {
		select {
		case <-inStep:
		case <-time.After(20 * time.Second):
			t.Fatal("runs did not reach the hanging step")
		}
	}

	// "Restart": a new engine on the same database, with working executors.
	b := f.engine(testConfig(f.db), map[stepkind.Kind]engine.Executor{
		stepkind.LeadScoring: effectful, stepkind.EmailSequence: effectful, stepkind.FollowUpScheduling: effectful,
	})
	_ = b
	for _, id := range ids {
		if r := f.wait(id, run.StatusSUCCEEDED, run.StatusFAILED); r.Status != run.StatusSUCCEEDED {
			t.Fatalf("run %d %s after recovery: %s", id, r.Status, f.describe(id))
		}
	}
	// The abandoned attempts now return, as if the old process came back to
	// life: they must not write anything. Stop waits for them.
	release()
	if err := a.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}

	for _, id := range ids {
		for _, step := range []string{"score", "email", "follow-up"} {
			n, err := f.db.Client.Interaction.Query().Where(interaction.Note(fmt.Sprintf("run %d step %s", id, step))).Count(f.ctx)
			if err != nil {
				t.Fatal(err)
			}
			if n != 1 {
				t.Fatalf("run %d step %s: side effect written %d times, want once", id, step, n)
			}
		}
		evs := f.events(id)
		if countEvents(evs, runevent.TypeSTEP_SUCCEEDED, "score") != 1 {
			t.Fatalf("run %d: score succeeded more than once", id)
		}
		if evs[len(evs)-1].Type != runevent.TypeRUN_SUCCEEDED {
			t.Fatalf("run %d ends with %s", id, evs[len(evs)-1].Type)
		}
	}
}

// TestStopWaitsThenLeavesWorkToRecovery checks the shutdown contract with
// either dispatcher: Stop waits for running steps up to the grace period,
// interrupts the rest without recording them as failed (the step allows a
// single attempt), and a later engine finishes them: after a restart with
// the pool, or by taking the job back from River's queue.
func TestStopWaitsThenLeavesWorkToRecovery(t *testing.T) {
	t.Parallel()
	for _, dispatcher := range []string{"pool", "river"} {
		t.Run(dispatcher, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			config := func() engine.Config { return testConfig(f.db) }
			if dispatcher == "river" {
				if f.config().River == nil {
					t.Skip("River dispatch needs PostgreSQL: set TEST_DATABASE_URL")
				}
				config = f.config
			}
			started := make(chan struct{}, 1)
			stubborn := engine.ExecutorFunc(func(ctx context.Context, sc *engine.StepContext) (any, error) {
				started <- struct{}{}
				<-ctx.Done()
				return nil, ctx.Err()
			})
			cfg := config()
			cfg.ShutdownGrace = 50 * time.Millisecond
			a := engine.New(f.db.Client, cfg)
			a.Register(string(stepkind.CMAAnalysis), stubborn)
			if err := a.Start(context.Background()); err != nil {
				t.Fatal(err)
			}
			p := f.pkg(stepkind.SubjectProperty, stepDef{key: "cma", kind: stepkind.CMAAnalysis, maxAttempts: 1})
			r := f.start(a, p)
			<-started
			stopped := make(chan error, 1)
			go func() { stopped <- a.Stop(context.Background()) }()
			select {
			case err := <-stopped:
				if err != nil {
					t.Fatal(err)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("Stop did not return")
			}
			if s := f.steps(r.ID)["cma"]; s.Status != "RUNNING" {
				t.Fatalf("interrupted step is %s, want RUNNING (left for recovery)", s.Status)
			}
			f.engine(config(), map[stepkind.Kind]engine.Executor{stepkind.CMAAnalysis: ok})
			if got := f.wait(r.ID, run.StatusSUCCEEDED, run.StatusFAILED); got.Status != run.StatusSUCCEEDED {
				t.Fatalf("after restart: %s %s", got.Status, f.describe(r.ID))
			}
		})
	}
}

// TestSweeperPicksUpLostRetries loses a retry's timer (the step is made
// RETRYING behind the engine's back) and checks that the sweep runs it.
func TestSweeperPicksUpLostRetries(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	gate := make(chan struct{})
	var calls atomic.Int32
	blockFirst := engine.ExecutorFunc(func(ctx context.Context, sc *engine.StepContext) (any, error) {
		if calls.Add(1) == 1 {
			<-gate
			return nil, ctx.Err()
		}
		return nil, nil
	})
	cfg := testConfig(f.db)
	cfg.SweepInterval = 50 * time.Millisecond
	cfg.ShutdownGrace = 20 * time.Millisecond
	a := engine.New(f.db.Client, cfg)
	a.Register(string(stepkind.LeadScoring), blockFirst)
	if err := a.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	r := f.start(a, f.pkg(stepkind.SubjectClient, stepDef{key: "score", kind: stepkind.LeadScoring}))
	for calls.Load() == 0 {
		time.Sleep(5 * time.Millisecond)
	}
	// The step's retry is due, but no timer knows about it.
	past := time.Now().Add(-time.Minute)
	if err := f.db.Client.StepRun.Update().Where(steprun.RunID(r.ID)).
		SetStatus(steprun.StatusRETRYING).SetNextAttemptAt(past).Exec(f.ctx); err != nil {
		t.Fatal(err)
	}
	close(gate) // the first attempt returns; its outcome no longer applies
	if got := f.wait(r.ID, run.StatusSUCCEEDED, run.StatusFAILED); got.Status != run.StatusSUCCEEDED || calls.Load() != 2 {
		t.Fatalf("run %s after %d attempts", got.Status, calls.Load())
	}
	_ = a.Stop(context.Background())
}

// TestRiverTakesOverPoolRuns moves a database from the in-process pool to
// River with runs in flight: the orphan sweep gives their live steps jobs,
// and River finishes them with each effect written once.
func TestRiverTakesOverPoolRuns(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	if f.config().River == nil {
		t.Skip("River dispatch needs PostgreSQL: set TEST_DATABASE_URL")
	}
	a, inStep, release := f.crashingEngine(t)
	p := f.pkg(stepkind.SubjectClient,
		stepDef{key: "score", kind: stepkind.LeadScoring},
		stepDef{key: "email", kind: stepkind.EmailSequence, deps: []string{"score"}},
	)
	var ids []int
	for range 3 {
		ids = append(ids, f.start(a, p).ID)
	}
	for range ids {
		select {
		case <-inStep:
		case <-time.After(20 * time.Second):
			t.Fatal("runs did not reach the hanging step")
		}
	}
	f.engine(f.config(), map[stepkind.Kind]engine.Executor{stepkind.LeadScoring: effectful, stepkind.EmailSequence: effectful})
	for _, id := range ids {
		if r := f.wait(id, run.StatusSUCCEEDED, run.StatusFAILED); r.Status != run.StatusSUCCEEDED {
			t.Fatalf("run %d %s under River: %s", id, r.Status, f.describe(id))
		}
	}
	release()
	if err := a.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	for _, id := range ids {
		n, err := f.db.Client.Interaction.Query().Where(interaction.Note(fmt.Sprintf("run %d step email", id))).Count(f.ctx)
		if err != nil {
			t.Fatal(err)
		}
		if n != 1 {
			t.Fatalf("run %d: the email step's effect written %d times, want once", id, n)
		}
	}
}
