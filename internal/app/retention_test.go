package app

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	"entgo.io/ent/dialect"

	"github.com/estateflow/estateflow/ent/run"
	"github.com/estateflow/estateflow/tenant"
)

// TestEventRetentionSetting: an ADMIN sets and clears the organization's
// event retention through updateOrganization; values out of range are
// refused with BAD_USER_INPUT naming the field.
func TestEventRetentionSetting(t *testing.T) {
	t.Parallel()
	api := newTestAPI(t, testOptions{})
	const set = `mutation($in: UpdateOrganizationInput!) { updateOrganization(input: $in) { eventRetentionDays } }`
	for _, bad := range []int{0, -3, 36501} {
		api.do(set, map[string]any{"in": map[string]any{"eventRetentionDays": bad}}).
			wantError(t, "BAD_USER_INPUT", "input.eventRetentionDays")
	}
	var out struct {
		UpdateOrganization struct{ EventRetentionDays *int } `json:"updateOrganization"`
	}
	api.do(set, map[string]any{"in": map[string]any{"eventRetentionDays": 30}}).ok(t, &out)
	if out.UpdateOrganization.EventRetentionDays == nil || *out.UpdateOrganization.EventRetentionDays != 30 {
		t.Fatalf("eventRetentionDays = %v, want 30", out.UpdateOrganization.EventRetentionDays)
	}
	api.do(set, map[string]any{"in": map[string]any{"clearEventRetentionDays": true}}).ok(t, &out)
	if out.UpdateOrganization.EventRetentionDays != nil {
		t.Fatalf("eventRetentionDays = %v after clearing, want null", *out.UpdateOrganization.EventRetentionDays)
	}
}

// TestEventRetentionCompactsOldRuns: with a retention of 30 days, a real
// New Listing run that finished 31 days ago loses its progress events to
// EVENTS_COMPACTED markers, which the API shows with compactedThrough; a
// run that finished today keeps exactly seqs 1..N.
func TestEventRetentionCompactsOldRuns(t *testing.T) {
	t.Parallel()
	api := newTestAPI(t, testOptions{demo: true, config: compactByHand})
	api.do(`mutation { updateOrganization(input: {eventRetentionDays: 30}) { id } }`, nil).ok(t, nil)
	prop, pkg := api.activeListingAndNewListing(t)
	startOne := func() int {
		var started struct {
			StartRun struct{ ID string } `json:"startRun"`
		}
		api.do(`mutation($pkg: ID!, $prop: ID!) { startRun(input: {packageId: $pkg, propertyId: $prop, params: {listingStartDate: "2026-11-21"}}) { id } }`,
			map[string]any{"pkg": pkg, "prop": prop}).ok(t, &started)
		id := mustInt(t, started.StartRun.ID)
		if r := api.waitRun(t, id); r.Status != run.StatusSUCCEEDED {
			t.Fatalf("run %d ended %s", id, r.Status)
		}
		return id
	}
	old, recent := startOne(), startOne()
	sys := tenant.SystemContext(context.Background())
	if err := api.ent().Run.UpdateOneID(old).SetFinishedAt(time.Now().Add(-31 * 24 * time.Hour)).Exec(sys); err != nil {
		t.Fatal(err)
	}
	before := api.storedEvents(t, old)
	progress := 0
	for _, ev := range before {
		if ev.Type == "STEP_PROGRESS" {
			progress++
		}
	}
	if progress == 0 {
		t.Fatal("the New Listing run reported no progress: nothing to compact")
	}
	recentBefore := api.storedEvents(t, recent)

	got, err := api.engine.CompactEvents(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if got.Runs != 1 || got.Removed != progress {
		t.Fatalf("compaction %+v, want the old run's %d progress events", got, progress)
	}
	after := api.storedEvents(t, old)
	next := 1
	markers := 0
	for _, ev := range after {
		if ev.Seq != next {
			t.Fatalf("old run: seq %d where %d was due: %+v", ev.Seq, next, after)
		}
		next = ev.Seq + 1
		switch ev.Type {
		case "STEP_PROGRESS":
			t.Fatalf("a progress event survived: %+v", ev)
		case "EVENTS_COMPACTED":
			markers++
			if ev.CompactedThrough == nil || *ev.CompactedThrough < ev.Seq {
				t.Fatalf("marker without its range: %+v", ev)
			}
			next = *ev.CompactedThrough + 1
		}
	}
	if markers == 0 || next != len(before)+1 {
		t.Fatalf("%d markers; the log accounts for seqs up to %d of %d", markers, next-1, len(before))
	}
	recentAfter := api.storedEvents(t, recent)
	if len(recentAfter) != len(recentBefore) {
		t.Fatalf("the recent run's log went from %d to %d events", len(recentBefore), len(recentAfter))
	}
	for i, ev := range recentAfter {
		if ev.Seq != i+1 || ev.Type == "EVENTS_COMPACTED" {
			t.Fatalf("the recent run's log is not 1..N: %+v", recentAfter)
		}
	}
}

// compactByHand leaves compaction to the test: the background loop's
// first pass, at start, finds nothing, and the next is an hour away.
func compactByHand(c *Config) { c.RetentionInterval = time.Hour }

type storedEvent struct {
	Seq              int
	Type             string
	CompactedThrough *int `json:"compactedThrough"`
}

// storedEvents reads a run's log through the API, in seq order.
func (a *testAPI) storedEvents(t testing.TB, runID int) []storedEvent {
	t.Helper()
	var out struct {
		Node struct {
			Events struct {
				Edges []struct {
					Node storedEvent `json:"node"`
				} `json:"edges"`
			} `json:"events"`
		} `json:"node"`
	}
	a.do(`query($id: ID!) { node(id: $id) { ... on Run { events(first: 100, orderBy: {field: SEQ}) { edges { node { seq type compactedThrough } } } } } }`,
		map[string]any{"id": strconv.Itoa(runID)}).ok(t, &out)
	evs := make([]storedEvent, len(out.Node.Events.Edges))
	for i, e := range out.Node.Events.Edges {
		evs[i] = e.Node
	}
	return evs
}

// compactRunsEnv sets how many real New Listing runs
// BenchmarkCompactionBytes executes (default 10).
const compactRunsEnv = "ESTATEFLOW_BENCH_COMPACT_RUNS"

// BenchmarkCompactionBytes measures the storage of real New Listing runs
// (runs, steps, events and their effects, with indexes), in bytes per run,
// before and after the event retention compacts them. Progress is written
// at the production interval (250ms). SQLite: the file's pages after
// VACUUM; PostgreSQL: pg_total_relation_size of the history tables after
// VACUUM FULL (in the benchmark's own schema). The timing is meaningless;
// read the bytes/run metrics.
//
//	ESTATEFLOW_BENCH_COMPACT_RUNS=20 go test ./internal/app -run '^$' -bench CompactionBytes -benchtime 1x
func BenchmarkCompactionBytes(b *testing.B) {
	n := 10
	if s := os.Getenv(compactRunsEnv); s != "" {
		v, err := strconv.Atoi(s)
		if err != nil || v < 1 {
			b.Fatalf("%s=%q: want a positive number of runs", compactRunsEnv, s)
		}
		n = v
	}
	api := newTestAPI(b, testOptions{demo: true, progressInterval: 250 * time.Millisecond, config: compactByHand})
	api.do(`mutation { updateOrganization(input: {eventRetentionDays: 1}) { id } }`, nil).ok(b, nil)
	prop, pkg := api.activeListingAndNewListingTB(b)
	empty := historyBytes(b, api)
	ids := make([]int, n)
	for i := range ids {
		var started struct {
			StartRun struct{ ID string } `json:"startRun"`
		}
		api.do(`mutation($pkg: ID!, $prop: ID!) { startRun(input: {packageId: $pkg, propertyId: $prop, params: {listingStartDate: "2026-11-21"}}) { id } }`,
			map[string]any{"pkg": pkg, "prop": prop}).ok(b, &started)
		id, err := strconv.Atoi(started.StartRun.ID)
		if err != nil {
			b.Fatal(err)
		}
		ids[i] = id
	}
	sys := tenant.SystemContext(context.Background())
	for _, id := range ids {
		if r := api.waitRun(b, id); r.Status != run.StatusSUCCEEDED {
			b.Fatalf("run %d ended %s", id, r.Status)
		}
	}
	if err := api.ent().Run.Update().Where(run.IDIn(ids...)).SetFinishedAt(time.Now().Add(-48 * time.Hour)).Exec(sys); err != nil {
		b.Fatal(err)
	}
	full := historyBytes(b, api)
	b.ResetTimer()
	got, err := api.engine.CompactEvents(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	if got.Runs != n {
		b.Fatalf("compacted %d runs of %d", got.Runs, n)
	}
	compacted := historyBytes(b, api)
	before, after := float64(full-empty)/float64(n), float64(compacted-empty)/float64(n)
	b.ReportMetric(before, "bytes/run-before")
	b.ReportMetric(after, "bytes/run-after")
	b.ReportMetric(float64(got.Removed)/float64(n), "events-removed/run")
	b.Logf("%s: %d runs; %.0f bytes/run before compaction, %.0f after (%.0f%%); %d progress events removed, %d markers",
		api.db.Dialect, n, before, after, 100*after/before, got.Removed, got.Markers)
}

// historyBytes is the storage the history tables take: on SQLite the whole
// file after VACUUM, on PostgreSQL their total relation size after VACUUM
// FULL.
func historyBytes(b *testing.B, api *testAPI) int64 {
	b.Helper()
	db := api.db.SQL
	if api.db.Dialect == dialect.Postgres {
		var total int64
		for _, table := range []string{"runs", "step_runs", "run_events", "tasks", "email_messages", "scheduled_posts", "lead_score_records"} {
			if _, err := db.Exec("VACUUM FULL " + table); err != nil {
				b.Fatal(err)
			}
			var size int64
			if err := db.QueryRow(fmt.Sprintf("SELECT pg_total_relation_size('%s')", table)).Scan(&size); err != nil {
				b.Fatal(err)
			}
			total += size
		}
		return total
	}
	if _, err := db.Exec("VACUUM"); err != nil {
		b.Fatal(err)
	}
	var pages, pageSize int64
	if err := db.QueryRow("PRAGMA page_count").Scan(&pages); err != nil {
		b.Fatal(err)
	}
	if err := db.QueryRow("PRAGMA page_size").Scan(&pageSize); err != nil {
		b.Fatal(err)
	}
	return pages * pageSize
}
