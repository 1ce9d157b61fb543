package engine_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/estateflow/estateflow/engine"
	"github.com/estateflow/estateflow/ent"
	"github.com/estateflow/estateflow/ent/run"
	"github.com/estateflow/estateflow/ent/schema/stepkind"
)

// gated blocks each step until the test lets it go, so that events can be
// observed while the run is live.
type gated struct{ next chan struct{} }

func (g gated) Execute(ctx context.Context, sc *engine.StepContext) (any, error) {
	sc.Progress(0.5, "half way")
	select {
	case <-g.next:
		return nil, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func collect(t *testing.T, ch <-chan *ent.RunEvent, n int) []*ent.RunEvent {
	t.Helper()
	var out []*ent.RunEvent
	for len(out) < n {
		select {
		case ev, ok := <-ch:
			if !ok {
				return out
			}
			out = append(out, ev)
		case <-time.After(20 * time.Second):
			t.Fatalf("got %d events, waiting for %d", len(out), n)
		}
	}
	return out
}

// TestRunEventsReplayThenLive subscribes mid-run, disconnects, and resumes
// from the last seq: the union of the streams is the stored log exactly.
func TestRunEventsReplayThenLive(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	g := gated{next: make(chan struct{})}
	e := f.engine(f.config(), map[stepkind.Kind]engine.Executor{
		stepkind.CMAAnalysis: g, stepkind.ListingStrategy: g, stepkind.MarketingCampaign: g, stepkind.SocialScheduling: g,
	})
	p := f.pkg(stepkind.SubjectProperty,
		stepDef{key: "cma", kind: stepkind.CMAAnalysis},
		stepDef{key: "strategy", kind: stepkind.ListingStrategy, deps: []string{"cma"}},
		stepDef{key: "campaign", kind: stepkind.MarketingCampaign, deps: []string{"strategy"}},
		stepDef{key: "social", kind: stepkind.SocialScheduling, deps: []string{"campaign"}},
	)
	r := f.start(e, p)
	g.next <- struct{}{} // cma done

	ctx1, disconnect := context.WithCancel(f.ctx)
	first, err := e.RunEvents(ctx1, r.ID, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	got := collect(t, first, 6) // queued, started, cma started/progress/succeeded, strategy started
	disconnect()
	for range first {
	}
	last := got[len(got)-1].Seq

	g.next <- struct{}{} // strategy done, while nobody listens
	second, err := e.RunEvents(f.ctx, r.ID, last, nil)
	if err != nil {
		t.Fatal(err)
	}
	g.next <- struct{}{}
	g.next <- struct{}{}
	for ev := range second {
		got = append(got, ev)
	}
	if f.wait(r.ID, run.StatusSUCCEEDED).Status != run.StatusSUCCEEDED {
		t.Fatal("run did not succeed")
	}
	stored := f.events(r.ID)
	if len(got) != len(stored) {
		t.Fatalf("streamed %d events, stored %d", len(got), len(stored))
	}
	for i := range stored {
		if got[i].Seq != stored[i].Seq || got[i].Type != stored[i].Type {
			t.Fatalf("event %d: streamed seq %d %s, stored seq %d %s", i, got[i].Seq, got[i].Type, stored[i].Seq, stored[i].Type)
		}
	}
	if !engine.IsTerminal(got[len(got)-1].Type) {
		t.Fatalf("stream ended on %s, not the terminal event", got[len(got)-1].Type)
	}
}

func TestSlowSubscriberIsDisconnected(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	cfg := f.config()
	cfg.SubscriberBuffer = 4
	g := gated{next: make(chan struct{})}
	e := f.engine(cfg, map[stepkind.Kind]engine.Executor{stepkind.LeadScoring: g, stepkind.EmailSequence: g, stepkind.SocialTargeting: g})
	p := f.pkg(stepkind.SubjectClient,
		stepDef{key: "a", kind: stepkind.LeadScoring},
		stepDef{key: "b", kind: stepkind.EmailSequence, deps: []string{"a"}},
		stepDef{key: "c", kind: stepkind.SocialTargeting, deps: []string{"b"}},
	)
	r := f.start(e, p)
	ended := make(chan error, 1)
	ch, err := e.RunEvents(f.ctx, r.ID, 0, func(err error) { ended <- err })
	if err != nil {
		t.Fatal(err)
	}
	<-ch // take one event, then stop reading while the run produces more
	for range 3 {
		g.next <- struct{}{}
	}
	f.wait(r.ID, run.StatusSUCCEEDED)
	for range ch {
	}
	select {
	case err := <-ended:
		if !errors.Is(err, engine.ErrSlowConsumer) {
			t.Fatalf("subscription ended with %v, want ErrSlowConsumer", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("slow subscriber was not disconnected")
	}
}

func TestRunUpdatesSendsStateThenChanges(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	g := gated{next: make(chan struct{})}
	e := f.engine(f.config(), map[stepkind.Kind]engine.Executor{stepkind.CMAAnalysis: g})
	p := f.pkg(stepkind.SubjectProperty, stepDef{key: "cma", kind: stepkind.CMAAnalysis})
	r := f.start(e, p)
	states, err := e.RunUpdates(f.ctx, r.ID, nil)
	if err != nil {
		t.Fatal(err)
	}
	all, err := e.RunsUpdates(f.ctx, f.orgID, []run.Status{run.StatusSUCCEEDED}, nil)
	if err != nil {
		t.Fatal(err)
	}
	first := <-states
	if first.ID != r.ID || first.Status == run.StatusSUCCEEDED {
		t.Fatalf("first state %+v", first)
	}
	g.next <- struct{}{}
	var last *ent.Run
	for s := range states {
		last = s
	}
	if last == nil || last.Status != run.StatusSUCCEEDED || last.Progress != 1 {
		t.Fatalf("last state %+v", last)
	}
	select {
	case s := <-all:
		if s.ID != r.ID || s.Status != run.StatusSUCCEEDED {
			t.Fatalf("runsUpdated sent %+v", s)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("runsUpdated sent nothing")
	}
}
