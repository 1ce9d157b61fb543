package engine_test

import (
	"bytes"
	"context"
	"errors"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"entgo.io/ent/dialect"
	entsql "entgo.io/ent/dialect/sql"

	"github.com/estateflow/estateflow/database"
	"github.com/estateflow/estateflow/engine"
	"github.com/estateflow/estateflow/ent/run"
	"github.com/estateflow/estateflow/ent/schema/stepkind"
	"github.com/estateflow/estateflow/internal/testdb"
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
	waitNoEngineGoroutines(t, "Stop")
}

// TestFailedStartLeavesNoGoroutine makes Start fail after the workers and,
// on PostgreSQL, the fan-out listener have started: when recovering the
// runs in flight fails, everything Start began must stop.
func TestFailedStartLeavesNoGoroutine(t *testing.T) {
	for _, tc := range []struct {
		name  string
		start func(t *testing.T, e *engine.Engine, failRecovery *atomic.Bool) error
	}{
		{"recovery fails on the database", func(t *testing.T, e *engine.Engine, failRecovery *atomic.Bool) error {
			failRecovery.Store(true)
			defer failRecovery.Store(false)
			return e.Start(context.Background())
		}},
		{"the start context is canceled", func(t *testing.T, e *engine.Engine, _ *atomic.Bool) error {
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			return e.Start(ctx)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var failRecovery atomic.Bool
			db, dsn := testdb.OpenURL(t, database.Options{Driver: func(d dialect.Driver) dialect.Driver {
				return failingRunQueries{Driver: d.(*entsql.Driver), fail: &failRecovery}
			}})
			f := fixtureOn(t, db)
			cfg := testConfig(f.db) // the pool, whose start recovers runs
			if f.db.Dialect == dialect.Postgres {
				cfg.ListenDSN = dsn
			}
			e := engine.New(f.db.Client, cfg)
			e.Register(string(stepkind.CMAAnalysis), ok)
			if err := tc.start(t, e, &failRecovery); err == nil {
				_ = e.Stop(context.Background())
				t.Fatal("Start succeeded; want the failure")
			}
			waitNoEngineGoroutines(t, "a failed Start")
			if err := e.Stop(context.Background()); err != nil {
				t.Fatalf("Stop after a failed Start: %v", err)
			}
		})
	}
}

// failingRunQueries fails every query of the runs table while fail is set;
// the first one the engine makes at start is recovery's.
type failingRunQueries struct {
	*entsql.Driver
	fail *atomic.Bool
}

func (d failingRunQueries) Query(ctx context.Context, query string, args, v any) error {
	if d.fail.Load() && (strings.Contains(query, `FROM "runs"`) || strings.Contains(query, "FROM `runs`")) {
		return errors.New("injected: the database refuses to list runs")
	}
	return d.Driver.Query(ctx, query, args, v)
}

// waitNoEngineGoroutines fails the test unless every goroutine of the
// engine is gone soon after what.
func waitNoEngineGoroutines(t *testing.T, what string) {
	t.Helper()
	// Timer and stream goroutines may take a moment to be reaped by the
	// runtime after they return.
	deadline := time.Now().Add(2 * time.Second)
	for {
		left := engineGoroutines()
		if left == "" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("goroutines left after %s:\n%s", what, left)
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
