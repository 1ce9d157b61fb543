package engine_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/estateflow/estateflow/engine"
	"github.com/estateflow/estateflow/ent"
	"github.com/estateflow/estateflow/ent/run"
	"github.com/estateflow/estateflow/ent/runevent"
	"github.com/estateflow/estateflow/ent/schema/stepkind"
	"github.com/estateflow/estateflow/ent/steprun"
	"github.com/estateflow/estateflow/internal/errcode"
)

func TestDAGOrderAndParallelism(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	var (
		mu     sync.Mutex
		order  []string
		inputs = map[string][]string{}
	)
	bothStarted := make(chan struct{})
	var started atomic.Int32
	record := func(ctx context.Context, sc *engine.StepContext) (any, error) {
		mu.Lock()
		order = append(order, sc.StepKey)
		for k := range sc.Inputs {
			inputs[sc.StepKey] = append(inputs[sc.StepKey], k)
		}
		mu.Unlock()
		if sc.StepKey == "b" || sc.StepKey == "c" {
			// b and c only finish once both have started: a sequential
			// engine would time out here.
			if started.Add(1) == 2 {
				close(bothStarted)
			}
			select {
			case <-bothStarted:
			case <-time.After(5 * time.Second):
				return nil, engine.Permanent(errors.New("b and c did not run in parallel"))
			}
		}
		return map[string]any{"from": sc.StepKey}, nil
	}
	e := f.engine(f.config(), map[stepkind.Kind]engine.Executor{
		stepkind.LeadScoring: engine.ExecutorFunc(record), stepkind.EmailSequence: engine.ExecutorFunc(record),
		stepkind.SocialTargeting: engine.ExecutorFunc(record), stepkind.FollowUpScheduling: engine.ExecutorFunc(record),
	})
	p := f.pkg(stepkind.SubjectClient,
		stepDef{key: "a", kind: stepkind.LeadScoring},
		stepDef{key: "b", kind: stepkind.EmailSequence, deps: []string{"a"}},
		stepDef{key: "c", kind: stepkind.SocialTargeting, deps: []string{"a"}},
		stepDef{key: "d", kind: stepkind.FollowUpScheduling, deps: []string{"b", "c"}},
	)
	r := f.wait(f.start(e, p).ID, run.StatusSUCCEEDED, run.StatusFAILED)
	if r.Status != run.StatusSUCCEEDED || r.Progress != 1 {
		t.Fatalf("run %s (progress %v): %s", r.Status, r.Progress, f.describe(r.ID))
	}
	if order[0] != "a" || order[3] != "d" {
		t.Fatalf("execution order %v: a must come first and d last", order)
	}
	if len(inputs["d"]) != 2 || len(inputs["b"]) != 1 || inputs["b"][0] != "a" {
		t.Fatalf("inputs: %v", inputs)
	}
	if out := f.steps(r.ID)["d"].Output; out["from"] != "d" {
		t.Fatalf("output of d = %v", out)
	}
	f.events(r.ID)
}

func TestRetriesWithBackoff(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	var calls atomic.Int32
	var times []time.Time
	var mu sync.Mutex
	flaky := engine.ExecutorFunc(func(ctx context.Context, sc *engine.StepContext) (any, error) {
		mu.Lock()
		times = append(times, time.Now())
		mu.Unlock()
		if calls.Add(1) < 3 {
			return nil, errors.New("listing service unavailable")
		}
		return nil, nil
	})
	cfg := f.config()
	cfg.BackoffBase = 100 * time.Millisecond
	e := f.engine(cfg, map[stepkind.Kind]engine.Executor{stepkind.LeadScoring: flaky})
	p := f.pkg(stepkind.SubjectClient, stepDef{key: "score", kind: stepkind.LeadScoring, maxAttempts: 3})
	r := f.wait(f.start(e, p).ID, run.StatusSUCCEEDED, run.StatusFAILED)
	if r.Status != run.StatusSUCCEEDED {
		t.Fatalf("run %s: %s", r.Status, f.describe(r.ID))
	}
	if s := f.steps(r.ID)["score"]; s.Attempt != 3 {
		t.Fatalf("attempts = %d, want 3", s.Attempt)
	}
	evs := f.events(r.ID)
	if n := countEvents(evs, runevent.TypeSTEP_RETRYING, "score"); n != 2 {
		t.Fatalf("%d STEP_RETRYING events, want 2", n)
	}
	for _, ev := range evs {
		if ev.Type == runevent.TypeSTEP_RETRYING && !strings.Contains(ev.Message, "next attempt at") {
			t.Fatalf("retry event does not say when: %q", ev.Message)
		}
	}
	// Exponential backoff with jitter in the upper half: the first wait is
	// at least base/2, the second at least base.
	if gap := times[1].Sub(times[0]); gap < 50*time.Millisecond {
		t.Fatalf("first retry after %v, want at least 50ms", gap)
	}
	if gap := times[2].Sub(times[1]); gap < 100*time.Millisecond {
		t.Fatalf("second retry after %v, want at least 100ms", gap)
	}
}

func TestPermanentFailureSkipsDownstreamOnly(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	var calls atomic.Int32
	broken := engine.ExecutorFunc(func(ctx context.Context, sc *engine.StepContext) (any, error) {
		calls.Add(1)
		return nil, engine.Permanent(errors.New("client has no email address"))
	})
	e := f.engine(f.config(), map[stepkind.Kind]engine.Executor{
		stepkind.LeadScoring: ok, stepkind.EmailSequence: broken, stepkind.SocialTargeting: ok, stepkind.FollowUpScheduling: ok,
	})
	p := f.pkg(stepkind.SubjectClient,
		stepDef{key: "score", kind: stepkind.LeadScoring},
		stepDef{key: "email", kind: stepkind.EmailSequence, deps: []string{"score"}, maxAttempts: 5},
		stepDef{key: "targeting", kind: stepkind.SocialTargeting, deps: []string{"score"}},
		stepDef{key: "follow-up", kind: stepkind.FollowUpScheduling, deps: []string{"email"}},
	)
	r := f.wait(f.start(e, p).ID, run.StatusSUCCEEDED, run.StatusFAILED)
	steps := f.steps(r.ID)
	if r.Status != run.StatusFAILED || r.Error == nil || !strings.Contains(*r.Error, "email") {
		t.Fatalf("run %s (%v)", r.Status, r.Error)
	}
	if calls.Load() != 1 || steps["email"].Status != steprun.StatusFAILED || !strings.Contains(*steps["email"].Error, "no email address") {
		t.Fatalf("email: %d calls, %s", calls.Load(), f.describe(r.ID))
	}
	if steps["follow-up"].Status != steprun.StatusSKIPPED || steps["targeting"].Status != steprun.StatusSUCCEEDED {
		t.Fatalf("downstream must be skipped and the independent branch finish: %s", f.describe(r.ID))
	}
	f.events(r.ID)
}

func TestTimeoutsPanicsAndMissingExecutors(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	slow := engine.ExecutorFunc(func(ctx context.Context, sc *engine.StepContext) (any, error) {
		<-ctx.Done()
		return nil, ctx.Err()
	})
	panicky := engine.ExecutorFunc(func(ctx context.Context, sc *engine.StepContext) (any, error) {
		panic("comparables index corrupted")
	})
	e := f.engine(f.config(), map[stepkind.Kind]engine.Executor{
		stepkind.CMAAnalysis: slow, stepkind.ListingStrategy: panicky,
	})
	tests := []struct {
		name    string
		step    stepDef
		wantErr string
	}{
		{"timeout", stepDef{key: "cma", kind: stepkind.CMAAnalysis, timeout: 1, maxAttempts: 1}, "attempt 1 timed out after 1s"},
		{"panic", stepDef{key: "strategy", kind: stepkind.ListingStrategy, maxAttempts: 2}, "executor panicked: comparables index corrupted (after 2 attempts)"},
		{"no executor", stepDef{key: "campaign", kind: stepkind.MarketingCampaign, maxAttempts: 5}, "no executor is registered for step kind MARKETING_CAMPAIGN"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := f.pkg(stepkind.SubjectProperty, tt.step)
			r := f.wait(f.start(e, p).ID, run.StatusSUCCEEDED, run.StatusFAILED)
			s := f.steps(r.ID)[tt.step.key]
			if r.Status != run.StatusFAILED || s.Status != steprun.StatusFAILED || s.Error == nil || *s.Error != tt.wantErr {
				t.Fatalf("run %s, step %s, error %v; want FAILED with %q", r.Status, s.Status, s.Error, tt.wantErr)
			}
			if strings.Contains(*s.Error, "goroutine") {
				t.Fatal("a stack trace leaked into the step's error")
			}
			f.events(r.ID)
		})
	}
}

func TestCancelDuringStep(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	running := make(chan struct{})
	blocking := engine.ExecutorFunc(func(ctx context.Context, sc *engine.StepContext) (any, error) {
		close(running)
		<-ctx.Done()
		return nil, ctx.Err()
	})
	e := f.engine(f.config(), map[stepkind.Kind]engine.Executor{stepkind.CMAAnalysis: blocking, stepkind.ListingStrategy: ok})
	p := f.pkg(stepkind.SubjectProperty,
		stepDef{key: "cma", kind: stepkind.CMAAnalysis},
		stepDef{key: "strategy", kind: stepkind.ListingStrategy, deps: []string{"cma"}},
	)
	r := f.start(e, p)
	<-running
	canceling, err := e.CancelRun(f.ctx, r.ID)
	if err != nil {
		t.Fatal(err)
	}
	if canceling.Status != run.StatusCANCELING && canceling.Status != run.StatusCANCELED {
		t.Fatalf("cancelRun returned %s", canceling.Status)
	}
	final := f.wait(r.ID, run.StatusCANCELED)
	steps := f.steps(final.ID)
	if steps["cma"].Status != steprun.StatusCANCELED || steps["strategy"].Status != steprun.StatusCANCELED {
		t.Fatalf("steps after cancel: %s", f.describe(r.ID))
	}
	var engErr *engine.Error
	if _, err := e.CancelRun(f.ctx, r.ID); !errors.As(err, &engErr) || engErr.Code != errcode.Conflict {
		t.Fatalf("canceling a finished run: %v, want CONFLICT", err)
	}
	evs := f.events(r.ID)
	if evs[len(evs)-1].Type != runevent.TypeRUN_CANCELED {
		t.Fatalf("last event %s", evs[len(evs)-1].Type)
	}
}

func TestRetryRunKeepsSucceededSteps(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	var scoreCalls, emailCalls atomic.Int32
	var fixed atomic.Bool
	score := engine.ExecutorFunc(func(ctx context.Context, sc *engine.StepContext) (any, error) {
		scoreCalls.Add(1)
		return map[string]any{"score": 80}, nil
	})
	email := engine.ExecutorFunc(func(ctx context.Context, sc *engine.StepContext) (any, error) {
		emailCalls.Add(1)
		if !fixed.Load() {
			return nil, errors.New("mail provider down")
		}
		if sc.Inputs["score"]["score"] != float64(80) && sc.Inputs["score"]["score"] != 80 {
			return nil, engine.Permanent(fmt.Errorf("lost the score output: %v", sc.Inputs))
		}
		return nil, nil
	})
	e := f.engine(f.config(), map[stepkind.Kind]engine.Executor{stepkind.LeadScoring: score, stepkind.EmailSequence: email})
	p := f.pkg(stepkind.SubjectClient,
		stepDef{key: "score", kind: stepkind.LeadScoring},
		stepDef{key: "email", kind: stepkind.EmailSequence, deps: []string{"score"}, maxAttempts: 2},
	)
	r := f.wait(f.start(e, p).ID, run.StatusFAILED, run.StatusSUCCEEDED)
	if r.Status != run.StatusFAILED || f.steps(r.ID)["email"].Attempt != 2 {
		t.Fatalf("first pass: %s %s", r.Status, f.describe(r.ID))
	}
	fixed.Store(true)
	if _, err := e.RetryRun(f.ctx, r.ID); err != nil {
		t.Fatal(err)
	}
	r = f.wait(r.ID, run.StatusSUCCEEDED, run.StatusFAILED)
	if r.Status != run.StatusSUCCEEDED {
		t.Fatalf("after retryRun: %s %s", r.Status, f.describe(r.ID))
	}
	if scoreCalls.Load() != 1 {
		t.Fatalf("the succeeded step ran %d times, want 1", scoreCalls.Load())
	}
	if s := f.steps(r.ID)["email"]; s.Attempt != 3 {
		t.Fatalf("attempt counter %d: it must continue from the first pass's 2", s.Attempt)
	}
	var engErr *engine.Error
	if _, err := e.RetryRun(f.ctx, r.ID); !errors.As(err, &engErr) || engErr.Code != errcode.Conflict {
		t.Fatalf("retrying a succeeded run: %v, want CONFLICT", err)
	}
	evs := f.events(r.ID)
	if countEvents(evs, runevent.TypeRUN_RETRIED, "") != 1 {
		t.Fatal("no RUN_RETRIED event")
	}
}

func TestIdempotentStart(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	e := f.engine(f.config(), map[stepkind.Kind]engine.Executor{stepkind.LeadScoring: ok})
	p := f.pkg(stepkind.SubjectClient, stepDef{key: "score", kind: stepkind.LeadScoring})
	key := "morning-meeting-42"
	const starts = 20
	ids := make(chan int, starts)
	errs := make(chan error, starts)
	var wg sync.WaitGroup
	for range starts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, err := e.StartRun(f.ctx, engine.StartRequest{PackageID: p.ID, ClientID: &f.client.ID, IdempotencyKey: &key, Params: map[string]any{"budget": 500}})
			if err != nil {
				errs <- err
				return
			}
			ids <- r.ID
		}()
	}
	wg.Wait()
	close(ids)
	close(errs)
	for err := range errs {
		t.Fatalf("start: %v", err)
	}
	distinct := map[int]bool{}
	for id := range ids {
		distinct[id] = true
	}
	if len(distinct) != 1 {
		t.Fatalf("%d runs for one idempotency key", len(distinct))
	}
	if n, _ := f.db.Client.Run.Query().Count(f.ctx); n != 1 {
		t.Fatalf("%d runs stored", n)
	}
	_, err := e.StartRun(f.ctx, engine.StartRequest{PackageID: p.ID, ClientID: &f.client.ID, IdempotencyKey: &key, Params: map[string]any{"budget": 900}})
	var engErr *engine.Error
	if !errors.As(err, &engErr) || engErr.Code != errcode.Conflict || engErr.Field != "input.idempotencyKey" {
		t.Fatalf("same key, different input: %v", err)
	}
}

func TestSubjectMustMatchPackage(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	missing := 999
	cfg := f.config()
	// The application's checker decides whether a subject exists; the
	// engine must hand its refusal on unchanged.
	cfg.CheckStart = func(_ context.Context, c engine.StartCheck) error {
		if c.Subject.ID == missing {
			return &engine.Error{Code: errcode.NotFound, Field: "input.propertyId", Message: "property not found"}
		}
		return nil
	}
	e := f.engine(cfg, nil)
	listing := f.pkg(stepkind.SubjectProperty, stepDef{key: "cma", kind: stepkind.CMAAnalysis})
	nurture := f.pkg(stepkind.SubjectClient, stepDef{key: "score", kind: stepkind.LeadScoring})
	tests := []struct {
		name      string
		req       engine.StartRequest
		wantCode  errcode.Code
		wantField string
	}{
		{"property package without property", engine.StartRequest{PackageID: listing.ID}, errcode.BadUserInput, "input.propertyId"},
		{"property package given a client", engine.StartRequest{PackageID: listing.ID, ClientID: &f.client.ID}, errcode.BadUserInput, "input.propertyId"},
		{"client package given a property", engine.StartRequest{PackageID: nurture.ID, PropertyID: &f.property.ID}, errcode.BadUserInput, "input.clientId"},
		{"client package with both", engine.StartRequest{PackageID: nurture.ID, ClientID: &f.client.ID, PropertyID: &f.property.ID}, errcode.BadUserInput, "input.propertyId"},
		{"unknown property", engine.StartRequest{PackageID: listing.ID, PropertyID: &missing}, errcode.NotFound, "input.propertyId"},
		{"unknown package", engine.StartRequest{PackageID: missing, PropertyID: &f.property.ID}, errcode.NotFound, "input.packageId"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := e.StartRun(f.ctx, tt.req)
			var engErr *engine.Error
			if !errors.As(err, &engErr) || engErr.Code != tt.wantCode || engErr.Field != tt.wantField {
				t.Fatalf("StartRun = %v, want %s on %s", err, tt.wantCode, tt.wantField)
			}
		})
	}
	if n, _ := f.db.Client.Run.Query().Count(f.ctx); n != 0 {
		t.Fatalf("%d runs stored by refused starts", n)
	}
}

func TestProgressIsCoalesced(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	const reports = 2000
	chatty := engine.ExecutorFunc(func(ctx context.Context, sc *engine.StepContext) (any, error) {
		deadline := time.Now().Add(300 * time.Millisecond)
		for i := 1; i <= reports; i++ {
			sc.Progress(float64(i)/reports*0.9, fmt.Sprintf("scored %d of %d", i, reports))
			time.Sleep(time.Until(deadline) / time.Duration(reports-i+1))
		}
		return nil, nil
	})
	e := f.engine(f.config(), map[stepkind.Kind]engine.Executor{stepkind.CMAAnalysis: chatty})
	p := f.pkg(stepkind.SubjectProperty, stepDef{key: "cma", kind: stepkind.CMAAnalysis})
	r := f.wait(f.start(e, p).ID, run.StatusSUCCEEDED, run.StatusFAILED)
	evs := f.events(r.ID)
	n := countEvents(evs, runevent.TypeSTEP_PROGRESS, "cma")
	// 300ms at one write per 50ms is about 6; allow for scheduling noise.
	if n < 2 || n > 12 {
		t.Fatalf("%d progress events for %d reports, want a handful", n, reports)
	}
	var last string
	for _, ev := range evs {
		if ev.Type == runevent.TypeSTEP_PROGRESS {
			last = ev.Message
		}
	}
	if last != fmt.Sprintf("scored %d of %d", reports, reports) {
		t.Fatalf("last progress event %q: the latest report was lost", last)
	}
	var prev float64
	for _, ev := range evs {
		if ev.Type == runevent.TypeSTEP_PROGRESS {
			if ev.Progress < prev {
				t.Fatalf("progress went backwards: %v after %v", ev.Progress, prev)
			}
			prev = ev.Progress
		}
	}
}

// TestRefusedEffectFailsTheAttempt checks that an effect the database
// refuses does not leave the step hanging: the attempt counts as failed and
// the retry succeeds.
func TestRefusedEffectFailsTheAttempt(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	var calls atomic.Int32
	refusedOnce := engine.ExecutorFunc(func(ctx context.Context, sc *engine.StepContext) (any, error) {
		n := calls.Add(1)
		sc.AddEffect(func(ctx context.Context, db *ent.Client) error {
			if n == 1 {
				return errors.New("constraint violated")
			}
			return db.Interaction.Create().SetClientID(sc.Subject.ID).SetType("CALL").SetNote("effect").Exec(ctx)
		})
		return nil, nil
	})
	e := f.engine(f.config(), map[stepkind.Kind]engine.Executor{stepkind.LeadScoring: refusedOnce})
	r := f.wait(f.start(e, f.pkg(stepkind.SubjectClient, stepDef{key: "score", kind: stepkind.LeadScoring, maxAttempts: 3})).ID,
		run.StatusSUCCEEDED, run.StatusFAILED)
	if r.Status != run.StatusSUCCEEDED || calls.Load() != 2 {
		t.Fatalf("run %s after %d attempts: %s", r.Status, calls.Load(), f.describe(r.ID))
	}
	if n := f.db.Client.Interaction.Query().CountX(f.ctx); n != 1 {
		t.Fatalf("effect written %d times, want once", n)
	}
	if countEvents(f.events(r.ID), runevent.TypeSTEP_RETRYING, "score") != 1 {
		t.Fatal("the refused effect did not cause a retry")
	}
}

// TestCancelThenRetryRunsEachAttemptOnce cancels a run while a step waits
// for its retry, and retries the run before that retry was due: the step's
// next attempt runs once, not also when the old retry comes due.
func TestCancelThenRetryRunsEachAttemptOnce(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	var mu sync.Mutex
	calls := map[int]int{} // attempt → executions
	flaky := engine.ExecutorFunc(func(ctx context.Context, sc *engine.StepContext) (any, error) {
		mu.Lock()
		calls[sc.Attempt]++
		mu.Unlock()
		if sc.Attempt == 1 {
			return nil, errors.New("flaky")
		}
		return nil, nil
	})
	cfg := f.config()
	// The retry waits 3–6 s (backoff has jitter in its upper half): long
	// enough that a loaded machine still sees the step waiting and cancels
	// it before the retry is due.
	cfg.BackoffBase, cfg.BackoffMax = 6*time.Second, 6*time.Second
	e := f.engine(cfg, map[stepkind.Kind]engine.Executor{stepkind.CMAAnalysis: flaky})
	p := f.pkg(stepkind.SubjectProperty, stepDef{key: "cma", kind: stepkind.CMAAnalysis, maxAttempts: 3})
	r := f.start(e, p)
	deadline := time.Now().Add(20 * time.Second)
	var waiting *ent.StepRun
	for waiting = f.steps(r.ID)["cma"]; waiting.Status != steprun.StatusRETRYING; waiting = f.steps(r.ID)["cma"] {
		if time.Now().After(deadline) {
			t.Fatalf("the step never waited for a retry: %s", f.describe(r.ID))
		}
		time.Sleep(5 * time.Millisecond)
	}
	if _, err := e.CancelRun(f.ctx, r.ID); err != nil {
		t.Fatal(err)
	}
	f.wait(r.ID, run.StatusCANCELED)
	if _, err := e.RetryRun(f.ctx, r.ID); err != nil {
		t.Fatal(err)
	}
	f.wait(r.ID, run.StatusSUCCEEDED)
	// Past the canceled retry's time, with room for its wake-up to act.
	time.Sleep(time.Until(*waiting.NextAttemptAt) + time.Second)
	mu.Lock()
	defer mu.Unlock()
	if calls[1] != 1 || calls[2] != 1 || len(calls) != 2 {
		t.Fatalf("executions by attempt: %v, want one each of attempts 1 and 2", calls)
	}
}
