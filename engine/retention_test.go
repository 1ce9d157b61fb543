package engine_test

import (
	"context"
	"testing"
	"time"

	"github.com/estateflow/estateflow/engine"
	"github.com/estateflow/estateflow/ent"
	"github.com/estateflow/estateflow/ent/run"
	"github.com/estateflow/estateflow/ent/runevent"
	"github.com/estateflow/estateflow/ent/schema/stepkind"
	"github.com/estateflow/estateflow/tenant"
)

// chatty reports progress several times before it succeeds, each report
// written (ProgressInterval is 1ms in these tests) before the next.
var chatty = engine.ExecutorFunc(func(ctx context.Context, sc *engine.StepContext) (any, error) {
	for i := 1; i <= 4; i++ {
		sc.Progress(float64(i)/5, "working")
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(10 * time.Millisecond):
		}
	}
	return map[string]any{"step": sc.StepKey}, nil
})

// TestCompactEvents compacts an old run's progress events and leaves a
// recent run's log alone: every transition and outcome stays, each range of
// progress events becomes one marker, and the log still accounts for every
// seq, in the database and in a replay.
func TestCompactEvents(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	var age time.Duration = 24 * time.Hour
	cfg := f.config()
	cfg.ProgressInterval = time.Millisecond
	cfg.RetentionInterval = time.Hour // the test calls CompactEvents itself
	cfg.Retention = func(context.Context) ([]engine.Retention, error) {
		return []engine.Retention{{OrgID: f.orgID, Age: age}}, nil
	}
	e := f.engine(cfg, map[stepkind.Kind]engine.Executor{stepkind.CMAAnalysis: chatty, stepkind.ListingStrategy: chatty})
	p := f.pkg(stepkind.SubjectProperty,
		stepDef{key: "a", kind: stepkind.CMAAnalysis},
		stepDef{key: "b", kind: stepkind.ListingStrategy},
		stepDef{key: "c", kind: stepkind.CMAAnalysis, deps: []string{"a", "b"}})
	old := f.wait(f.start(e, p).ID, run.StatusSUCCEEDED)
	recent := f.wait(f.start(e, p).ID, run.StatusSUCCEEDED)
	sys := tenant.SystemContext(context.Background())
	// The old run finished two days ago.
	if err := f.db.Client.Run.UpdateOneID(old.ID).SetFinishedAt(time.Now().Add(-48 * time.Hour)).Exec(sys); err != nil {
		t.Fatal(err)
	}
	before := f.events(old.ID)
	recentBefore := f.events(recent.ID)
	progress := countEvents(before, runevent.TypeSTEP_PROGRESS, "")
	if progress < 3 {
		t.Fatalf("the old run has %d progress events; the test needs several", progress)
	}

	got, err := e.CompactEvents(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if got.Runs != 1 || got.Removed != progress || got.Markers == 0 || got.Markers > got.Removed {
		t.Fatalf("compaction %+v, want 1 run and %d progress events removed", got, progress)
	}
	after := f.events(old.ID) // checks that markers and events cover 1..last_seq
	if n := countEvents(after, runevent.TypeSTEP_PROGRESS, ""); n != 0 {
		t.Fatalf("%d progress events left", n)
	}
	if len(after) != len(before)-progress+got.Markers {
		t.Fatalf("%d events after compaction, want %d", len(after), len(before)-progress+got.Markers)
	}
	// Every other event is kept as it was, at its seq.
	kept := map[int]*ent.RunEvent{}
	for _, ev := range after {
		kept[ev.Seq] = ev
	}
	for _, ev := range before {
		if ev.Type == runevent.TypeSTEP_PROGRESS {
			m := markerCovering(after, ev.Seq)
			if m == nil {
				t.Fatalf("progress seq %d is covered by no marker", ev.Seq)
			}
			continue
		}
		k := kept[ev.Seq]
		if k == nil || k.Type != ev.Type || k.Status != ev.Status || k.Message != ev.Message {
			t.Fatalf("seq %d was %s %q, now %+v", ev.Seq, ev.Type, ev.Message, k)
		}
	}
	r, err := f.db.Client.Run.Get(f.ctx, old.ID)
	if err != nil {
		t.Fatal(err)
	}
	if r.CompactedAt == nil {
		t.Fatal("the compacted run has no compacted_at")
	}
	// The recent run is untouched: exactly 1..N, progress included.
	if recentAfter := f.events(recent.ID); len(recentAfter) != len(recentBefore) ||
		countEvents(recentAfter, runevent.TypeEVENTS_COMPACTED, "") != 0 {
		t.Fatalf("the recent run's log changed: %d events, was %d", len(recentAfter), len(recentBefore))
	}
	// A second pass finds nothing left to do.
	if again, err := e.CompactEvents(context.Background()); err != nil || again.Runs != 0 {
		t.Fatalf("second compaction: %+v, %v", again, err)
	}

	// A replay states what was compacted: the markers arrive in seq order,
	// and the seqs they cover with the events account for 1..last_seq.
	ch, err := e.RunEvents(f.ctx, old.ID, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	next := 1
	for ev := range ch {
		if ev.Seq != next {
			t.Fatalf("replay: seq %d after %d with no marker in between", ev.Seq, next-1)
		}
		next = ev.Seq + 1
		if ev.Type == runevent.TypeEVENTS_COMPACTED {
			if ev.CompactedThrough == nil || *ev.CompactedThrough < ev.Seq {
				t.Fatalf("replay: marker %+v", ev)
			}
			next = *ev.CompactedThrough + 1
		}
	}
	if next != r.LastSeq+1 {
		t.Fatalf("replay ended before seq %d of %d", next, r.LastSeq)
	}
}

// TestCompactEventsOnlyPastRetention leaves runs of organizations without
// a retention, and runs that finished within it, alone.
func TestCompactEventsOnlyPastRetention(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	other, err := f.db.Client.Organization.Create().SetName("Other Realty").SetSlug("other").Save(tenant.SystemContext(context.Background()))
	if err != nil {
		t.Fatal(err)
	}
	cfg := f.config()
	cfg.ProgressInterval = time.Millisecond
	cfg.RetentionInterval = time.Hour
	cfg.Retention = func(context.Context) ([]engine.Retention, error) {
		return []engine.Retention{{OrgID: other.ID, Age: time.Hour}, {OrgID: f.orgID, Age: 72 * time.Hour}}, nil
	}
	e := f.engine(cfg, map[stepkind.Kind]engine.Executor{stepkind.CMAAnalysis: chatty})
	p := f.pkg(stepkind.SubjectProperty, stepDef{key: "a", kind: stepkind.CMAAnalysis})
	r := f.wait(f.start(e, p).ID, run.StatusSUCCEEDED)
	// Finished two days ago: within this organization's three days.
	if err := f.db.Client.Run.UpdateOneID(r.ID).SetFinishedAt(time.Now().Add(-48 * time.Hour)).Exec(tenant.SystemContext(context.Background())); err != nil {
		t.Fatal(err)
	}
	got, err := e.CompactEvents(context.Background())
	if err != nil || got.Runs != 0 {
		t.Fatalf("compaction %+v, %v; want nothing compacted", got, err)
	}
	if evs := f.events(r.ID); countEvents(evs, runevent.TypeSTEP_PROGRESS, "") == 0 {
		t.Fatal("progress events are gone")
	}
}

// markerCovering is the EVENTS_COMPACTED event whose range holds seq.
func markerCovering(evs []*ent.RunEvent, seq int) *ent.RunEvent {
	for _, ev := range evs {
		if ev.Type == runevent.TypeEVENTS_COMPACTED && ev.CompactedThrough != nil && ev.Seq <= seq && seq <= *ev.CompactedThrough {
			return ev
		}
	}
	return nil
}
