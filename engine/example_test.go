package engine_test

import (
	"context"
	"fmt"
	"log"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/estateflow/estateflow/database"
	"github.com/estateflow/estateflow/engine"
	"github.com/estateflow/estateflow/ent"
	"github.com/estateflow/estateflow/ent/schema/stepkind"
	"github.com/estateflow/estateflow/ent/steprun"
	"github.com/estateflow/estateflow/tenant"
)

// An engine over a SQLite database: New, then Start, and Stop before the
// database closes. With SQLite the engine executes steps on its in-process
// pool of workers; Config.River switches PostgreSQL deployments to River.
func ExampleNew() {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "estateflow-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	db, err := database.Open(ctx, filepath.Join(dir, "estateflow.db"), database.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	if err := db.Migrate(ctx); err != nil {
		log.Fatal(err)
	}

	e := engine.New(db.Client, engine.Config{Dialect: db.Dialect, Workers: 4, Logger: slog.New(slog.DiscardHandler)})
	// Register executors here, before Start.
	if err := e.Start(ctx); err != nil {
		log.Fatal(err)
	}
	fmt.Println("ready:", e.Ready() == nil)
	if err := e.Stop(ctx); err != nil {
		log.Fatal(err)
	}
	fmt.Println("stopped:", e.Ready() == engine.ErrStopping)
	// Output:
	// ready: true
	// stopped: true
}

// An executor does the work of one step kind. It receives its step's
// settings and its dependencies' outputs, may report progress, and returns
// an output that marshals to a JSON object, which the step run stores.
func ExampleEngine_Register() {
	db, closeDB := exampleDB()
	defer closeDB()
	e := engine.New(db.Client, engine.Config{Dialect: db.Dialect, Logger: slog.New(slog.DiscardHandler)})
	e.Register(string(stepkind.CMAAnalysis), engine.ExecutorFunc(func(ctx context.Context, sc *engine.StepContext) (any, error) {
		sc.Progress(0.5, "comparing recent sales")
		return map[string]any{"estimate": 412000}, nil
	}))
	if err := e.Start(context.Background()); err != nil {
		log.Fatal(err)
	}
	defer e.Stop(context.Background())

	ctx, req := exampleListing(db, stepkind.CMAAnalysis)
	r, err := e.StartRun(ctx, req)
	if err != nil {
		log.Fatal(err)
	}
	waitForEnd(ctx, e, r.ID)
	step := db.Client.StepRun.Query().Where(steprun.RunID(r.ID)).OnlyX(ctx)
	fmt.Println(step.Key, step.Status, step.Output["estimate"])
	// Output: cma_analysis SUCCEEDED 412000
}

// StartRun creates a run of a package's current version and starts it in
// one transaction; its steps then execute in the background. An
// idempotency key makes a repeated request return the same run.
func ExampleEngine_StartRun() {
	db, closeDB := exampleDB()
	defer closeDB()
	e := engine.New(db.Client, engine.Config{Dialect: db.Dialect, Logger: slog.New(slog.DiscardHandler)})
	e.Register(string(stepkind.CMAAnalysis), exampleExecutor)
	e.Register(string(stepkind.ListingStrategy), exampleExecutor)
	if err := e.Start(context.Background()); err != nil {
		log.Fatal(err)
	}
	defer e.Stop(context.Background())

	// ctx carries the viewer: the run belongs to the viewer's organization.
	ctx, req := exampleListing(db, stepkind.CMAAnalysis, stepkind.ListingStrategy)
	req.IdempotencyKey = new("listing-42")
	r, err := e.StartRun(ctx, req)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("started:", r.Status)
	again, err := e.StartRun(ctx, req)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("same run again:", again.ID == r.ID)
	fmt.Println("finished:", waitForEnd(ctx, e, r.ID).Status)
	// Output:
	// started: RUNNING
	// same run again: true
	// finished: SUCCEEDED
}

// RunEvents replays a run's stored events after a cursor (0: all of them),
// then streams live ones as they commit, with no gap and no duplicate. The
// channel closes after the run's terminal event; onEnd learns why first.
func ExampleEngine_RunEvents() {
	db, closeDB := exampleDB()
	defer closeDB()
	e := engine.New(db.Client, engine.Config{Dialect: db.Dialect, Logger: slog.New(slog.DiscardHandler)})
	e.Register(string(stepkind.CMAAnalysis), exampleExecutor)
	e.Register(string(stepkind.ListingStrategy), exampleExecutor)
	if err := e.Start(context.Background()); err != nil {
		log.Fatal(err)
	}
	defer e.Stop(context.Background())

	ctx, req := exampleListing(db, stepkind.CMAAnalysis, stepkind.ListingStrategy)
	r, err := e.StartRun(ctx, req)
	if err != nil {
		log.Fatal(err)
	}
	var ended error
	events, err := e.RunEvents(ctx, r.ID, 0, func(err error) { ended = err })
	if err != nil {
		log.Fatal(err)
	}
	for ev := range events {
		if ev.StepKey != nil {
			fmt.Println(ev.Seq, ev.Type, *ev.StepKey)
		} else {
			fmt.Println(ev.Seq, ev.Type)
		}
	}
	// A subscriber that falls behind ends with engine.ErrSlowConsumer and
	// resumes from the last seq it received.
	fmt.Println("ended:", ended)
	// Output:
	// 1 RUN_QUEUED
	// 2 RUN_STARTED
	// 3 STEP_STARTED cma_analysis
	// 4 STEP_SUCCEEDED cma_analysis
	// 5 STEP_STARTED listing_strategy
	// 6 STEP_SUCCEEDED listing_strategy
	// 7 RUN_SUCCEEDED
	// ended: <nil>
}

// exampleExecutor succeeds at once.
var exampleExecutor = engine.ExecutorFunc(func(ctx context.Context, sc *engine.StepContext) (any, error) {
	return map[string]any{"done": sc.StepKey}, nil
})

// exampleDB opens a migrated SQLite database in a new temporary directory;
// closeDB closes it and removes the directory.
func exampleDB() (db *database.DB, closeDB func()) {
	dir, err := os.MkdirTemp("", "estateflow-example")
	if err != nil {
		log.Fatal(err)
	}
	db, err = database.Open(context.Background(), filepath.Join(dir, "estateflow.db"), database.Options{})
	if err != nil {
		log.Fatal(err)
	}
	if err := db.Migrate(context.Background()); err != nil {
		log.Fatal(err)
	}
	return db, func() {
		db.Close()
		os.RemoveAll(dir)
	}
}

// exampleListing creates an organization with a property and a package of
// one step per kind, each depending on the one before. It returns the
// context of the organization's admin and the request to start the package
// on the property.
func exampleListing(db *database.DB, kinds ...stepkind.Kind) (context.Context, engine.StartRequest) {
	org := db.Client.Organization.Create().SetName("Example Realty").SetSlug("example").
		SaveX(tenant.SystemContext(context.Background()))
	ctx := tenant.NewContext(context.Background(), tenant.Viewer{OrgID: org.ID, Role: tenant.RoleAdmin})
	property := db.Client.Property.Create().SetCity("Sacramento").SetLatitude(38.58).SetLongitude(-121.49).SaveX(ctx)
	pkg := db.Client.WorkflowPackage.Create().SetKey("listing").SetName("Listing").SetSubject(stepkind.SubjectProperty).SaveX(ctx)
	var deps []string
	for i, kind := range kinds {
		key := stepKey(kind)
		db.Client.PackageStep.Create().SetPackageID(pkg.ID).SetKey(key).SetName(key).SetKind(kind).
			SetDependsOn(deps).SetPosition(i).ExecX(ctx)
		deps = []string{key}
	}
	return ctx, engine.StartRequest{PackageID: pkg.ID, PropertyID: &property.ID}
}

// stepKey names a step after its kind: CMA_ANALYSIS is cma_analysis.
func stepKey(kind stepkind.Kind) string {
	b := []byte(kind)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

// waitForEnd follows a run's states until it finishes, and returns the
// last.
func waitForEnd(ctx context.Context, e *engine.Engine, runID int) *ent.Run {
	updates, err := e.RunUpdates(ctx, runID, nil)
	if err != nil {
		log.Fatal(err)
	}
	var last *ent.Run
	for r := range updates {
		last = r
	}
	return last
}
