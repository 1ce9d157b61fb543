package engine

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"entgo.io/ent/dialect"

	"github.com/estateflow/estateflow/database"
	"github.com/estateflow/estateflow/ent"
	"github.com/estateflow/estateflow/ent/packagestep"
	"github.com/estateflow/estateflow/ent/run"
	"github.com/estateflow/estateflow/ent/schema/stepkind"
	"github.com/estateflow/estateflow/ent/steprun"
	"github.com/estateflow/estateflow/ent/workflowpackage"
	"github.com/estateflow/estateflow/internal/testdb"
	"github.com/estateflow/estateflow/tenant"
)

// TestDispatcherContract checks what the engine relies on from either
// dispatcher, the in-process pool (on SQLite and PostgreSQL) and River (on
// PostgreSQL, with TEST_DATABASE_URL set).
func TestDispatcherContract(t *testing.T) {
	dispatchers := []struct {
		name  string
		river bool
	}{{"pool", false}, {"river", true}}
	cases := []struct {
		name  string
		check func(t *testing.T, c *contract)
	}{
		{"a step dispatched in a committed transaction executes exactly once", checkCommittedExecutesOnce},
		{"a rolled-back transaction dispatches nothing", checkRollbackDispatchesNothing},
		{"a retry executes after its time and not before", checkRetryOnTime},
		{"a job completes with the outcome its transaction commits", checkJobCompletesWithOutcome},
		{"Stop drains running work", checkStopDrains},
	}
	for _, d := range dispatchers {
		t.Run(d.name, func(t *testing.T) {
			if d.river && os.Getenv(testdb.EnvURL) == "" {
				t.Skip("River dispatch needs PostgreSQL: set " + testdb.EnvURL)
			}
			for _, tc := range cases {
				t.Run(tc.name, func(t *testing.T) {
					t.Parallel()
					tc.check(t, newContract(t, d.river))
				})
			}
		})
	}
}

// checkCommittedExecutesOnce commits a transaction that makes the first
// step of a diamond ready: every step executes, each exactly once.
func checkCommittedExecutesOnce(t *testing.T, c *contract) {
	var mu sync.Mutex
	calls := map[string]int{}
	count := ExecutorFunc(func(ctx context.Context, sc *StepContext) (any, error) {
		mu.Lock()
		calls[sc.StepKey]++
		mu.Unlock()
		return nil, nil
	})
	e := c.engine(nil, count)
	pkg := c.pkg(
		contractStep{key: "a"},
		contractStep{key: "b", deps: []string{"a"}},
		contractStep{key: "c", deps: []string{"a"}},
		contractStep{key: "d", deps: []string{"b", "c"}},
	)
	tx, err := c.startInTxn(e, pkg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(tx.dispatch) != 1 {
		t.Fatalf("the transaction dispatched %d steps, want 1", len(tx.dispatch))
	}
	c.wait(tx.run.ID, run.StatusSUCCEEDED)
	time.Sleep(300 * time.Millisecond) // time for a second execution to show
	mu.Lock()
	defer mu.Unlock()
	for _, key := range []string{"a", "b", "c", "d"} {
		if calls[key] != 1 {
			t.Errorf("step %s executed %d times, want once (all: %v)", key, calls[key], calls)
		}
	}
}

// checkRollbackDispatchesNothing rolls back a transaction that created a
// run and claimed its first step: nothing executes and nothing is queued.
func checkRollbackDispatchesNothing(t *testing.T, c *contract) {
	var calls atomic.Int32
	e := c.engine(nil, ExecutorFunc(func(ctx context.Context, sc *StepContext) (any, error) {
		calls.Add(1)
		return nil, nil
	}))
	pkg := c.pkg(contractStep{key: "a"}, contractStep{key: "b"})
	errRollback := errors.New("rolled back on purpose")
	_, err := c.startInTxn(e, pkg, func(t *txn) error {
		if len(t.dispatch) != 2 {
			return fmt.Errorf("the transaction dispatched %d steps, want 2", len(t.dispatch))
		}
		return errRollback
	})
	if !errors.Is(err, errRollback) {
		t.Fatalf("transaction: %v, want the rollback", err)
	}
	time.Sleep(500 * time.Millisecond) // time for a leaked dispatch to execute
	if n := calls.Load(); n != 0 {
		t.Fatalf("%d steps of a rolled-back transaction executed", n)
	}
	if n := c.db.Client.Run.Query().CountX(c.ctx); n != 0 {
		t.Fatalf("%d runs exist after the rollback", n)
	}
	if c.river {
		var jobs int
		if err := c.db.SQL.QueryRow(`SELECT count(*) FROM river_job`).Scan(&jobs); err != nil {
			t.Fatal(err)
		}
		if jobs != 0 {
			t.Fatalf("%d River jobs exist after the rollback", jobs)
		}
	}
}

// checkRetryOnTime fails a step's first attempt: the second starts once
// the retry is due, not before, and not much later.
func checkRetryOnTime(t *testing.T, c *contract) {
	started := make(chan time.Time, 2)
	e := c.engine(func(cfg *Config) {
		cfg.BackoffBase, cfg.BackoffMax = 2*time.Second, 2*time.Second // a wait of 1 to 2 s
	}, ExecutorFunc(func(ctx context.Context, sc *StepContext) (any, error) {
		started <- time.Now()
		if sc.Attempt == 1 {
			return nil, errors.New("transient")
		}
		return nil, nil
	}))
	r, err := e.StartRun(c.ctx, c.request(c.pkg(contractStep{key: "a"})))
	if err != nil {
		t.Fatal(err)
	}
	<-started
	var due time.Time
	for deadline := time.Now().Add(10 * time.Second); due.IsZero(); time.Sleep(2 * time.Millisecond) {
		s := c.db.Client.StepRun.Query().Where(steprun.RunID(r.ID)).OnlyX(c.ctx)
		if s.Status == steprun.StatusRETRYING && s.NextAttemptAt != nil {
			due = *s.NextAttemptAt
		}
		if time.Now().After(deadline) {
			t.Fatalf("the failed attempt did not leave its step waiting for a retry; it is %s", s.Status)
		}
	}
	// Retries count as due from slightly before their time (retryDue).
	const early = 50 * time.Millisecond
	select {
	case at := <-started:
		if at.Before(due.Add(-early)) {
			t.Fatalf("the retry started %s before it was due", due.Sub(at))
		}
		// River may promote a job late by up to its scheduler's interval.
		if late := at.Sub(due); late > schedulerLead+time.Second {
			t.Fatalf("the retry started %s after it was due", late)
		}
	case <-time.After(time.Until(due) + schedulerLead + 5*time.Second):
		t.Fatal("the retry never started")
	}
	c.wait(r.ID, run.StatusSUCCEEDED)
}

// checkJobCompletesWithOutcome watches a two-step run in single-statement
// snapshots: whenever the first step's outcome is visible, so are the
// completion of its job and the claim (and job) of the next step, which
// commit in the same transaction.
func checkJobCompletesWithOutcome(t *testing.T, c *contract) {
	entered := make(chan string, 2)
	release := map[string]chan struct{}{"a": make(chan struct{}), "b": make(chan struct{})}
	e := c.engine(nil, ExecutorFunc(func(ctx context.Context, sc *StepContext) (any, error) {
		entered <- sc.StepKey
		<-release[sc.StepKey]
		return nil, nil
	}))
	r, err := e.StartRun(c.ctx, c.request(c.pkg(contractStep{key: "a"}, contractStep{key: "b", deps: []string{"a"}})))
	if err != nil {
		t.Fatal(err)
	}
	check := func(snap map[string]stepSnapshot) {
		t.Helper()
		a, b := snap["a"], snap["b"]
		switch a.status {
		case steprun.StatusRUNNING:
			if c.river && (a.unfinishedJobs() != 1 || a.completedJobs() != 0) {
				t.Fatalf("a is RUNNING with jobs %v, want one unfinished", a.jobs)
			}
		case steprun.StatusSUCCEEDED:
			if b.status != steprun.StatusRUNNING && b.status != steprun.StatusSUCCEEDED {
				t.Fatalf("a SUCCEEDED but b, which depends only on it, is %s: it was not claimed in a's transaction", b.status)
			}
			if c.river && (a.unfinishedJobs() != 0 || a.completedJobs() != 1) {
				t.Fatalf("a SUCCEEDED with jobs %v, want its job completed with it", a.jobs)
			}
			if c.river && b.status == steprun.StatusRUNNING && b.unfinishedJobs() != 1 {
				t.Fatalf("b was claimed with jobs %v, want one unfinished", b.jobs)
			}
		default:
			t.Fatalf("a is %s", a.status)
		}
	}
	if key := <-entered; key != "a" {
		t.Fatalf("%s executed first", key)
	}
	for range 20 {
		check(c.snapshot(r.ID))
	}
	close(release["a"])
	succeeded := 0
	for deadline := time.Now().Add(10 * time.Second); succeeded < 200; {
		snap := c.snapshot(r.ID)
		check(snap)
		if snap["a"].status == steprun.StatusSUCCEEDED {
			succeeded++
		}
		if time.Now().After(deadline) {
			t.Fatalf("a did not succeed; snapshot %v", snap)
		}
	}
	close(release["b"])
	c.wait(r.ID, run.StatusSUCCEEDED)
	if snap := c.snapshot(r.ID); c.river && (snap["b"].completedJobs() != 1 || snap["b"].unfinishedJobs() != 0) {
		t.Fatalf("b SUCCEEDED with jobs %v, want its job completed", snap["b"].jobs)
	}
}

// checkStopDrains stops the engine while a step executes: Stop returns only
// once the step has finished and its outcome is committed.
func checkStopDrains(t *testing.T, c *contract) {
	entered := make(chan struct{})
	var finished atomic.Bool
	e := c.engine(func(cfg *Config) { cfg.ShutdownGrace = 20 * time.Second }, ExecutorFunc(func(ctx context.Context, sc *StepContext) (any, error) {
		close(entered)
		select {
		case <-time.After(300 * time.Millisecond):
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		finished.Store(true)
		return nil, nil
	}))
	r, err := e.StartRun(c.ctx, c.request(c.pkg(contractStep{key: "a"})))
	if err != nil {
		t.Fatal(err)
	}
	<-entered
	if err := e.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	if !finished.Load() {
		t.Fatal("Stop returned while the step was still executing, or interrupted it")
	}
	if got := c.db.Client.Run.GetX(c.ctx, r.ID); got.Status != run.StatusSUCCEEDED {
		t.Fatalf("after Stop the run is %s, want its outcome committed (SUCCEEDED)", got.Status)
	}
}

// contract is one database, with an organization and a property, for one
// case of the contract on one dispatcher.
type contract struct {
	t          *testing.T
	db         *database.DB
	dsn        string
	river      bool
	ctx        context.Context // acts for the organization
	propertyID int
	packages   int
}

func newContract(t *testing.T, river bool) *contract {
	t.Helper()
	db, dsn := testdb.OpenURL(t, database.Options{})
	org, err := db.Client.Organization.Create().SetName("Contract Realty").SetSlug("contract").Save(tenant.SystemContext(context.Background()))
	if err != nil {
		t.Fatal(err)
	}
	ctx := tenant.NewContext(context.Background(), tenant.Viewer{OrgID: org.ID, Role: tenant.RoleAdmin})
	prop, err := db.Client.Property.Create().SetCity("Austin").SetLatitude(30.2).SetLongitude(-97.7).Save(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return &contract{t: t, db: db, dsn: dsn, river: river, ctx: ctx, propertyID: prop.ID}
}

// engine starts an engine on the contract's dispatcher whose every step
// runs ex; it is stopped when the test ends.
func (c *contract) engine(tweak func(*Config), ex Executor) *Engine {
	c.t.Helper()
	cfg := Config{
		Dialect:          c.db.Dialect,
		Workers:          4,
		BackoffBase:      20 * time.Millisecond,
		BackoffMax:       200 * time.Millisecond,
		ProgressInterval: 50 * time.Millisecond,
		ShutdownGrace:    2 * time.Second,
		Logger:           slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
	if c.river {
		cfg.ListenDSN = c.dsn
		cfg.River = &RiverConfig{DB: c.db.SQL, ClientOnTx: c.db.ClientOnTx}
	}
	if tweak != nil {
		tweak(&cfg)
	}
	e := New(c.db.Client, cfg)
	e.Register(string(stepkind.CMAAnalysis), ex)
	if err := e.Start(context.Background()); err != nil {
		c.t.Fatal(err)
	}
	c.t.Cleanup(func() {
		if err := e.Stop(context.Background()); err != nil {
			c.t.Errorf("stop: %v", err)
		}
	})
	return e
}

type contractStep struct {
	key  string
	deps []string
}

// pkg creates a property package whose steps are all CMA analyses.
func (c *contract) pkg(steps ...contractStep) *ent.WorkflowPackage {
	c.t.Helper()
	c.packages++
	p, err := c.db.Client.WorkflowPackage.Create().SetKey(fmt.Sprintf("contract-%d", c.packages)).SetName("Contract").
		SetSubject(stepkind.SubjectProperty).Save(c.ctx)
	if err != nil {
		c.t.Fatal(err)
	}
	for i, s := range steps {
		if err := c.db.Client.PackageStep.Create().SetPackageID(p.ID).SetKey(s.key).SetName(s.key).SetKind(stepkind.CMAAnalysis).
			SetDependsOn(append([]string{}, s.deps...)).SetPosition(i).Exec(c.ctx); err != nil {
			c.t.Fatal(err)
		}
	}
	return c.db.Client.WorkflowPackage.Query().Where(workflowpackage.ID(p.ID)).
		WithSteps(func(q *ent.PackageStepQuery) { q.Order(packagestep.ByPosition()) }).OnlyX(c.ctx)
}

func (c *contract) request(pkg *ent.WorkflowPackage) StartRequest {
	return StartRequest{PackageID: pkg.ID, PropertyID: &c.propertyID}
}

// startInTxn creates a run of pkg in a transaction of the engine's
// dispatcher, which also claims its ready steps; then, before the commit,
// it calls beforeCommit, whose error rolls the transaction back.
func (c *contract) startInTxn(e *Engine, pkg *ent.WorkflowPackage, beforeCommit func(*txn) error) (*txn, error) {
	req := c.request(pkg)
	hash, err := requestHash(req)
	if err != nil {
		return nil, err
	}
	return e.transact(c.ctx, func(ctx context.Context, db *ent.Client) (*txn, error) {
		t, err := e.createRun(ctx, db, pkg, req, hash)
		if err == nil && beforeCommit != nil {
			err = beforeCommit(t)
		}
		return t, err
	})
}

func (c *contract) wait(runID int, status run.Status) {
	c.t.Helper()
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		r := c.db.Client.Run.GetX(c.ctx, runID)
		if r.Status == status {
			return
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("run %d is %s, want %s", runID, r.Status, status)
		}
	}
}

// stepSnapshot is a step's status and, with River, the states of its jobs,
// as one statement saw them.
type stepSnapshot struct {
	status steprun.Status
	jobs   []string
}

func (s stepSnapshot) completedJobs() int { return s.countJobs("completed") }

func (s stepSnapshot) unfinishedJobs() int {
	return s.countJobs("available") + s.countJobs("scheduled") + s.countJobs("retryable") +
		s.countJobs("running") + s.countJobs("pending")
}

func (s stepSnapshot) countJobs(state string) int {
	n := 0
	for _, j := range s.jobs {
		if j == state {
			n++
		}
	}
	return n
}

// snapshot reads the run's steps, with their jobs under River, in one
// statement, so that it sees one committed state.
func (c *contract) snapshot(runID int) map[string]stepSnapshot {
	c.t.Helper()
	query := `SELECT s.key, s.status, '' FROM step_runs s WHERE s.run_id = ?`
	switch {
	case c.river:
		query = `SELECT s.key, s.status, COALESCE((SELECT string_agg(j.state::text, ',' ORDER BY j.id) FROM river_job j
			WHERE j.kind = '` + stepJobKind + `' AND j.tags @> ARRAY['step-' || s.id::text]::varchar(255)[]), '')
			FROM step_runs s WHERE s.run_id = $1`
	case c.db.Dialect == dialect.Postgres:
		query = strings.Replace(query, "?", "$1", 1)
	}
	rows, err := c.db.SQL.Query(query, runID)
	if err != nil {
		c.t.Fatal(err)
	}
	defer rows.Close()
	snap := map[string]stepSnapshot{}
	for rows.Next() {
		var key, status, jobs string
		if err := rows.Scan(&key, &status, &jobs); err != nil {
			c.t.Fatal(err)
		}
		s := stepSnapshot{status: steprun.Status(status)}
		if jobs != "" {
			s.jobs = strings.Split(jobs, ",")
		}
		snap[key] = s
	}
	if err := rows.Err(); err != nil {
		c.t.Fatal(err)
	}
	return snap
}
