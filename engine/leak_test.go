package engine_test

import (
	"bytes"
	"context"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/estateflow/estateflow/engine"
	"github.com/estateflow/estateflow/ent/run"
	"github.com/estateflow/estateflow/ent/schema/stepkind"
)

// TestNoGoroutineOutlivesStop runs work, leaves subscriptions, a pending
// retry and a step running, stops the engine, and checks that none of its
// goroutines is left.
func TestNoGoroutineOutlivesStop(t *testing.T) {
	f := newFixture(t)
	cfg := f.config()
	cfg.ShutdownGrace = 100 * time.Millisecond
	cfg.BackoffBase = time.Hour // the retry stays pending
	e := engine.New(f.db.Client, cfg)
	blocked := make(chan struct{}, 1)
	e.Register(string(stepkind.CMAAnalysis), engine.ExecutorFunc(func(ctx context.Context, sc *engine.StepContext) (any, error) {
		blocked <- struct{}{}
		sc.Progress(0.3, "waiting")
		<-ctx.Done()
		return nil, ctx.Err()
	}))
	e.Register(string(stepkind.LeadScoring), engine.ExecutorFunc(func(ctx context.Context, sc *engine.StepContext) (any, error) {
		return nil, context.DeadlineExceeded // retried in an hour
	}))
	if err := e.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	running := f.start(e, f.pkg(stepkind.SubjectProperty, stepDef{key: "cma", kind: stepkind.CMAAnalysis}))
	retrying := f.start(e, f.pkg(stepkind.SubjectClient, stepDef{key: "score", kind: stepkind.LeadScoring, maxAttempts: 3}))
	<-blocked
	f.wait(retrying.ID, run.StatusRUNNING)
	for range 3 {
		if _, err := e.RunEvents(f.ctx, running.ID, 0, nil); err != nil {
			t.Fatal(err)
		}
		if _, err := e.RunUpdates(f.ctx, retrying.ID, nil); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := e.RunsUpdates(f.ctx, f.orgID, nil, nil); err != nil {
		t.Fatal(err)
	}
	if err := e.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	// Timer and stream goroutines may take a moment to be reaped by the
	// runtime after they return.
	deadline := time.Now().Add(2 * time.Second)
	for {
		left := engineGoroutines()
		if left == "" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("goroutines left after Stop:\n%s", left)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// engineGoroutines returns the stacks of goroutines running engine code,
// other than tests.
func engineGoroutines() string {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	var out []string
	for _, g := range bytes.Split(buf, []byte("\n\n")) {
		s := string(g)
		if strings.Contains(s, "estateflow/engine.") && !strings.Contains(s, "engine_test.") {
			out = append(out, s)
		}
	}
	return strings.Join(out, "\n\n")
}
