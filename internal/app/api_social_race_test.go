package app

import (
	"context"
	"encoding/json"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/estateflow/estateflow/engine"
	"github.com/estateflow/estateflow/ent"
	runstatus "github.com/estateflow/estateflow/ent/run"
	"github.com/estateflow/estateflow/ent/scheduledpost"
	"github.com/estateflow/estateflow/ent/schema/stepkind"
	"github.com/estateflow/estateflow/ent/steprun"
	"github.com/estateflow/estateflow/modules/marketing"
)

// socialBarrier holds each SOCIAL_SCHEDULING step's first attempt, after it
// has planned, until n of them have: every run then plans from the same
// state, as two runs started at the same moment do.
type socialBarrier struct {
	inner engine.Executor
	n     int
	all   chan struct{}
	mu    sync.Mutex
	count int
}

func (b *socialBarrier) Execute(ctx context.Context, sc *engine.StepContext) (any, error) {
	out, err := b.inner.Execute(ctx, sc)
	if sc.Attempt > 1 {
		return out, err
	}
	b.mu.Lock()
	b.count++
	if b.count == b.n {
		close(b.all)
	}
	b.mu.Unlock()
	select {
	case <-b.all:
	case <-time.After(10 * time.Second):
	case <-ctx.Done():
	}
	return out, err
}

// TestConcurrentSocialSchedulingWritesItsOutput starts two new-listing runs
// at once on one ACTIVE property with no posts, with the same listing start
// date and with start dates a day apart. Each run's stored SocialSchedule
// must list exactly the rows it wrote, and the property's posts must keep
// the 48-hour gap per platform across both runs.
func TestConcurrentSocialSchedulingWritesItsOutput(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name       string
		startDates [2]string
	}{
		{"same start date", [2]string{"2026-11-23", "2026-11-23"}},
		{"start dates a day apart", [2]string{"2026-11-23", "2026-11-24"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			barrier := &socialBarrier{n: 2, all: make(chan struct{})}
			api := newTestAPI(t, testOptions{demo: true, executors: func(c *ent.Client) map[stepkind.Kind]engine.Executor {
				barrier.inner = marketing.SocialExecutor{Client: c}
				return map[stepkind.Kind]engine.Executor{stepkind.SocialScheduling: barrier}
			}})
			prop, pkg := api.activeListingAndNewListing(t)
			propID := mustInt(t, prop)
			if n := api.ent().ScheduledPost.Query().Where(scheduledpost.PropertyID(propID)).CountX(api.ctx()); n != 0 {
				t.Fatalf("the property starts with %d posts", n)
			}

			runIDs := make([]int, 2)
			var wg sync.WaitGroup
			for i, date := range tt.startDates {
				wg.Go(func() {
					var started struct {
						StartRun struct{ ID string } `json:"startRun"`
					}
					api.do(`mutation($pkg: ID!, $prop: ID!, $date: String!) { startRun(input: {packageId: $pkg, propertyId: $prop, params: {listingStartDate: $date}}) { id } }`,
						map[string]any{"pkg": pkg, "prop": prop, "date": date}).ok(t, &started)
					runIDs[i] = mustInt(t, started.StartRun.ID)
				})
			}
			wg.Wait()

			for _, runID := range runIDs {
				if r := api.waitRun(t, runID); r.Status != runstatus.StatusSUCCEEDED {
					t.Fatalf("run %d ended %s", runID, r.Status)
				}
				step := api.ent().StepRun.Query().Where(steprun.RunID(runID), steprun.KindEQ(stepkind.SocialScheduling)).OnlyX(api.ctx())
				var out marketing.SocialSchedule
				b, _ := json.Marshal(step.Output)
				if err := json.Unmarshal(b, &out); err != nil {
					t.Fatal(err)
				}
				rows := api.ent().ScheduledPost.Query().Where(scheduledpost.RunID(runID)).AllX(api.ctx())
				if len(out.Posts) != len(rows) {
					t.Errorf("run %d: its output lists %d posts, it wrote %d rows", runID, len(out.Posts), len(rows))
				}
				written := map[string]bool{}
				for _, r := range rows {
					written[string(r.Platform)+r.ScheduledAt.UTC().Format(time.RFC3339)] = true
				}
				for _, p := range out.Posts {
					if !written[p.Platform+p.ScheduledAt.UTC().Format(time.RFC3339)] {
						t.Errorf("run %d: its output lists a %s post at %s that it did not write", runID, p.Platform, p.ScheduledAt)
					}
				}
			}

			byPlatform := map[scheduledpost.Platform][]time.Time{}
			for _, p := range api.ent().ScheduledPost.Query().Where(scheduledpost.PropertyID(propID)).AllX(api.ctx()) {
				byPlatform[p.Platform] = append(byPlatform[p.Platform], p.ScheduledAt)
			}
			if len(byPlatform) == 0 {
				t.Fatal("no posts were scheduled")
			}
			for platform, times := range byPlatform {
				sort.Slice(times, func(i, j int) bool { return times[i].Before(times[j]) })
				for i := 1; i < len(times); i++ {
					if gap := times[i].Sub(times[i-1]); gap < marketing.MinPostGap {
						t.Errorf("%s: posts at %s and %s are %s apart, under %s", platform,
							times[i-1].Format(time.RFC3339), times[i].Format(time.RFC3339), gap, marketing.MinPostGap)
					}
				}
			}
		})
	}
}
