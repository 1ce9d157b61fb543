package engine_test

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/estateflow/estateflow/engine"
	"github.com/estateflow/estateflow/ent/run"
	"github.com/estateflow/estateflow/ent/schema/stepkind"
)

// BenchmarkRunsUpdatedFanout measures what a delivered runsUpdated message
// costs the process: N in-process subscribers of the organization's
// runsUpdated, and per iteration one 4-step no-op run, which ends once every
// subscriber has received its terminal state. ns/msg is the wall time per
// message delivered to a subscriber (the process's 2 cores are the budget),
// allocs/msg the heap allocations per message; msgs/run how many states
// each subscriber got per run (coalescing lowers it). Only the engine is
// measured: no GraphQL, no websocket.
func BenchmarkRunsUpdatedFanout(b *testing.B) {
	for _, subscribers := range []int{1000, 10000} {
		b.Run(fmt.Sprintf("subscribers=%d", subscribers), func(b *testing.B) {
			f, _ := benchFixture(b, false)
			e := engine.New(f.db.Client, engine.Config{Dialect: f.db.Dialect})
			for _, k := range []stepkind.Kind{stepkind.CMAAnalysis, stepkind.ListingStrategy, stepkind.MarketingCampaign, stepkind.SocialScheduling} {
				e.Register(string(k), ok)
			}
			if err := e.Start(context.Background()); err != nil {
				b.Fatal(err)
			}
			defer e.Stop(context.Background())
			p := benchPackage(b, f)

			ctx, cancel := context.WithCancel(f.ctx)
			var delivered atomic.Int64
			var lost atomic.Int64
			terminal := make(chan struct{}, subscribers)
			var readers sync.WaitGroup
			for range subscribers {
				ch, err := e.RunsUpdates(ctx, f.orgID, nil, func(err error) {
					if err != nil {
						lost.Add(1)
					}
				})
				if err != nil {
					b.Fatal(err)
				}
				readers.Add(1)
				go func() {
					defer readers.Done()
					for r := range ch {
						delivered.Add(1)
						if r.Status == run.StatusSUCCEEDED {
							terminal <- struct{}{}
						}
					}
				}()
			}
			defer func() {
				cancel()
				readers.Wait()
			}()

			runtime.GC()
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			b.ResetTimer()
			start := time.Now()
			for range b.N {
				if _, err := e.StartRun(f.ctx, engine.StartRequest{PackageID: p.ID, PropertyID: &f.property.ID}); err != nil {
					b.Fatal(err)
				}
				for range subscribers {
					select {
					case <-terminal:
					case <-time.After(5 * time.Minute):
						b.Fatalf("subscribers got %d messages; %d dropped; not every terminal state arrived", delivered.Load(), lost.Load())
					}
				}
			}
			elapsed := time.Since(start)
			b.StopTimer()
			runtime.ReadMemStats(&after)
			if n := lost.Load(); n > 0 {
				b.Fatalf("%d subscribers were dropped", n)
			}
			msgs := float64(delivered.Load())
			b.ReportMetric(float64(elapsed.Nanoseconds())/msgs, "ns/msg")
			b.ReportMetric(float64(after.Mallocs-before.Mallocs)/msgs, "allocs/msg")
			b.ReportMetric(msgs/float64(b.N*subscribers), "msgs/run")
		})
	}
}
