package engine_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/estateflow/estateflow/engine"
	"github.com/estateflow/estateflow/ent"
	"github.com/estateflow/estateflow/ent/run"
	"github.com/estateflow/estateflow/ent/schema/stepkind"
	"github.com/estateflow/estateflow/tenant"
)

// otherOrg is a second organization on f's database, with its own
// property.
func otherOrg(f *fixture) *fixture {
	f.t.Helper()
	sys := tenant.SystemContext(context.Background())
	org, err := f.db.Client.Organization.Create().SetName("Other Realty").SetSlug("other").Save(sys)
	if err != nil {
		f.t.Fatal(err)
	}
	ctx := tenant.NewContext(context.Background(), tenant.Viewer{OrgID: org.ID, Role: tenant.RoleAdmin})
	prop, err := f.db.Client.Property.Create().SetCity("Dallas").SetLatitude(32.8).SetLongitude(-96.8).Save(ctx)
	if err != nil {
		f.t.Fatal(err)
	}
	return &fixture{t: f.t, db: f.db, ctx: ctx, orgID: org.ID, property: prop, dsn: f.dsn}
}

// collectStates reads states from ch until every one of runs has sent a
// terminal state, or the wait runs out.
func collectStates(t *testing.T, ch <-chan *ent.Run, runs map[int]bool) []*ent.Run {
	t.Helper()
	var got []*ent.Run
	finished := map[int]bool{}
	timeout := time.After(60 * time.Second)
	for len(finished) < len(runs) {
		select {
		case r, open := <-ch:
			if !open {
				t.Fatalf("stream closed after %d states; finished %d of %d runs", len(got), len(finished), len(runs))
			}
			got = append(got, r)
			if r.Status == run.StatusSUCCEEDED || r.Status == run.StatusFAILED || r.Status == run.StatusCANCELED {
				finished[r.ID] = true
			}
		case <-timeout:
			t.Fatalf("got %d states; finished %d of %d runs", len(got), len(finished), len(runs))
		}
	}
	return got
}

// checkStates checks what one subscriber got: only runs of its
// organization, each run's states in seq order, and each run's last
// state equal to the stored row.
func checkStates(t *testing.T, f *fixture, who string, got []*ent.Run, runs map[int]bool) {
	t.Helper()
	last := map[int]int{}
	for _, r := range got {
		if !runs[r.ID] || r.OrganizationID != f.orgID {
			t.Fatalf("%s got run %d of organization %d, not one of its own", who, r.ID, r.OrganizationID)
		}
		if r.LastSeq <= last[r.ID] {
			t.Fatalf("%s got run %d at seq %d after seq %d", who, r.ID, r.LastSeq, last[r.ID])
		}
		last[r.ID] = r.LastSeq
	}
	for id := range runs {
		stored, err := f.db.Client.Run.Get(f.ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		var final *ent.Run
		for _, r := range got {
			if r.ID == id {
				final = r
			}
		}
		if final == nil || final.LastSeq != stored.LastSeq || final.Status != stored.Status || final.Progress != stored.Progress ||
			(final.FinishedAt == nil) != (stored.FinishedAt == nil) || !final.UpdatedAt.Equal(stored.UpdatedAt) {
			t.Fatalf("%s: last state of run %d is %+v, stored %+v", who, id, final, stored)
		}
	}
}

// TestStateSubscribersGetEveryTerminalState runs runs of two organizations
// at once under many runsUpdated and runUpdated subscribers: each gets
// every terminal state of its own organization's runs, each run's states
// in order, and nothing of the other organization.
func TestStateSubscribersGetEveryTerminalState(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	g := otherOrg(f)
	e := f.engine(f.config(), map[stepkind.Kind]engine.Executor{stepkind.CMAAnalysis: ok, stepkind.ListingStrategy: ok, stepkind.MarketingCampaign: ok})
	steps := []stepDef{
		{key: "cma", kind: stepkind.CMAAnalysis},
		{key: "strategy", kind: stepkind.ListingStrategy, deps: []string{"cma"}},
		{key: "campaign", kind: stepkind.MarketingCampaign, deps: []string{"cma"}},
	}
	pf, pg := f.pkg(stepkind.SubjectProperty, steps...), g.pkg(stepkind.SubjectProperty, steps...)

	const subscribers, runsPerOrg = 20, 6
	type sub struct {
		f  *fixture
		ch <-chan *ent.Run
	}
	var subs []sub
	for i := range subscribers {
		of := f
		if i%2 == 1 {
			of = g
		}
		ch, err := e.RunsUpdates(of.ctx, of.orgID, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		subs = append(subs, sub{of, ch})
	}
	runsOf := map[*fixture]map[int]bool{f: {}, g: {}}
	var single []sub
	var singleRun []int
	for range runsPerOrg {
		for _, x := range []struct {
			f *fixture
			p *ent.WorkflowPackage
		}{{f, pf}, {g, pg}} {
			r := x.f.start(e, x.p)
			runsOf[x.f][r.ID] = true
			ch, err := e.RunUpdates(x.f.ctx, r.ID, nil)
			if err != nil {
				t.Fatal(err)
			}
			single = append(single, sub{x.f, ch})
			singleRun = append(singleRun, r.ID)
		}
	}
	var wg sync.WaitGroup
	for i, s := range subs {
		wg.Go(func() {
			got := collectStates(t, s.ch, runsOf[s.f])
			checkStates(t, s.f, "runsUpdated subscriber "+string(rune('A'+i)), got, runsOf[s.f])
		})
	}
	for i, s := range single {
		wg.Go(func() {
			want := map[int]bool{singleRun[i]: true}
			got := collectStates(t, s.ch, want)
			checkStates(t, s.f, "runUpdated subscriber", got, want)
			if _, open := <-s.ch; open {
				t.Errorf("runUpdated of run %d went on after its terminal state", singleRun[i])
			}
		})
	}
	wg.Wait()
}

// TestBackedUpStateSubscriberCoalesces lets a runsUpdated subscriber with
// room for 4 runs fall behind while 3 runs of 3 steps each finish: it is
// not dropped, and it gets each run's terminal state, which is the stored
// one.
func TestBackedUpStateSubscriberCoalesces(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	cfg := f.config()
	cfg.SubscriberBuffer = 1 // an organization's subscriber holds 4 runs
	e := f.engine(cfg, map[stepkind.Kind]engine.Executor{stepkind.LeadScoring: ok, stepkind.EmailSequence: ok, stepkind.SocialTargeting: ok})
	p := f.pkg(stepkind.SubjectClient,
		stepDef{key: "a", kind: stepkind.LeadScoring},
		stepDef{key: "b", kind: stepkind.EmailSequence, deps: []string{"a"}},
		stepDef{key: "c", kind: stepkind.SocialTargeting, deps: []string{"b"}},
	)
	var ended error
	endedCh := make(chan struct{})
	ch, err := e.RunsUpdates(f.ctx, f.orgID, nil, func(err error) { ended = err; close(endedCh) })
	if err != nil {
		t.Fatal(err)
	}
	runs := map[int]bool{}
	for range 3 {
		r := f.start(e, p)
		runs[r.ID] = true
	}
	for id := range runs {
		f.wait(id, run.StatusSUCCEEDED)
	}
	// Every state but each run's last is queued before wait can see the
	// run finished; the last is published just after its commit, so it
	// may still be on its way: the subscriber is nearly as far behind as
	// it will be.
	got := collectStates(t, ch, runs)
	checkStates(t, f, "backed-up subscriber", got, runs)
	if len(got) > 2*len(runs)+1 {
		// One coalesced state per run, the state the stream held while it
		// waited to hand it over, and each run's last state if it came
		// after the reading began. Uncoalesced, each run has at least four
		// (its start and each step's end).
		t.Fatalf("backed-up subscriber got %d states for %d runs: not coalesced", len(got), len(runs))
	}
	select {
	case <-endedCh:
		t.Fatalf("subscription ended: %v", ended)
	default:
	}
}

// TestStateSubscriberBeyondItsRunsIsDropped: a runsUpdated subscriber that
// falls behind on more distinct runs than its queue holds is dropped with
// ErrSlowConsumer, after it got what was queued.
func TestStateSubscriberBeyondItsRunsIsDropped(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	cfg := f.config()
	cfg.SubscriberBuffer = 1
	e := f.engine(cfg, map[stepkind.Kind]engine.Executor{stepkind.LeadScoring: ok})
	p := f.pkg(stepkind.SubjectClient, stepDef{key: "a", kind: stepkind.LeadScoring})
	ended := make(chan error, 1)
	ch, err := e.RunsUpdates(f.ctx, f.orgID, nil, func(err error) { ended <- err })
	if err != nil {
		t.Fatal(err)
	}
	var ids []int
	for range 7 {
		ids = append(ids, f.start(e, p).ID)
	}
	for _, id := range ids {
		f.wait(id, run.StatusSUCCEEDED)
	}
	for range ch {
	}
	select {
	case err := <-ended:
		if !errors.Is(err, engine.ErrSlowConsumer) {
			t.Fatalf("subscription ended with %v, want ErrSlowConsumer", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the subscriber was not dropped")
	}
}
