package engine_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"entgo.io/ent/dialect"

	"github.com/estateflow/estateflow/database"
	"github.com/estateflow/estateflow/engine"
	"github.com/estateflow/estateflow/ent"
	"github.com/estateflow/estateflow/ent/run"
	"github.com/estateflow/estateflow/ent/runevent"
	"github.com/estateflow/estateflow/ent/schema/stepkind"
	"github.com/estateflow/estateflow/ent/steprun"
	"github.com/estateflow/estateflow/internal/testdb"
	"github.com/estateflow/estateflow/tenant"
)

// fixture is a database with one organization, a property and a client,
// and an engine over it.
type fixture struct {
	t        testing.TB
	db       *database.DB
	ctx      context.Context // acts for the organization
	orgID    int
	property *ent.Property
	client   *ent.Contact
	dsn      string // the database's address
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	db, dsn := testdb.OpenURL(t, database.Options{})
	f := fixtureOn(t, db)
	f.dsn = dsn
	return f
}

// fixtureOn is newFixture over a database the test opened itself.
func fixtureOn(t testing.TB, db *database.DB) *fixture {
	t.Helper()
	sys := tenant.SystemContext(context.Background())
	org, err := db.Client.Organization.Create().SetName("Test Realty").SetSlug("test").Save(sys)
	if err != nil {
		t.Fatal(err)
	}
	ctx := tenant.NewContext(context.Background(), tenant.Viewer{OrgID: org.ID, Role: tenant.RoleAdmin})
	prop, err := db.Client.Property.Create().SetCity("Austin").SetLatitude(30.2).SetLongitude(-97.7).Save(ctx)
	if err != nil {
		t.Fatal(err)
	}
	client, err := db.Client.Contact.Create().SetName("Ana").Save(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{t: t, db: db, ctx: ctx, orgID: org.ID, property: prop, client: client}
}

// config is the engine configuration the tests run with: on PostgreSQL,
// steps go through River and events through NOTIFY, as in production;
// on SQLite through the in-process pool.
func (f *fixture) config() engine.Config {
	cfg := testConfig(f.db)
	if f.db.Dialect == dialect.Postgres {
		cfg.ListenDSN = f.dsn
		cfg.River = &engine.RiverConfig{DB: f.db.SQL, ClientOnTx: f.db.ClientOnTx}
	}
	return cfg
}

// testConfig keeps waits short so tests run fast; it dispatches through the
// in-process pool.
func testConfig(db *database.DB) engine.Config {
	return engine.Config{
		Dialect:          db.Dialect,
		Workers:          8,
		BackoffBase:      20 * time.Millisecond,
		BackoffMax:       200 * time.Millisecond,
		ProgressInterval: 50 * time.Millisecond,
		ShutdownGrace:    2 * time.Second,
		Logger:           slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
}

// engine starts an engine with the given executors, stopped when the test
// ends.
func (f *fixture) engine(cfg engine.Config, executors map[stepkind.Kind]engine.Executor) *engine.Engine {
	f.t.Helper()
	e := engine.New(f.db.Client, cfg)
	for kind, ex := range executors {
		e.Register(string(kind), ex)
	}
	if err := e.Start(context.Background()); err != nil {
		f.t.Fatal(err)
	}
	f.t.Cleanup(func() {
		if err := e.Stop(context.Background()); err != nil {
			f.t.Errorf("stop: %v", err)
		}
	})
	return e
}

type stepDef struct {
	key         string
	kind        stepkind.Kind
	deps        []string
	maxAttempts int
	timeout     int
}

// pkg creates a package of the given steps.
func (f *fixture) pkg(subject stepkind.Subject, steps ...stepDef) *ent.WorkflowPackage {
	f.t.Helper()
	p, err := f.db.Client.WorkflowPackage.Create().SetKey(fmt.Sprintf("p%d", time.Now().UnixNano())).SetName("P").SetSubject(subject).Save(f.ctx)
	if err != nil {
		f.t.Fatal(err)
	}
	for i, s := range steps {
		c := f.db.Client.PackageStep.Create().SetPackageID(p.ID).SetKey(s.key).SetName(s.key).SetKind(s.kind).
			SetDependsOn(append([]string{}, s.deps...)).SetPosition(i)
		if s.maxAttempts > 0 {
			c.SetMaxAttempts(s.maxAttempts)
		}
		if s.timeout > 0 {
			c.SetTimeoutSeconds(s.timeout)
		}
		if _, err := c.Save(f.ctx); err != nil {
			f.t.Fatal(err)
		}
	}
	return p
}

// start starts a run of p on the fixture's property or client.
func (f *fixture) start(e *engine.Engine, p *ent.WorkflowPackage) *ent.Run {
	f.t.Helper()
	req := engine.StartRequest{PackageID: p.ID}
	if p.Subject == stepkind.SubjectProperty {
		req.PropertyID = &f.property.ID
	} else {
		req.ClientID = &f.client.ID
	}
	r, err := e.StartRun(f.ctx, req)
	if err != nil {
		f.t.Fatalf("start run: %v", err)
	}
	return r
}

// wait polls until the run reaches one of the statuses.
func (f *fixture) wait(runID int, statuses ...run.Status) *ent.Run {
	f.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		r, err := f.db.Client.Run.Get(f.ctx, runID)
		if err != nil {
			f.t.Fatal(err)
		}
		for _, s := range statuses {
			if r.Status == s {
				return r
			}
		}
		if time.Now().After(deadline) {
			f.t.Fatalf("run %d is %s, want one of %v; steps: %s", runID, r.Status, statuses, f.describe(runID))
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func (f *fixture) steps(runID int) map[string]*ent.StepRun {
	f.t.Helper()
	steps, err := f.db.Client.StepRun.Query().Where(steprun.RunID(runID)).All(f.ctx)
	if err != nil {
		f.t.Fatal(err)
	}
	m := map[string]*ent.StepRun{}
	for _, s := range steps {
		m[s.Key] = s
	}
	return m
}

func (f *fixture) describe(runID int) string {
	out := ""
	for _, s := range f.steps(runID) {
		out += fmt.Sprintf("%s=%s(attempt %d, %q, %q) ", s.Key, s.Status, s.Attempt, s.Message, ptrStr(s.Error))
	}
	return out
}

// events returns the run's log and checks that its seqs are 1..n, an
// EVENTS_COMPACTED marker standing for the seqs up to its
// compacted_through.
func (f *fixture) events(runID int) []*ent.RunEvent {
	f.t.Helper()
	evs, err := f.db.Client.RunEvent.Query().Where(runevent.RunID(runID)).Order(runevent.BySeq()).All(f.ctx)
	if err != nil {
		f.t.Fatal(err)
	}
	next := 1
	for _, ev := range evs {
		if ev.Seq != next {
			f.t.Fatalf("event log of run %d has a gap: seq %d where %d was due", runID, ev.Seq, next)
		}
		next = ev.Seq + 1
		if ev.CompactedThrough != nil {
			next = *ev.CompactedThrough + 1
		}
	}
	return evs
}

func countEvents(evs []*ent.RunEvent, typ runevent.Type, stepKey string) int {
	n := 0
	for _, ev := range evs {
		if ev.Type == typ && (stepKey == "" || (ev.StepKey != nil && *ev.StepKey == stepKey)) {
			n++
		}
	}
	return n
}

// ok is an executor that succeeds at once with its step key as output.
var ok = engine.ExecutorFunc(func(ctx context.Context, sc *engine.StepContext) (any, error) {
	return map[string]any{"step": sc.StepKey}, nil
})

func ptrStr(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}
