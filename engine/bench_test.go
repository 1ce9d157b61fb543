package engine_test

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/estateflow/estateflow/database"
	"github.com/estateflow/estateflow/engine"
	"github.com/estateflow/estateflow/ent"
	"github.com/estateflow/estateflow/ent/interaction"
	"github.com/estateflow/estateflow/ent/run"
	"github.com/estateflow/estateflow/ent/schema/stepkind"
	"github.com/estateflow/estateflow/internal/testdb"
)

// benchFixture builds a fixture for a benchmark on SQLite or PostgreSQL.
// benchFixture returns a fixture and its database's address.
func benchFixture(b *testing.B, postgres bool) (*fixture, string) {
	b.Helper()
	if postgres && os.Getenv(testdb.EnvURL) == "" {
		b.Skip("PostgreSQL benchmark: set " + testdb.EnvURL)
	}
	if !postgres {
		// The SQLite variant runs even when the suite targets PostgreSQL.
		b.Setenv(testdb.EnvURL, "")
	}
	db, dsn := testdb.OpenURL(b, database.Options{MaxConns: 40}) // as in production
	return fixtureOn(b, db), dsn
}

// dialects are the databases the benchmarks run on; fanout adds the
// NOTIFY per transaction and a LISTEN connection that several processes
// on one PostgreSQL need.
var dialects = []struct {
	name             string
	postgres, fanout bool
}{{"sqlite", false, false}, {"postgres", true, false}, {"postgres+fanout", true, true}}

// BenchmarkCommitBaseline is the raw commit rate of the database: a loop
// of one-row insert transactions, the floor under every engine figure.
func BenchmarkCommitBaseline(b *testing.B) {
	for _, d := range dialects {
		b.Run(d.name, func(b *testing.B) {
			if d.fanout {
				b.Skip("the commit baseline has no events to announce")
			}
			f, _ := benchFixture(b, d.postgres)
			for _, conc := range []int{1, 100} {
				b.Run(fmt.Sprintf("concurrency=%d", conc), func(b *testing.B) {
					b.ResetTimer()
					start := time.Now()
					parallel(b.N, conc, func() error {
						tx, err := f.db.Client.Tx(f.ctx)
						if err != nil {
							return err
						}
						if err := tx.Interaction.Create().SetClientID(f.client.ID).SetType(interaction.TypeCALL).Exec(f.ctx); err != nil {
							_ = tx.Rollback()
							return err
						}
						return tx.Commit()
					}, b)
					b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "commits/s")
				})
			}
		})
	}
}

// BenchmarkRunThroughput measures end-to-end throughput of 4-step runs with
// no-op executors: from startRun to the run's SUCCEEDED commit.
func BenchmarkRunThroughput(b *testing.B) {
	for _, d := range dialects {
		b.Run(d.name, func(b *testing.B) {
			f, dsn := benchFixture(b, d.postgres)
			// Production defaults, but for a deep buffer for the benchmark's own
			// organization-wide subscription, which must see every completion.
			cfg := engine.Config{Dialect: f.db.Dialect, SubscriberBuffer: 1024}
			if d.fanout {
				cfg.ListenDSN = dsn
			}
			e := engine.New(f.db.Client, cfg)
			for _, k := range []stepkind.Kind{stepkind.CMAAnalysis, stepkind.ListingStrategy, stepkind.MarketingCampaign, stepkind.SocialScheduling} {
				e.Register(string(k), ok)
			}
			if err := e.Start(context.Background()); err != nil {
				b.Fatal(err)
			}
			defer e.Stop(context.Background())
			p := benchPackage(b, f)
			waiter := newCompletionWaiter(b, e, f)
			defer waiter.close()
			for _, conc := range []int{1, 100} {
				b.Run(fmt.Sprintf("concurrency=%d", conc), func(b *testing.B) {
					b.ResetTimer()
					start := time.Now()
					parallel(b.N, conc, func() error {
						r, err := e.StartRun(f.ctx, engine.StartRequest{PackageID: p.ID, PropertyID: &f.property.ID})
						if err != nil {
							return err
						}
						return waiter.wait(r.ID)
					}, b)
					b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "runs/s")
				})
			}
		})
	}
}

func benchPackage(b *testing.B, f *fixture) *ent.WorkflowPackage {
	p, err := f.db.Client.WorkflowPackage.Create().SetKey("bench").SetName("Bench").SetSubject(stepkind.SubjectProperty).Save(f.ctx)
	if err != nil {
		b.Fatal(err)
	}
	prev := []string{}
	for i, k := range []stepkind.Kind{stepkind.CMAAnalysis, stepkind.ListingStrategy, stepkind.MarketingCampaign, stepkind.SocialScheduling} {
		key := fmt.Sprintf("s%d", i)
		if err := f.db.Client.PackageStep.Create().SetPackageID(p.ID).SetKey(key).SetName(key).SetKind(k).SetDependsOn(prev).SetPosition(i).Exec(f.ctx); err != nil {
			b.Fatal(err)
		}
		prev = []string{key}
	}
	return p
}

// completionWaiter turns the organization's run updates into per-run
// completion signals.
type completionWaiter struct {
	mu      sync.Mutex
	done    map[int]bool
	waiting map[int]chan struct{}
	cancel  context.CancelFunc
	stopped chan struct{}
}

func newCompletionWaiter(b *testing.B, e *engine.Engine, f *fixture) *completionWaiter {
	ctx, cancel := context.WithCancel(f.ctx)
	updates, err := e.RunsUpdates(ctx, f.orgID, []run.Status{run.StatusSUCCEEDED, run.StatusFAILED}, func(err error) {
		if err != nil {
			b.Errorf("completion stream ended: %v", err)
		}
	})
	if err != nil {
		b.Fatal(err)
	}
	w := &completionWaiter{done: map[int]bool{}, waiting: map[int]chan struct{}{}, cancel: cancel, stopped: make(chan struct{})}
	go func() {
		defer close(w.stopped)
		for r := range updates {
			w.mu.Lock()
			w.done[r.ID] = true
			if ch, ok := w.waiting[r.ID]; ok {
				close(ch)
				delete(w.waiting, r.ID)
			}
			w.mu.Unlock()
		}
	}()
	return w
}

func (w *completionWaiter) wait(runID int) error {
	w.mu.Lock()
	if w.done[runID] {
		delete(w.done, runID)
		w.mu.Unlock()
		return nil
	}
	ch := make(chan struct{})
	w.waiting[runID] = ch
	w.mu.Unlock()
	select {
	case <-ch:
		return nil
	case <-time.After(60 * time.Second):
		return fmt.Errorf("run %d did not finish", runID)
	}
}

func (w *completionWaiter) close() { w.cancel(); <-w.stopped }

// parallel runs fn n times on conc goroutines.
func parallel(n, conc int, fn func() error, b *testing.B) {
	var wg sync.WaitGroup
	work := make(chan struct{}, n)
	for range n {
		work <- struct{}{}
	}
	close(work)
	for range min(conc, n) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range work {
				if err := fn(); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
}

// BenchmarkSubscriberHeap measures the heap one idle runEvents subscription
// holds in the engine (its buffer, its state and its stream).
func BenchmarkSubscriberHeap(b *testing.B) {
	f, _ := benchFixture(b, false)
	g := gated{next: make(chan struct{})}
	e := engine.New(f.db.Client, engine.Config{Dialect: f.db.Dialect})
	e.Register(string(stepkind.CMAAnalysis), g)
	if err := e.Start(context.Background()); err != nil {
		b.Fatal(err)
	}
	defer e.Stop(context.Background())
	p, err := f.db.Client.WorkflowPackage.Create().SetKey("h").SetName("H").SetSubject(stepkind.SubjectProperty).Save(f.ctx)
	if err != nil {
		b.Fatal(err)
	}
	if err := f.db.Client.PackageStep.Create().SetPackageID(p.ID).SetKey("cma").SetName("cma").SetKind(stepkind.CMAAnalysis).SetPosition(0).Exec(f.ctx); err != nil {
		b.Fatal(err)
	}
	r, err := e.StartRun(f.ctx, engine.StartRequest{PackageID: p.ID, PropertyID: &f.property.ID})
	if err != nil {
		b.Fatal(err)
	}
	const subscribers = 1000
	for b.Loop() {
		before := heapInUse()
		ctx, cancel := context.WithCancel(f.ctx)
		var chans []<-chan *ent.RunEvent
		for range subscribers {
			ch, err := e.RunEvents(ctx, r.ID, 1<<30, nil)
			if err != nil {
				b.Fatal(err)
			}
			chans = append(chans, ch)
		}
		time.Sleep(50 * time.Millisecond) // let every stream settle into waiting
		after := heapInUse()
		b.ReportMetric(float64(after-before)/subscribers, "heap-bytes/subscriber")
		cancel()
		for _, ch := range chans {
			for range ch {
			}
		}
	}
	close(g.next)
}

func heapInUse() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapInuse
}
