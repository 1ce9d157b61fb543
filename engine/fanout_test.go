package engine_test

import (
	"database/sql"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/estateflow/estateflow/database"
	"github.com/estateflow/estateflow/engine"
	"github.com/estateflow/estateflow/ent"
	"github.com/estateflow/estateflow/ent/schema/stepkind"
	"github.com/estateflow/estateflow/internal/testdb"
)

// twoEngines is one database with two engines over it, as two replicas
// would have: A executes the steps, B only serves subscribers.
type twoEngines struct {
	*fixture
	a, b   *engine.Engine
	gate   gated
	schema string
	admin  *sql.DB
}

func newTwoEngines(t *testing.T) *twoEngines {
	t.Helper()
	if os.Getenv(testdb.EnvURL) == "" {
		t.Skip("fan-out needs PostgreSQL: set " + testdb.EnvURL)
	}
	db, dsn := testdb.OpenURL(t, database.Options{})
	f := fixtureOn(t, db)
	g := gated{next: make(chan struct{})}
	cfg := testConfig(db)
	cfg.ListenDSN = dsn
	a := f.engine(cfg, map[stepkind.Kind]engine.Executor{stepkind.CMAAnalysis: g, stepkind.ListingStrategy: g})
	b := f.engine(cfg, nil)
	admin, err := sql.Open("postgres", dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { admin.Close() })
	var schema string
	if err := admin.QueryRow("SELECT current_schema()").Scan(&schema); err != nil {
		t.Fatal(err)
	}
	te := &twoEngines{fixture: f, a: a, b: b, gate: g, schema: schema, admin: admin}
	for _, e := range []*engine.Engine{a, b} {
		te.waitReady(e)
	}
	return te
}

func (te *twoEngines) waitReady(e *engine.Engine) {
	te.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for e.Ready() != nil {
		if time.Now().After(deadline) {
			te.t.Fatalf("engine not ready: %v", e.Ready())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestFanoutReachesOtherEngine subscribes on B to a run A executes: B's
// stream is the stored log exactly.
func TestFanoutReachesOtherEngine(t *testing.T) {
	t.Parallel()
	te := newTwoEngines(t)
	p := te.pkg(stepkind.SubjectProperty,
		stepDef{key: "cma", kind: stepkind.CMAAnalysis},
		stepDef{key: "strategy", kind: stepkind.ListingStrategy, deps: []string{"cma"}},
	)
	r := te.start(te.a, p)
	stream, err := te.b.RunEvents(te.ctx, r.ID, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	te.gate.next <- struct{}{}
	te.gate.next <- struct{}{}
	assertStreamIsLog(t, te.fixture, r, stream)
}

// TestFanoutSurvivesListenerTermination kills every LISTEN connection of
// the database from PostgreSQL mid-run, and lets the run finish while they
// are down: B's subscriber still gets every event, in order, once.
func TestFanoutSurvivesListenerTermination(t *testing.T) {
	t.Parallel()
	te := newTwoEngines(t)
	p := te.pkg(stepkind.SubjectProperty,
		stepDef{key: "cma", kind: stepkind.CMAAnalysis},
		stepDef{key: "strategy", kind: stepkind.ListingStrategy, deps: []string{"cma"}},
	)
	r := te.start(te.a, p)
	stream, err := te.b.RunEvents(te.ctx, r.ID, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	te.gate.next <- struct{}{} // cma done: B sees it live

	var killed int
	if err := te.admin.QueryRow(`SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = $1`,
		"estateflow-listen-"+te.schema).Scan(&killed); err != nil {
		t.Fatal(err)
	}
	if killed != 2 {
		t.Fatalf("terminated %d LISTEN connections, want both engines'", killed)
	}
	// Strategy finishes at once, while B's connection is gone or coming
	// back: its notifications are lost (pq reconnects within milliseconds,
	// so how many varies; without the catch-up, this test fails most runs).
	te.gate.next <- struct{}{}
	assertStreamIsLog(t, te.fixture, r, stream)
	te.waitReady(te.b)
	if te.b.FanoutReconnects() == 0 {
		t.Fatal("B did not reconnect")
	}
}

// assertStreamIsLog reads a stream to its end and compares it with the
// run's stored events.
func assertStreamIsLog(t *testing.T, f *fixture, r *ent.Run, stream <-chan *ent.RunEvent) {
	t.Helper()
	var got []*ent.RunEvent
	timeout := time.After(20 * time.Second)
	for done := false; !done; {
		select {
		case ev, ok := <-stream:
			if !ok {
				done = true
				break
			}
			got = append(got, ev)
		case <-timeout:
			t.Fatalf("stream stalled after %d events: %s", len(got), describeEvents(got))
		}
	}
	f.wait(r.ID, "SUCCEEDED")
	want := f.events(r.ID)
	if len(got) != len(want) {
		t.Fatalf("stream has %d events, the log %d:\nstream %s\nlog    %s", len(got), len(want), describeEvents(got), describeEvents(want))
	}
	for i := range want {
		if got[i].Seq != want[i].Seq || got[i].Type != want[i].Type {
			t.Fatalf("event %d: stream %d %s, log %d %s", i, got[i].Seq, got[i].Type, want[i].Seq, want[i].Type)
		}
	}
}

func describeEvents(evs []*ent.RunEvent) string {
	var b strings.Builder
	for _, ev := range evs {
		b.WriteString(ev.Type.String())
		b.WriteByte(' ')
	}
	return b.String()
}

// TestCancelReachesAnotherEngine cancels through B a run whose step runs
// on A: the CANCELING transaction's notification interrupts the step.
func TestCancelReachesAnotherEngine(t *testing.T) {
	t.Parallel()
	te := newTwoEngines(t)
	p := te.pkg(stepkind.SubjectProperty, stepDef{key: "cma", kind: stepkind.CMAAnalysis})
	r := te.start(te.a, p)
	deadline := time.Now().Add(10 * time.Second)
	for te.steps(r.ID)["cma"].Status != "RUNNING" {
		if time.Now().After(deadline) {
			t.Fatal("the step never started")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if _, err := te.b.CancelRun(te.ctx, r.ID); err != nil {
		t.Fatal(err)
	}
	// The gate is never opened: only the cancellation can end the step.
	te.wait(r.ID, "CANCELED")
	if s := te.steps(r.ID)["cma"]; s.Status != "CANCELED" {
		t.Fatalf("step %s", s.Status)
	}
}

// TestFanoutStatesReachOtherEngine subscribes on B to the states of runs A
// executes, and on B to another organization's: B's runsUpdated and
// runUpdated subscribers get every state through to the terminal one, the
// stored one, and nothing of the other organization.
func TestFanoutStatesReachOtherEngine(t *testing.T) {
	t.Parallel()
	te := newTwoEngines(t)
	g := otherOrg(te.fixture)
	p := te.pkg(stepkind.SubjectProperty,
		stepDef{key: "cma", kind: stepkind.CMAAnalysis},
		stepDef{key: "strategy", kind: stepkind.ListingStrategy, deps: []string{"cma"}},
	)
	all, err := te.b.RunsUpdates(te.ctx, te.orgID, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	others, err := te.b.RunsUpdates(g.ctx, g.orgID, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	r := te.start(te.a, p)
	one, err := te.b.RunUpdates(te.ctx, r.ID, nil)
	if err != nil {
		t.Fatal(err)
	}
	te.gate.next <- struct{}{}
	te.gate.next <- struct{}{}
	want := map[int]bool{r.ID: true}
	checkStates(t, te.fixture, "runsUpdated on B", collectStates(t, all, want), want)
	checkStates(t, te.fixture, "runUpdated on B", collectStates(t, one, want), want)
	select {
	case s := <-others:
		t.Fatalf("a subscriber of another organization got run %d", s.ID)
	default:
	}
}
