package engine_test

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverdatabasesql"

	"github.com/estateflow/estateflow/database"
	"github.com/estateflow/estateflow/engine"
	"github.com/estateflow/estateflow/ent/schema/stepkind"
)

// The replica benchmarks run on PostgreSQL only. A replica here is an
// engine with its own connection pool, River client and listeners, as a
// process would have; they share the machine's 2 cores either way.

// BenchmarkReplicas measures 4-step runs with no-op executors, started on
// the first replica (100 at a time) and executed through River by all.
func BenchmarkReplicas(b *testing.B) {
	for _, replicas := range []int{1, 2} {
		b.Run(fmt.Sprintf("replicas=%d", replicas), func(b *testing.B) {
			f, dsn := benchFixture(b, true)
			engines := make([]*engine.Engine, replicas)
			for i := range engines {
				db := f.db
				if i > 0 {
					var err error
					if db, err = database.Open(context.Background(), dsn, database.Options{MaxConns: 40}); err != nil {
						b.Fatal(err)
					}
					defer db.Close()
				}
				cfg := engine.Config{Dialect: db.Dialect, SubscriberBuffer: 1024, ListenDSN: dsn, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
					River: &engine.RiverConfig{DB: db.SQL, ClientOnTx: db.ClientOnTx, ListenerDSN: dsn, ID: fmt.Sprintf("replica-%d", i)}}
				e := engine.New(db.Client, cfg)
				for _, k := range []stepkind.Kind{stepkind.CMAAnalysis, stepkind.ListingStrategy, stepkind.MarketingCampaign, stepkind.SocialScheduling} {
					e.Register(string(k), ok)
				}
				if err := e.Start(context.Background()); err != nil {
					b.Fatal(err)
				}
				defer e.Stop(context.Background())
				engines[i] = e
			}
			p := benchPackage(b, f)
			waiter := newCompletionWaiter(b, engines[0], f)
			defer waiter.close()
			b.ResetTimer()
			start := time.Now()
			parallel(b.N, 100, func() error {
				r, err := engines[0].StartRun(f.ctx, engine.StartRequest{PackageID: p.ID, PropertyID: &f.property.ID})
				if err != nil {
					return err
				}
				return waiter.wait(r.ID)
			}, b)
			elapsed := time.Since(start).Seconds()
			b.ReportMetric(float64(b.N)/elapsed, "runs/s")
			b.ReportMetric(float64(4*b.N)/elapsed, "steps/s")
		})
	}
}

// benchNoopArgs is a trivial job for River's raw throughput.
type benchNoopArgs struct{}

func (benchNoopArgs) Kind() string { return "bench_noop" }

// BenchmarkRiverRaw is River's own ceiling on this database: a plain River
// client inserting trivial jobs one at a time (100 inserters) and working
// them with a no-op worker, from the first insert to the last completion.
func BenchmarkRiverRaw(b *testing.B) {
	f, dsn := benchFixture(b, true)
	var worked atomic.Int64
	done := make(chan struct{})
	target := int64(b.N)
	workers := river.NewWorkers()
	river.AddWorker(workers, river.WorkFunc(func(ctx context.Context, job *river.Job[benchNoopArgs]) error {
		if worked.Add(1) == target {
			close(done)
		}
		return nil
	}))
	client := newBenchRiverClient(b, f.db.SQL, dsn, workers)
	b.ResetTimer()
	start := time.Now()
	parallel(b.N, 100, func() error {
		_, err := client.Insert(context.Background(), benchNoopArgs{}, nil)
		return err
	}, b)
	select {
	case <-done:
	case <-time.After(2 * time.Minute):
		b.Fatalf("%d of %d jobs worked", worked.Load(), b.N)
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "jobs/s")
}

func newBenchRiverClient(b *testing.B, db *sql.DB, listenDSN string, workers *river.Workers) *river.Client[*sql.Tx] {
	b.Helper()
	driver := riverdatabasesql.New(db)
	poll := 100 * time.Millisecond
	if listenDSN != "" {
		pcfg, err := pgxpool.ParseConfig(listenDSN)
		if err != nil {
			b.Fatal(err)
		}
		pcfg.MinConns, pcfg.MaxConns = 0, 1
		pool, err := pgxpool.NewWithConfig(context.Background(), pcfg)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(pool.Close)
		driver = riverdatabasesql.NewWithPgxListener(db, pool)
		poll = time.Second
	}
	client, err := river.NewClient(driver, &river.Config{
		Queues:            map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: 32}},
		Workers:           workers,
		FetchCooldown:     10 * time.Millisecond,
		FetchPollInterval: poll,
		TestOnly:          true,
		Logger:            slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		b.Fatal(err)
	}
	if err := client.Start(context.Background()); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = client.Stop(context.Background()) })
	return client
}

// BenchmarkRiverPickup measures how long a step job committed by one
// process waits before another process starts working it, with River's
// two drivers as EstateFlow configures them: polling every 100 ms
// (riverdatabasesql alone) and LISTEN (riverdatabasesql with a pgx
// listener). Jobs are inserted one at a time, 20 ms apart.
func BenchmarkRiverPickup(b *testing.B) {
	for _, mode := range []string{"poll", "listen"} {
		b.Run(mode, func(b *testing.B) {
			f, dsn := benchFixture(b, true)
			// As the engine's client: it notifies at most once per
			// FetchCooldown.
			inserter, err := river.NewClient(riverdatabasesql.New(f.db.SQL), &river.Config{FetchCooldown: 10 * time.Millisecond,
				Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
			if err != nil {
				b.Fatal(err)
			}
			latencies := make(chan time.Duration, b.N)
			workers := river.NewWorkers()
			river.AddWorker(workers, river.WorkFunc(func(ctx context.Context, job *river.Job[benchPickupArgs]) error {
				latencies <- time.Since(time.Unix(0, job.Args.CommittedAt))
				return nil
			}))
			worker, err := database.Open(context.Background(), dsn, database.Options{MaxConns: 10})
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { worker.Close() }) // after the client, which Cleanup stops first
			listen := ""
			if mode == "listen" {
				listen = dsn
			}
			newBenchRiverClient(b, worker.SQL, listen, workers)
			b.ResetTimer()
			var all []time.Duration
			for range b.N {
				tx, err := f.db.SQL.Begin()
				if err != nil {
					b.Fatal(err)
				}
				// The commit time is approximated by the insert time; the
				// commit itself takes well under a millisecond here.
				if _, err := inserter.InsertTx(context.Background(), tx, benchPickupArgs{CommittedAt: time.Now().UnixNano()}, nil); err != nil {
					b.Fatal(err)
				}
				if err := tx.Commit(); err != nil {
					b.Fatal(err)
				}
				select {
				case d := <-latencies:
					all = append(all, d)
				case <-time.After(10 * time.Second):
					b.Fatal("job not picked up")
				}
				time.Sleep(20 * time.Millisecond)
			}
			sort.Slice(all, func(i, j int) bool { return all[i] < all[j] })
			b.ReportMetric(float64(all[len(all)/2].Microseconds())/1000, "p50-ms")
			b.ReportMetric(float64(all[len(all)*99/100].Microseconds())/1000, "p99-ms")
		})
	}
}

type benchPickupArgs struct {
	CommittedAt int64 `json:"committed_at"`
}

func (benchPickupArgs) Kind() string { return "bench_pickup" }

// BenchmarkCommitCeiling is the database's commit ceiling as pgbench
// measures it: one-row insert transactions from 16 clients for 10 s
// (skipped without pgbench). b.N is ignored; pgbench runs once.
func BenchmarkCommitCeiling(b *testing.B) {
	f, dsn := benchFixture(b, true)
	pgbench, err := exec.LookPath("pgbench")
	if err != nil {
		b.Skip("pgbench is not installed")
	}
	if _, err := f.db.SQL.Exec(`CREATE TABLE pgbench_commit (id bigserial PRIMARY KEY, v int NOT NULL)`); err != nil {
		b.Fatal(err)
	}
	var schema string
	if err := f.db.SQL.QueryRow(`SELECT current_schema()`).Scan(&schema); err != nil {
		b.Fatal(err)
	}
	// libpq does not know lib/pq's search_path parameter: qualify instead.
	u, err := url.Parse(dsn)
	if err != nil {
		b.Fatal(err)
	}
	q := u.Query()
	q.Del("search_path")
	u.RawQuery = q.Encode()
	script := filepath.Join(b.TempDir(), "insert.sql")
	if err := os.WriteFile(script, []byte("INSERT INTO "+schema+".pgbench_commit (v) VALUES (1);\n"), 0o644); err != nil {
		b.Fatal(err)
	}
	var once sync.Once
	var tps float64
	for range b.N {
		once.Do(func() {
			out, err := exec.Command(pgbench, "-n", "-f", script, "-c", "16", "-j", "2", "-T", "10", u.String()).CombinedOutput()
			if err != nil {
				b.Fatalf("pgbench: %v\n%s", err, out)
			}
			m := regexp.MustCompile(`tps = ([0-9.]+)`).FindSubmatch(out)
			if m == nil {
				b.Fatalf("pgbench printed no tps:\n%s", out)
			}
			tps, _ = strconv.ParseFloat(string(m[1]), 64)
		})
	}
	b.ReportMetric(tps, "commits/s")
}
