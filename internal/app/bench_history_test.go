package app

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"strconv"
	"testing"
	"time"

	"entgo.io/ent/dialect"

	"github.com/estateflow/estateflow/ent"
	"github.com/estateflow/estateflow/ent/property"
	"github.com/estateflow/estateflow/ent/run"
	"github.com/estateflow/estateflow/ent/runevent"
	"github.com/estateflow/estateflow/ent/steprun"
	"github.com/estateflow/estateflow/tenant"
)

// historyRunsEnv sets how many runs BenchmarkPropertiesWithRunCounts/history
// writes before it measures (default 2,000, small for CI). At 100,000 the
// bulk write alone takes well over 10 minutes on a loaded 2-core machine:
// give -timeout.
const historyRunsEnv = "ESTATEFLOW_BENCH_HISTORY_RUNS"

// propertiesQuery is the list the issue measures: a page of properties,
// each with the count of its runs.
const propertiesQuery = `{ properties(first: 50) { edges { node { id address status runs(first: 10) { totalCount } } } } }`

// BenchmarkPropertiesWithRunCounts measures the throughput of
// properties(first: 50) with each property's run count, over HTTP with 20
// concurrent clients (as in the issue), on the demo data with no runs
// (fresh) and after a history of runs (history); the goal is history within
// 1.5 times fresh.
//
// The history is written in bulk through ent, each run shaped like a real
// New Listing run: the test first executes one for real, then copies its
// steps (with their outputs) and its events onto runs of the demo
// properties, finished over the past year.
//
// The three rounds of each give the median.
//
//	ESTATEFLOW_BENCH_HISTORY_RUNS=100000 go test ./internal/app -run '^$' -bench PropertiesWithRunCounts -benchtime 2000x -timeout 90m
func BenchmarkPropertiesWithRunCounts(b *testing.B) {
	n := 2000
	if s := os.Getenv(historyRunsEnv); s != "" {
		v, err := strconv.Atoi(s)
		if err != nil || v < 1 {
			b.Fatalf("%s=%q: want a positive number of runs", historyRunsEnv, s)
		}
		n = v
	}
	// Both databases are set up once (the history takes minutes at
	// 100,000 runs); the rounds then alternate between them, so that a
	// change in the machine's load falls on both alike.
	fresh := newTestAPI(b, testOptions{demo: true})
	history := newTestAPI(b, testOptions{demo: true})
	started := time.Now()
	writeHistory(b, history, n)
	b.Logf("wrote %d runs of history in %s", n, time.Since(started).Round(time.Millisecond))
	for round := 1; round <= 3; round++ {
		b.Run(fmt.Sprintf("fresh/round%d", round), func(b *testing.B) { benchPropertiesQuery(b, fresh) })
		b.Run(fmt.Sprintf("history/round%d", round), func(b *testing.B) { benchPropertiesQuery(b, history) })
	}
}

func benchPropertiesQuery(b *testing.B, api *testAPI) {
	body, err := json.Marshal(map[string]any{"query": propertiesQuery})
	if err != nil {
		b.Fatal(err)
	}
	// One request first, so that the check is outside the timing.
	checkPropertiesResponse(b, api, body)
	b.SetParallelism(10) // 20 clients on 2 CPUs
	b.ResetTimer()
	started := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			req, err := http.NewRequest(http.MethodPost, api.srv.URL+"/graphql", bytes.NewReader(body))
			if err != nil {
				b.Error(err)
				return
			}
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Authorization", "Bearer "+api.token)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				b.Error(err)
				return
			}
			var out gqlResponse
			err = json.NewDecoder(resp.Body).Decode(&out)
			resp.Body.Close()
			if err != nil || resp.StatusCode != http.StatusOK || len(out.Errors) > 0 {
				b.Errorf("status %d, errors %+v, decoding: %v", resp.StatusCode, out.Errors, err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(started).Seconds(), "req/s")
}

func checkPropertiesResponse(b *testing.B, api *testAPI, body []byte) {
	b.Helper()
	r := api.postWith(b, api.token, "application/json", body)
	var data struct {
		Properties struct {
			Edges []struct {
				Node struct {
					Runs struct{ TotalCount int } `json:"runs"`
				} `json:"node"`
			} `json:"edges"`
		} `json:"properties"`
	}
	r.ok(b, &data)
	total := 0
	for _, e := range data.Properties.Edges {
		total += e.Node.Runs.TotalCount
	}
	if len(data.Properties.Edges) != 50 {
		b.Fatalf("%d properties listed, want 50", len(data.Properties.Edges))
	}
	b.Logf("the page's properties have %d runs in all", total)
}

// writeHistory runs one real New Listing, then writes n runs shaped like
// it, in bulk, spread over the organization's properties and the past year.
func writeHistory(b *testing.B, api *testAPI, n int) {
	b.Helper()
	prop, pkg := api.activeListingAndNewListingTB(b)
	var started struct {
		StartRun struct{ ID string } `json:"startRun"`
	}
	api.do(`mutation($pkg: ID!, $prop: ID!) { startRun(input: {packageId: $pkg, propertyId: $prop, params: {listingStartDate: "2026-11-21"}}) { id } }`,
		map[string]any{"pkg": pkg, "prop": prop}).ok(b, &started)
	id, err := strconv.Atoi(started.StartRun.ID)
	if err != nil {
		b.Fatal(err)
	}
	model := api.waitRun(b, id)
	if model.Status != run.StatusSUCCEEDED {
		b.Fatalf("the model run ended %s", model.Status)
	}
	ctx := tenant.SystemContext(context.Background())
	db := api.ent()
	steps, err := db.StepRun.Query().Where(steprun.RunID(id)).Order(steprun.ByPosition()).All(ctx)
	if err != nil {
		b.Fatal(err)
	}
	events, err := db.RunEvent.Query().Where(runevent.RunID(id)).Order(runevent.BySeq()).All(ctx)
	if err != nil {
		b.Fatal(err)
	}
	props, err := db.Property.Query().Where(property.OrganizationID(api.orgID)).IDs(ctx)
	if err != nil {
		b.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	now := time.Now()
	const batch = 250
	for done := 0; done < n; done += batch {
		size := min(batch, n-done)
		tx, err := db.Tx(ctx)
		if err != nil {
			b.Fatal(err)
		}
		runs := make([]*ent.RunCreate, size)
		finished := make([]time.Time, size)
		for i := range runs {
			finished[i] = now.Add(-time.Duration(rng.Int64N(int64(365 * 24 * time.Hour))))
			start := finished[i].Add(-model.FinishedAt.Sub(*model.StartedAt))
			runs[i] = tx.Run.Create().SetOrganizationID(api.orgID).SetPackageID(model.PackageID).
				SetPackageVersion(model.PackageVersion).SetPropertyID(props[rng.IntN(len(props))]).
				SetParams(model.Params).SetStatus(run.StatusSUCCEEDED).SetProgress(1).SetLastSeq(model.LastSeq).
				SetRequestHash(model.RequestHash).SetCreatedAt(start).SetUpdatedAt(finished[i]).
				SetStartedAt(start).SetFinishedAt(finished[i])
		}
		created, err := tx.Run.CreateBulk(runs...).Save(ctx)
		if err != nil {
			b.Fatal(err)
		}
		stepRows := make([]*ent.StepRunCreate, 0, size*len(steps))
		eventRows := make([]*ent.RunEventCreate, 0, size*len(events))
		for i, r := range created {
			shift := finished[i].Sub(*model.FinishedAt)
			for _, s := range steps {
				c := tx.StepRun.Create().SetOrganizationID(api.orgID).SetRunID(r.ID).SetKey(s.Key).SetName(s.Name).
					SetKind(s.Kind).SetDependsOn(s.DependsOn).SetConfig(s.Config).SetPosition(s.Position).
					SetStatus(s.Status).SetProgress(s.Progress).SetAttempt(s.Attempt).SetMessage(s.Message).
					SetOutput(s.Output).SetCreatedAt(s.CreatedAt.Add(shift)).SetUpdatedAt(s.UpdatedAt.Add(shift))
				if s.StartedAt != nil {
					c.SetStartedAt(s.StartedAt.Add(shift))
				}
				if s.FinishedAt != nil {
					c.SetFinishedAt(s.FinishedAt.Add(shift))
				}
				stepRows = append(stepRows, c)
			}
			for _, ev := range events {
				eventRows = append(eventRows, tx.RunEvent.Create().SetOrganizationID(api.orgID).SetRunID(r.ID).
					SetSeq(ev.Seq).SetType(ev.Type).SetNillableStepKey(ev.StepKey).SetStatus(ev.Status).
					SetProgress(ev.Progress).SetMessage(ev.Message).SetAt(ev.At.Add(shift)))
			}
		}
		for start := 0; start < len(stepRows); start += 500 {
			if err := tx.StepRun.CreateBulk(stepRows[start:min(start+500, len(stepRows))]...).Exec(ctx); err != nil {
				b.Fatal(err)
			}
		}
		for start := 0; start < len(eventRows); start += 1000 {
			if err := tx.RunEvent.CreateBulk(eventRows[start:min(start+1000, len(eventRows))]...).Exec(ctx); err != nil {
				b.Fatal(err)
			}
		}
		if err := tx.Commit(); err != nil {
			b.Fatal(err)
		}
	}
	if api.db.Dialect == dialect.Postgres {
		// As autovacuum would after such growth.
		if _, err := api.db.SQL.Exec("ANALYZE"); err != nil {
			b.Fatal(err)
		}
	}
}

// activeListingAndNewListingTB is activeListingAndNewListing for
// benchmarks.
func (a *testAPI) activeListingAndNewListingTB(tb testing.TB) (propertyID, packageID string) {
	tb.Helper()
	var setup struct {
		Properties struct {
			Edges []struct{ Node struct{ ID string } } `json:"edges"`
		} `json:"properties"`
		Packages struct {
			Edges []struct{ Node struct{ ID string } } `json:"edges"`
		} `json:"packages"`
	}
	a.do(`{ properties(first: 1, where: {status: ACTIVE}) { edges { node { id } } }
		packages(first: 1, where: {key: "new-listing"}) { edges { node { id } } } }`, nil).ok(tb, &setup)
	if len(setup.Properties.Edges) == 0 || len(setup.Packages.Edges) == 0 {
		tb.Fatal("the demo data has no ACTIVE property or no new-listing package")
	}
	return setup.Properties.Edges[0].Node.ID, setup.Packages.Edges[0].Node.ID
}
