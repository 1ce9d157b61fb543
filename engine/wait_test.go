package engine_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"entgo.io/ent/dialect"

	"github.com/estateflow/estateflow/engine"
	"github.com/estateflow/estateflow/ent/run"
	"github.com/estateflow/estateflow/ent/runevent"
	"github.com/estateflow/estateflow/ent/schema/stepkind"
	"github.com/estateflow/estateflow/ent/steprun"
	"github.com/estateflow/estateflow/internal/errcode"
	"github.com/estateflow/estateflow/tenant"
)

// testClock is an engine clock that tests move forward.
type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func newTestClock() *testClock { return &testClock{now: time.Now()} }

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *testClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// waiter is an executor whose step waits for a decision.
func waiter(after time.Duration, onDeadline engine.Decision) engine.Executor {
	return engine.ExecutorFunc(func(ctx context.Context, sc *engine.StepContext) (any, error) {
		return engine.Wait{Detail: map[string]any{"asks": "approve " + fmt.Sprint(len(sc.Inputs)) + " outputs"},
			After: after, OnDeadline: onDeadline, Message: "waiting for a person"}, nil
	})
}

// inputRecorder succeeds with the inputs it was given, which it also keeps.
type inputRecorder struct {
	mu     sync.Mutex
	inputs map[string]map[string]any
}

func (r *inputRecorder) Execute(ctx context.Context, sc *engine.StepContext) (any, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.inputs = sc.Inputs
	return map[string]any{"saw": len(sc.Inputs)}, nil
}

// waitFixture is a run of a → w → b where w waits for a decision, on the
// fixture's dispatcher (River on PostgreSQL), with an injected clock.
type waitFixture struct {
	*fixture
	clock *testClock
	cfg   engine.Config
	pkgID int
}

func newWaitFixture(t *testing.T) *waitFixture {
	f := newFixture(t)
	clock := newTestClock()
	cfg := f.config()
	cfg.Now = clock.Now
	cfg.SweepInterval = 50 * time.Millisecond
	p := f.pkg(stepkind.SubjectProperty,
		stepDef{key: "a", kind: stepkind.CMAAnalysis},
		stepDef{key: "w", kind: stepkind.Approval, deps: []string{"a"}},
		stepDef{key: "b", kind: stepkind.MarketingCampaign, deps: []string{"w"}})
	return &waitFixture{fixture: f, clock: clock, cfg: cfg, pkgID: p.ID}
}

func (f *waitFixture) executors(w engine.Executor, b engine.Executor) map[stepkind.Kind]engine.Executor {
	return map[stepkind.Kind]engine.Executor{stepkind.CMAAnalysis: ok, stepkind.Approval: w, stepkind.MarketingCampaign: b}
}

// awaiting polls until step w awaits a decision.
func (f *waitFixture) awaiting(runID int) {
	f.t.Helper()
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		if s := f.steps(runID)["w"]; s.Status == steprun.StatusAWAITING_APPROVAL {
			return
		}
		if time.Now().After(deadline) {
			f.t.Fatalf("step w does not await a decision: %s", f.describe(runID))
		}
	}
}

// holdsNothing checks that the waiting step holds no worker and, on River,
// no job but its deadline's, scheduled for later.
func (f *waitFixture) holdsNothing(e *engine.Engine, runID int, deadlineJobs int) {
	f.t.Helper()
	if n := engine.RunningSteps(e); n != 0 {
		f.t.Errorf("%d steps execute while the run waits, want 0", n)
	}
	if f.db.Dialect != dialect.Postgres {
		return
	}
	w := f.steps(runID)["w"]
	rows, err := f.db.SQL.QueryContext(context.Background(),
		`SELECT state FROM river_job WHERE tags @> ARRAY[$1]::varchar(255)[] AND state NOT IN ('completed', 'cancelled', 'discarded')`,
		fmt.Sprintf("step-%d", w.ID))
	if err != nil {
		f.t.Fatal(err)
	}
	defer rows.Close()
	var states []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			f.t.Fatal(err)
		}
		states = append(states, s)
	}
	if len(states) != deadlineJobs {
		f.t.Errorf("step w has unfinished jobs %v, want %d scheduled (its deadline's)", states, deadlineJobs)
	}
	for _, s := range states {
		if s != "scheduled" {
			f.t.Errorf("step w's job is %s, want scheduled", s)
		}
	}
}

// TestWaitForDaysThenDeadlineFails: a step waits four days of injected
// time, holding no worker or running job, and its deadline fails it (and
// the run) only once the deadline has passed.
func TestWaitForDaysThenDeadlineFails(t *testing.T) {
	t.Parallel()
	f := newWaitFixture(t)
	b := &inputRecorder{}
	e := f.engine(f.cfg, f.executors(waiter(96*time.Hour, engine.Decision{Error: "nobody decided within 96h", Message: "deadline passed"}), b))
	r, err := e.StartRun(f.ctx, engine.StartRequest{PackageID: f.pkgID, PropertyID: &f.property.ID})
	if err != nil {
		t.Fatal(err)
	}
	f.awaiting(r.ID)
	f.holdsNothing(e, r.ID, 1)
	for range 3 { // three days, each longer than many sweeps
		f.clock.Add(24 * time.Hour)
		time.Sleep(300 * time.Millisecond)
		if s := f.steps(r.ID)["w"]; s.Status != steprun.StatusAWAITING_APPROVAL {
			t.Fatalf("before its deadline the step is %s", s.Status)
		}
		f.holdsNothing(e, r.ID, 1)
	}
	f.clock.Add(25 * time.Hour)
	got := f.wait(r.ID, run.StatusFAILED, run.StatusSUCCEEDED)
	if got.Status != run.StatusFAILED {
		t.Fatalf("run %s after the deadline, want FAILED", got.Status)
	}
	steps := f.steps(r.ID)
	if w := steps["w"]; w.Status != steprun.StatusFAILED || w.Error == nil || *w.Error != "nobody decided within 96h" {
		t.Fatalf("step w: %s %v", w.Status, w.Error)
	}
	if steps["b"].Status != steprun.StatusSKIPPED {
		t.Fatalf("step b is %s, want SKIPPED", steps["b"].Status)
	}
	evs := f.events(r.ID)
	if countEvents(evs, runevent.TypeSTEP_AWAITING, "w") != 1 || countEvents(evs, runevent.TypeSTEP_FAILED, "w") != 1 {
		t.Fatalf("events of w: %d awaiting, %d failed", countEvents(evs, runevent.TypeSTEP_AWAITING, "w"), countEvents(evs, runevent.TypeSTEP_FAILED, "w"))
	}
	f.holdsNothing(e, r.ID, 0)
}

// TestDecideStep: a decision ends the wait, its output reaches the step
// downstream, and decisions the run cannot take are refused with their
// codes.
func TestDecideStep(t *testing.T) {
	t.Parallel()
	f := newWaitFixture(t)
	b := &inputRecorder{}
	e := f.engine(f.cfg, f.executors(waiter(time.Hour, engine.Decision{Error: "late"}), b))
	r, err := e.StartRun(f.ctx, engine.StartRequest{PackageID: f.pkgID, PropertyID: &f.property.ID})
	if err != nil {
		t.Fatal(err)
	}
	f.awaiting(r.ID)
	approve := func(aw engine.Awaiting) (engine.Decision, error) {
		if aw.Detail["asks"] != "approve 1 outputs" || aw.Step.Inputs["a"]["step"] != "a" {
			return engine.Decision{}, fmt.Errorf("decide saw detail %v, inputs %v", aw.Detail, aw.Step.Inputs)
		}
		return engine.Decision{Succeed: true, Output: map[string]any{"choice": "AT_MARKET"}, Message: "approved"}, nil
	}
	refusals := []struct {
		name       string
		ctx        context.Context
		runID      int
		step       string
		code       errcode.Code
		field      string
		decideErrs bool
	}{
		{"another organization's run", tenant.NewContext(context.Background(), tenant.Viewer{OrgID: f.orgID + 1000, Role: tenant.RoleAdmin}), r.ID, "w", errcode.NotFound, "runId", false},
		{"a step the run does not have", f.ctx, r.ID, "nope", errcode.NotFound, "stepKey", false},
		{"a step not yet reached", f.ctx, r.ID, "b", errcode.Conflict, "stepKey", false},
		{"a step already finished", f.ctx, r.ID, "a", errcode.Conflict, "stepKey", false},
	}
	for _, tc := range refusals {
		_, err := e.DecideStep(tc.ctx, tc.runID, tc.step, approve)
		var refusal *engine.Error
		if !errors.As(err, &refusal) || refusal.Code != tc.code || refusal.Field != tc.field {
			t.Errorf("%s: %v, want %s on %s", tc.name, err, tc.code, tc.field)
		}
	}
	// A refusal from decide leaves the step waiting.
	forbidden := &engine.Error{Code: errcode.Forbidden, Field: "stepKey", Message: "not yours"}
	if _, err := e.DecideStep(f.ctx, r.ID, "w", func(engine.Awaiting) (engine.Decision, error) { return engine.Decision{}, forbidden }); !errors.Is(err, forbidden) {
		t.Fatalf("decide's refusal: %v", err)
	}
	if _, err := e.DecideStep(f.ctx, r.ID, "w", approve); err != nil {
		t.Fatal(err)
	}
	if got := f.wait(r.ID, run.StatusSUCCEEDED, run.StatusFAILED); got.Status != run.StatusSUCCEEDED {
		t.Fatalf("run %s: %s", got.Status, f.describe(r.ID))
	}
	b.mu.Lock()
	choice := b.inputs["w"]["choice"]
	b.mu.Unlock()
	if choice != "AT_MARKET" {
		t.Fatalf("step b saw w's output %v, want the decision's", choice)
	}
	if _, err := e.DecideStep(f.ctx, r.ID, "w", approve); !isCode(err, errcode.Conflict) {
		t.Fatalf("deciding a decided step: %v, want CONFLICT", err)
	}
	evs := f.events(r.ID)
	if countEvents(evs, runevent.TypeSTEP_SUCCEEDED, "w") != 1 {
		t.Fatal("no STEP_SUCCEEDED event for the decision")
	}
	f.holdsNothing(e, r.ID, 0)
}

func isCode(err error, code errcode.Code) bool {
	var refusal *engine.Error
	return errors.As(err, &refusal) && refusal.Code == code
}

// TestWaitSurvivesRestart: an engine stopped while a step waits leaves it
// waiting; the next one still takes a decision, and still applies the
// deadline (auto-approval here) when it passes.
func TestWaitSurvivesRestart(t *testing.T) {
	t.Parallel()
	for _, how := range []string{"decision", "deadline"} {
		t.Run(how, func(t *testing.T) {
			t.Parallel()
			f := newWaitFixture(t)
			b := &inputRecorder{}
			auto := engine.Decision{Succeed: true, Output: map[string]any{"choice": "AUTO"}, Message: "auto-approved"}
			execs := f.executors(waiter(48*time.Hour, auto), b)
			first := engine.New(f.db.Client, f.cfg)
			for k, ex := range execs {
				first.Register(string(k), ex)
			}
			if err := first.Start(context.Background()); err != nil {
				t.Fatal(err)
			}
			r, err := first.StartRun(f.ctx, engine.StartRequest{PackageID: f.pkgID, PropertyID: &f.property.ID})
			if err != nil {
				t.Fatal(err)
			}
			f.awaiting(r.ID)
			if err := first.Stop(context.Background()); err != nil {
				t.Fatal(err)
			}
			f.clock.Add(24 * time.Hour)
			second := f.engine(f.cfg, execs)
			time.Sleep(200 * time.Millisecond)
			if s := f.steps(r.ID)["w"]; s.Status != steprun.StatusAWAITING_APPROVAL {
				t.Fatalf("after the restart step w is %s", s.Status)
			}
			f.holdsNothing(second, r.ID, 1)
			want := "AUTO"
			if how == "decision" {
				want = "PERSON"
				if _, err := second.DecideStep(f.ctx, r.ID, "w", func(engine.Awaiting) (engine.Decision, error) {
					return engine.Decision{Succeed: true, Output: map[string]any{"choice": "PERSON"}, Message: "approved"}, nil
				}); err != nil {
					t.Fatal(err)
				}
			} else {
				f.clock.Add(25 * time.Hour)
			}
			if got := f.wait(r.ID, run.StatusSUCCEEDED, run.StatusFAILED); got.Status != run.StatusSUCCEEDED {
				t.Fatalf("run %s: %s", got.Status, f.describe(r.ID))
			}
			b.mu.Lock()
			defer b.mu.Unlock()
			if got := b.inputs["w"]["choice"]; got != want {
				t.Fatalf("step b saw choice %v, want %s", got, want)
			}
		})
	}
}

// TestCancelWhileWaiting: canceling the run cancels the waiting step and
// its deadline.
func TestCancelWhileWaiting(t *testing.T) {
	t.Parallel()
	f := newWaitFixture(t)
	e := f.engine(f.cfg, f.executors(waiter(time.Hour, engine.Decision{Error: "late"}), &inputRecorder{}))
	r, err := e.StartRun(f.ctx, engine.StartRequest{PackageID: f.pkgID, PropertyID: &f.property.ID})
	if err != nil {
		t.Fatal(err)
	}
	f.awaiting(r.ID)
	if _, err := e.CancelRun(f.ctx, r.ID); err != nil {
		t.Fatal(err)
	}
	f.wait(r.ID, run.StatusCANCELED)
	if s := f.steps(r.ID)["w"]; s.Status != steprun.StatusCANCELED || s.DeadlineAt != nil {
		t.Fatalf("step w: %s, deadline %v", s.Status, s.DeadlineAt)
	}
	f.holdsNothing(e, r.ID, 0)
}
