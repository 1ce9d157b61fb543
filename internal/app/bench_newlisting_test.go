package app

import (
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/estateflow/estateflow/engine"
	"github.com/estateflow/estateflow/ent/property"
	"github.com/estateflow/estateflow/ent/run"
	"github.com/estateflow/estateflow/ent/workflowpackage"
)

// BenchmarkNewListingRuns measures real New Listing runs (CMA, strategy,
// campaign, social scheduling) on the demo data, through the engine
// without HTTP: b.N runs over the demo's active listings, started 16 at a
// time, with admission control off, the production progress interval, and
// the production database driver (no query counting).
// It reports runs finished per second, from the first start to the last
// end, and the process's CPU per run (user + system, the benchmark's own
// starting and polling included). Every run must succeed.
//
//	go test ./internal/app -run '^$' -bench NewListingRuns -benchtime 400x -count 5
func BenchmarkNewListingRuns(b *testing.B) {
	api := newTestAPI(b, testOptions{demo: true, progressInterval: 250 * time.Millisecond, uncounted: true})
	ctx := api.ctx()
	pkg, err := api.ent().WorkflowPackage.Query().Where(workflowpackage.Key("new-listing")).Only(ctx)
	if err != nil {
		b.Fatal(err)
	}
	props, err := api.ent().Property.Query().Where(property.StatusEQ(property.StatusACTIVE)).IDs(ctx)
	if err != nil || len(props) == 0 {
		b.Fatalf("%d active listings (%v)", len(props), err)
	}
	cpu := func() time.Duration {
		var ru syscall.Rusage
		if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
			b.Fatal(err)
		}
		return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	before, began := cpu(), time.Now()
	b.ResetTimer()

	sem := make(chan struct{}, 16)
	var wg sync.WaitGroup
	for i := range b.N {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			prop := props[i%len(props)]
			if _, err := api.engine.StartRun(ctx, engine.StartRequest{PackageID: pkg.ID, PropertyID: &prop,
				Params: map[string]any{"listingStartDate": "2026-12-07"}}); err != nil {
				b.Error(err)
			}
		}()
	}
	wg.Wait()
	for {
		n, err := api.ent().Run.Query().Where(run.FinishedAtIsNil()).Count(ctx)
		if err != nil {
			b.Fatal(err)
		}
		if n == 0 {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	elapsed, used := time.Since(began), cpu()-before
	b.StopTimer()
	failed, err := api.ent().Run.Query().Where(run.StatusNEQ(run.StatusSUCCEEDED)).Count(ctx)
	if err != nil || failed > 0 {
		b.Fatalf("%d runs did not succeed (%v)", failed, err)
	}
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "runs/s")
	b.ReportMetric(float64(used.Microseconds())/1000/float64(b.N), "cpu-ms/run")
}
