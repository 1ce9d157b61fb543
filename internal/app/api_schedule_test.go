package app

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/estateflow/estateflow/engine"
	"github.com/estateflow/estateflow/ent"
	"github.com/estateflow/estateflow/ent/contact"
	"github.com/estateflow/estateflow/ent/run"
	"github.com/estateflow/estateflow/ent/schema/stepkind"
	"github.com/estateflow/estateflow/internal/testdb"
	"github.com/estateflow/estateflow/modules/automation"
)

// schedulesSource is a second periodic source over the test's database,
// bound to its engine: tests fire occurrences through it directly.
func (a *testAPI) schedulesSource() *automation.Schedules {
	s := automation.NewSchedules(a.db.Client, nil)
	s.Bind(a.engine, a.engine.Now)
	return s
}

// testClock is a clock the test moves.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func newTestClock(t time.Time) *testClock { return &testClock{t: t} }

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

// okExecutors stand in for Lead Nurture's steps: schedule tests count the
// runs an occurrence starts, not what the steps do.
func okExecutors() func(*ent.Client) map[stepkind.Kind]engine.Executor {
	ok := engine.ExecutorFunc(func(context.Context, *engine.StepContext) (any, error) { return map[string]any{"ok": true}, nil })
	return executorsOf(map[stepkind.Kind]engine.Executor{
		stepkind.LeadScoring: ok, stepkind.EmailSequence: ok, stepkind.SocialTargeting: ok, stepkind.FollowUpScheduling: ok,
	})
}

const scheduleFields = `id name cron packageKey packageVersion paused missedPolicy catchUpWindowSeconds timezone lastFireAt
	recordFilter { pastClients clientStages propertyStatuses zips }
	lastOutcome { occurrenceAt firedAt matched runsStarted errors skippedOccurrences }
	nextFireTimes`

type scheduleView struct {
	ID                   string
	Name, Cron           string
	PackageKey           string
	PackageVersion       *int
	Paused               bool
	MissedPolicy         string
	CatchUpWindowSeconds int
	Timezone             string
	LastFireAt           *time.Time
	RecordFilter         struct {
		PastClients      bool
		ClientStages     []string
		PropertyStatuses []string
		Zips             []string
	}
	LastOutcome *struct {
		OccurrenceAt       time.Time
		FiredAt            *time.Time
		Matched            int
		RunsStarted        int
		Errors             []string
		SkippedOccurrences int
	}
	NextFireTimes []time.Time
}

func (a *testAPI) createSchedule(t *testing.T, input map[string]any) scheduleView {
	t.Helper()
	var got struct{ CreateSchedule scheduleView }
	a.do(`mutation($in: CreateScheduleInput!) { createSchedule(input: $in) { `+scheduleFields+` } }`,
		map[string]any{"in": input}).ok(t, &got)
	return got.CreateSchedule
}

func (a *testAPI) schedule(t *testing.T, id string) scheduleView {
	t.Helper()
	var got struct{ Node scheduleView }
	a.do(`query($id: ID!) { node(id: $id) { ... on Schedule { `+scheduleFields+` } } }`, map[string]any{"id": id}).ok(t, &got)
	return got.Node
}

func (a *testAPI) setTimezone(t *testing.T, tz string) {
	t.Helper()
	a.do(`mutation($tz: String!) { updateOrganization(input: {timezone: $tz}) { id } }`, map[string]any{"tz": tz}).ok(t, nil)
}

// addClients creates n LEAD clients directly.
func (a *testAPI) addClients(t *testing.T, n int) []int {
	t.Helper()
	ids := make([]int, n)
	for i := range ids {
		c, err := a.ent().Contact.Create().SetName(fmt.Sprintf("Lead %d", i+1)).SetStage(contact.StageLEAD).Save(a.ctx())
		if err != nil {
			t.Fatal(err)
		}
		ids[i] = c.ID
	}
	return ids
}

// scheduledRuns counts the runs schedules started.
func (a *testAPI) scheduledRuns(t testing.TB) []*ent.Run {
	t.Helper()
	runs, err := a.ent().Run.Query().Where(run.IdempotencyKeyHasPrefix("schedule:")).Order(run.ByID()).All(a.ctx())
	if err != nil {
		t.Fatal(err)
	}
	return runs
}

// waitScheduledRuns waits until schedules have started n runs (River fires
// occurrences from jobs, after the tick), and checks there are no more.
func (a *testAPI) waitScheduledRuns(t testing.TB, n int) []*ent.Run {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		runs := a.scheduledRuns(t)
		if len(runs) > n {
			t.Fatalf("schedules started %d runs, want %d", len(runs), n)
		}
		if len(runs) == n {
			return runs
		}
		if time.Now().After(deadline) {
			t.Fatalf("schedules started %d runs, want %d", len(runs), n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitOutcome waits until the schedule's last outcome is of the occurrence at.
func (a *testAPI) waitOutcome(t *testing.T, id string, at time.Time) scheduleView {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		s := a.schedule(t, id)
		if s.LastOutcome != nil && s.LastOutcome.OccurrenceAt.Equal(at) {
			return s
		}
		if time.Now().After(deadline) {
			t.Fatalf("schedule %s: last outcome %+v, want one of %s", id, s.LastOutcome, at)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (a *testAPI) tick(t testing.TB) int {
	t.Helper()
	n, err := a.engine.TickPeriodic(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func mustTime(t testing.TB, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// TestScheduleAPI: CRUD with validation, pause and resume, the next five
// fire times in the organization's zone, and tenancy.
func TestScheduleAPI(t *testing.T) {
	clock := newTestClock(mustTime(t, "2026-12-05T10:00:00-08:00"))
	api := newTestAPI(t, testOptions{clock: clock})
	api.setTimezone(t, "America/New_York")

	s := api.createSchedule(t, map[string]any{"name": "Quarterly home values", "cron": "0 9 1 1,4,7,10 *",
		"packageKey": "home-value-update", "filter": map[string]any{"pastClients": true}, "missedPolicy": "RUN_ONCE"})
	if s.Timezone != "America/New_York" || s.Paused || !s.RecordFilter.PastClients || s.MissedPolicy != "RUN_ONCE" || s.CatchUpWindowSeconds != 86400 {
		t.Fatalf("created %+v", s)
	}
	ny, _ := time.LoadLocation("America/New_York")
	want := []string{"2027-01-01T09:00:00-05:00", "2027-04-01T09:00:00-04:00", "2027-07-01T09:00:00-04:00", "2027-10-01T09:00:00-04:00", "2028-01-01T09:00:00-05:00"}
	if len(s.NextFireTimes) != len(want) {
		t.Fatalf("nextFireTimes %v", s.NextFireTimes)
	}
	for i, w := range want {
		if !s.NextFireTimes[i].Equal(mustTime(t, w)) {
			t.Errorf("fire %d: %s, want %s", i, s.NextFireTimes[i].In(ny), w)
		}
	}

	refusals := []struct {
		name, field string
		in          map[string]any
	}{
		{"bad cron", "input.cron", map[string]any{"name": "x", "cron": "0 9 * *", "packageKey": "home-value-update"}},
		{"cron with a zone", "input.cron", map[string]any{"name": "x", "cron": "TZ=UTC 0 9 * * *", "packageKey": "home-value-update"}},
		{"unknown package", "input.packageKey", map[string]any{"name": "x", "cron": "0 9 * * *", "packageKey": "no-such-package"}},
		{"property filter on a client package", "input.filter.zips", map[string]any{"name": "x", "cron": "0 9 * * *", "packageKey": "home-value-update",
			"filter": map[string]any{"zips": []string{"78704"}}}},
		{"client filter on a property package", "input.filter.pastClients", map[string]any{"name": "x", "cron": "0 9 * * *", "packageKey": "new-listing",
			"filter": map[string]any{"pastClients": true}}},
		{"unknown stage", "input.filter.clientStages", map[string]any{"name": "x", "cron": "0 9 * * *", "packageKey": "home-value-update",
			"filter": map[string]any{"clientStages": []string{"VIP"}}}},
		{"param no step reads", "input.params.marketingBudget", map[string]any{"name": "x", "cron": "0 9 * * *", "packageKey": "home-value-update",
			"params": map[string]any{"marketingBudget": 500}}},
		{"version not current", "input.packageVersion", map[string]any{"name": "x", "cron": "0 9 * * *", "packageKey": "home-value-update", "packageVersion": 7}},
		{"catch-up window too short", "input.catchUpWindowSeconds", map[string]any{"name": "x", "cron": "0 9 * * *", "packageKey": "home-value-update", "catchUpWindowSeconds": 5}},
	}
	for _, r := range refusals {
		t.Run(r.name, func(t *testing.T) {
			api.do(`mutation($in: CreateScheduleInput!) { createSchedule(input: $in) { id } }`, map[string]any{"in": r.in}).
				wantError(t, "BAD_USER_INPUT", r.field)
		})
	}

	// A pinned version, params the CMA reads, a new expression.
	var upd struct{ UpdateSchedule scheduleView }
	api.do(`mutation($id: ID!) { updateSchedule(id: $id, input: {cron: "30 8 * * 1", packageVersion: 1, params: {maxRadiusMiles: 3}}) { `+scheduleFields+` } }`,
		map[string]any{"id": s.ID}).ok(t, &upd)
	if upd.UpdateSchedule.Cron != "30 8 * * 1" || upd.UpdateSchedule.PackageVersion == nil || *upd.UpdateSchedule.PackageVersion != 1 ||
		!upd.UpdateSchedule.NextFireTimes[0].Equal(mustTime(t, "2026-12-07T08:30:00-05:00")) {
		t.Fatalf("updated %+v", upd.UpdateSchedule)
	}
	api.do(`mutation($id: ID!) { updateSchedule(id: $id, input: {cron: "every day"}) { id } }`, map[string]any{"id": s.ID}).
		wantError(t, "BAD_USER_INPUT", "input.cron")

	var paused struct{ PauseSchedule scheduleView }
	api.do(`mutation($id: ID!) { pauseSchedule(id: $id) { `+scheduleFields+` } }`, map[string]any{"id": s.ID}).ok(t, &paused)
	if !paused.PauseSchedule.Paused || len(paused.PauseSchedule.NextFireTimes) != 0 {
		t.Fatalf("paused %+v", paused.PauseSchedule)
	}
	clock.Set(mustTime(t, "2026-12-20T12:00:00-05:00"))
	var resumed struct{ ResumeSchedule scheduleView }
	api.do(`mutation($id: ID!) { resumeSchedule(id: $id) { `+scheduleFields+` } }`, map[string]any{"id": s.ID}).ok(t, &resumed)
	if resumed.ResumeSchedule.Paused || !resumed.ResumeSchedule.NextFireTimes[0].Equal(mustTime(t, "2026-12-21T08:30:00-05:00")) {
		t.Fatalf("resumed %+v", resumed.ResumeSchedule)
	}

	var list struct {
		Schedules struct {
			TotalCount int
			Edges      []struct{ Node struct{ ID string } }
		}
	}
	api.do(`{ schedules(first: 10) { totalCount edges { node { id } } } }`, nil).ok(t, &list)
	if list.Schedules.TotalCount != 1 || list.Schedules.Edges[0].Node.ID != s.ID {
		t.Fatalf("schedules %+v", list)
	}

	// Another organization sees none of it.
	rival, _ := rivalToken(t, api)
	asRival := func(query string) gqlResponse {
		body := fmt.Sprintf(`{"query": %q, "variables": {"id": %q}}`, query, s.ID)
		return api.postAs(rival, "application/json", []byte(body))
	}
	for _, q := range []string{
		`mutation($id: ID!) { updateSchedule(id: $id, input: {name: "mine"}) { id } }`,
		`mutation($id: ID!) { pauseSchedule(id: $id) { id } }`,
		`mutation($id: ID!) { resumeSchedule(id: $id) { id } }`,
		`mutation($id: ID!) { deleteSchedule(id: $id) }`,
	} {
		asRival(q).wantError(t, "NOT_FOUND", "id")
	}
	asRival(`query($id: ID!) { node(id: $id) { id } }`).wantError(t, "NOT_FOUND", "id")
	var rivalView struct{ Schedules struct{ TotalCount int } }
	asRival(`query { schedules(first: 1) { totalCount } }`).ok(t, &rivalView)
	if rivalView.Schedules.TotalCount != 0 {
		t.Fatalf("the rival sees %+v", rivalView)
	}

	var deleted struct{ DeleteSchedule string }
	api.do(`mutation($id: ID!) { deleteSchedule(id: $id) }`, map[string]any{"id": s.ID}).ok(t, &deleted)
	if deleted.DeleteSchedule != s.ID {
		t.Fatalf("deleted %q", deleted.DeleteSchedule)
	}
	api.do(`mutation($id: ID!) { pauseSchedule(id: $id) { id } }`, map[string]any{"id": s.ID}).wantError(t, "NOT_FOUND", "id")
}

// TestScheduleFiresEachOccurrenceOnce: each occurrence starts one run per
// chosen record, a second tick or a repeated fire starts nothing more, and
// the outcome says what happened.
func TestScheduleFiresEachOccurrenceOnce(t *testing.T) {
	clock := newTestClock(mustTime(t, "2026-12-05T08:00:00-08:00"))
	api := newTestAPI(t, testOptions{clock: clock, executors: okExecutors()})
	api.setTimezone(t, "America/Los_Angeles")
	leads := api.addClients(t, 3)
	if _, err := api.ent().Contact.Create().SetName("Past client").SetStage(contact.StagePAST_CLIENT).Save(api.ctx()); err != nil {
		t.Fatal(err)
	}
	s := api.createSchedule(t, map[string]any{"name": "Morning nurture", "cron": "0 9 * * *", "packageKey": "lead-nurture",
		"filter": map[string]any{"clientStages": []string{"LEAD"}}})
	if n := api.tick(t); n != 0 {
		t.Fatalf("claimed %d occurrences before 9:00", n)
	}
	first := mustTime(t, "2026-12-05T09:00:00-08:00")
	clock.Set(first.Add(20 * time.Second))
	if n := api.tick(t); n != 1 {
		t.Fatalf("claimed %d occurrences at 9:00:20, want 1", n)
	}
	if n := api.tick(t); n != 0 {
		t.Fatalf("a second tick claimed %d more", n)
	}
	runs := api.waitScheduledRuns(t, 3)
	got := api.waitOutcome(t, s.ID, first)
	if o := got.LastOutcome; o.Matched != 3 || o.RunsStarted != 3 || len(o.Errors) != 0 || o.FiredAt == nil || o.SkippedOccurrences != 0 {
		t.Fatalf("outcome %+v", o)
	}
	if got.LastFireAt == nil || !got.LastFireAt.Equal(first) || !got.NextFireTimes[0].Equal(first.AddDate(0, 0, 1)) {
		t.Fatalf("schedule after the fire: %+v", got)
	}
	for i, r := range runs {
		if r.ClientID == nil || *r.ClientID != leads[i] || *r.IdempotencyKey != fmt.Sprintf("schedule:%s:2026-12-05T17:00:00Z:CLIENT:%d", s.ID, leads[i]) {
			t.Fatalf("run %d: client %v, key %v", r.ID, r.ClientID, *r.IdempotencyKey)
		}
		api.waitRun(t, r.ID, run.StatusSUCCEEDED)
	}

	// A repeated fire of the same occurrence (a crash, a River retry)
	// finds the runs by their keys.
	sched := api.schedulesSource()
	occ := engine.Occurrence{Key: "again", OrgID: api.orgID, At: first.UTC(), Ref: mustInt(t, s.ID)}
	if err := sched.Fire(api.ctx(), occ); err != nil {
		t.Fatal(err)
	}
	api.waitScheduledRuns(t, 3)

	clock.Set(first.AddDate(0, 0, 1).Add(5 * time.Second))
	if n := api.tick(t); n != 1 {
		t.Fatalf("claimed %d occurrences on the second day", n)
	}
	api.waitScheduledRuns(t, 6)
	api.waitOutcome(t, s.ID, first.AddDate(0, 0, 1).UTC())
}

// TestScheduleTwoReplicasFireOnce: two servers on one PostgreSQL database
// tick at the same instants; each occurrence is claimed by one of them and
// starts its runs once.
func TestScheduleTwoReplicasFireOnce(t *testing.T) {
	if os.Getenv(testdb.EnvURL) == "" {
		t.Skip("replicas share a PostgreSQL database (TEST_DATABASE_URL)")
	}
	clock := newTestClock(mustTime(t, "2026-12-05T08:00:00-08:00"))
	url := testdb.URL(t)
	a := newTestAPI(t, testOptions{clock: clock, executors: okExecutors(), dbURL: url})
	b := newTestAPI(t, testOptions{clock: clock, executors: okExecutors(), dbURL: url})
	a.setTimezone(t, "America/Los_Angeles")
	a.addClients(t, 3)
	s := a.createSchedule(t, map[string]any{"name": "Every morning", "cron": "0 9 * * *", "packageKey": "lead-nurture"})
	first := mustTime(t, "2026-12-05T09:00:00-08:00")
	const days = 5
	for d := range days {
		at := first.AddDate(0, 0, d)
		clock.Set(at.Add(time.Duration(d) * time.Second))
		var (
			wg     sync.WaitGroup
			counts [2]int
		)
		for i, api := range []*testAPI{a, b} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range 3 { // and again, as a fast ticker would
					n, err := api.engine.TickPeriodic(context.Background())
					if err != nil {
						t.Error(err)
					}
					counts[i] += n
				}
			}()
		}
		wg.Wait()
		if counts[0]+counts[1] != 1 {
			t.Fatalf("day %d: the replicas claimed %v occurrences, want 1 in all", d+1, counts)
		}
		a.waitScheduledRuns(t, 3*(d+1))
		a.waitOutcome(t, s.ID, at.UTC())
	}
	seen := map[string]bool{}
	for _, r := range a.scheduledRuns(t) {
		if seen[*r.IdempotencyKey] {
			t.Fatalf("two runs with key %s", *r.IdempotencyKey)
		}
		seen[*r.IdempotencyKey] = true
	}
	var jobs int
	if err := a.db.SQL.QueryRow(`SELECT count(*) FROM river_job WHERE kind = 'estateflow_periodic_fire'`).Scan(&jobs); err != nil {
		t.Fatal(err)
	}
	if jobs != days {
		t.Fatalf("%d fire jobs for %d occurrences", jobs, days)
	}
}

// TestScheduleMissedOccurrences: after downtime, SKIP runs none of the
// missed occurrences and RUN_ONCE runs the latest once, within its
// catch-up window only.
func TestScheduleMissedOccurrences(t *testing.T) {
	start := mustTime(t, "2026-12-05T08:10:00-08:00")
	clock := newTestClock(start)
	api := newTestAPI(t, testOptions{clock: clock, executors: okExecutors()})
	api.addClients(t, 2)
	hourly := func(name, policy string, window int) scheduleView {
		return api.createSchedule(t, map[string]any{"name": name, "cron": "0 * * * *", "packageKey": "lead-nurture",
			"missedPolicy": policy, "catchUpWindowSeconds": window})
	}
	skip := hourly("skip", "SKIP", 86400)
	once := hourly("once", "RUN_ONCE", 86400)
	tight := hourly("tight", "RUN_ONCE", 600) // ten minutes

	// Down from 8:10 to 13:30: the 9:00 to 13:00 occurrences were missed.
	clock.Set(mustTime(t, "2026-12-05T13:30:00-08:00"))
	if n := api.tick(t); n != 1 {
		t.Fatalf("claimed %d occurrences after downtime, want 1 (RUN_ONCE's)", n)
	}
	latest := mustTime(t, "2026-12-05T13:00:00-08:00").UTC()
	runs := api.waitScheduledRuns(t, 2)
	for _, r := range runs {
		if !strings.HasPrefix(*r.IdempotencyKey, "schedule:"+once.ID+":2026-12-05T21:00:00Z:") {
			t.Fatalf("run with key %s, want RUN_ONCE's 13:00 occurrence", *r.IdempotencyKey)
		}
	}
	o := api.waitOutcome(t, once.ID, latest).LastOutcome
	if o.RunsStarted != 2 || o.SkippedOccurrences != 4 || o.FiredAt == nil {
		t.Fatalf("RUN_ONCE outcome %+v", o)
	}
	for _, id := range []string{skip.ID, tight.ID} {
		s := api.waitOutcome(t, id, latest)
		if o := s.LastOutcome; o.RunsStarted != 0 || o.SkippedOccurrences != 5 || o.FiredAt != nil || s.LastFireAt != nil {
			t.Fatalf("%s outcome %+v", s.Name, o)
		}
		if !s.NextFireTimes[0].Equal(mustTime(t, "2026-12-05T14:00:00-08:00")) {
			t.Fatalf("%s next fire %s", s.Name, s.NextFireTimes[0])
		}
	}

	// Back on time: every schedule fires at 14:00.
	clock.Set(mustTime(t, "2026-12-05T14:00:30-08:00"))
	if n := api.tick(t); n != 3 {
		t.Fatalf("claimed %d occurrences at 14:00, want 3", n)
	}
	api.waitScheduledRuns(t, 8)
}

// TestScheduleDaylightSaving fires 02:30 and 01:30 daily schedules in
// America/New_York across 2026's changes: 02:30 does not exist on March 8
// and fires once at 03:00 EDT; 01:30 happens twice on November 1 and fires
// once, at its first instance.
func TestScheduleDaylightSaving(t *testing.T) {
	clock := newTestClock(mustTime(t, "2026-03-07T12:00:00-05:00"))
	api := newTestAPI(t, testOptions{clock: clock, executors: okExecutors()})
	api.setTimezone(t, "America/New_York")
	api.addClients(t, 1)
	spring := api.createSchedule(t, map[string]any{"name": "2:30", "cron": "30 2 * * *", "packageKey": "lead-nurture"})
	if !spring.NextFireTimes[0].Equal(mustTime(t, "2026-03-08T03:00:00-04:00")) || !spring.NextFireTimes[1].Equal(mustTime(t, "2026-03-09T02:30:00-04:00")) {
		t.Fatalf("spring fire times %v", spring.NextFireTimes)
	}
	clock.Set(mustTime(t, "2026-03-08T01:59:00-05:00"))
	if n := api.tick(t); n != 0 {
		t.Fatalf("claimed %d before the change", n)
	}
	clock.Set(mustTime(t, "2026-03-08T03:00:30-04:00"))
	if n := api.tick(t); n != 1 {
		t.Fatalf("claimed %d at 03:00:30 EDT, want 1", n)
	}
	api.waitScheduledRuns(t, 1)
	api.waitOutcome(t, spring.ID, mustTime(t, "2026-03-08T07:00:00Z"))
	clock.Set(mustTime(t, "2026-03-08T03:45:00-04:00"))
	if n := api.tick(t); n != 0 {
		t.Fatalf("claimed %d more on the spring-forward day", n)
	}
	api.do(`mutation($id: ID!) { deleteSchedule(id: $id) }`, map[string]any{"id": spring.ID}).ok(t, nil)

	clock.Set(mustTime(t, "2026-10-31T12:00:00-04:00"))
	fall := api.createSchedule(t, map[string]any{"name": "1:30", "cron": "30 1 * * *", "packageKey": "lead-nurture"})
	clock.Set(mustTime(t, "2026-11-01T01:30:20-04:00")) // the first 01:30 (EDT)
	if n := api.tick(t); n != 1 {
		t.Fatalf("claimed %d at the first 01:30", n)
	}
	api.waitScheduledRuns(t, 2)
	// The fire's outcome first: on PostgreSQL a River job fires it, and a
	// fire still pending when the clock jumps an hour is past its lease
	// and claimed again (harmlessly: the same run key).
	api.waitOutcome(t, fall.ID, mustTime(t, "2026-11-01T05:30:00Z"))
	clock.Set(mustTime(t, "2026-11-01T01:30:20-05:00")) // the second 01:30 (EST)
	if n := api.tick(t); n != 0 {
		t.Fatalf("claimed %d at the second 01:30", n)
	}
	s := api.waitOutcome(t, fall.ID, mustTime(t, "2026-11-01T05:30:00Z"))
	if !s.NextFireTimes[0].Equal(mustTime(t, "2026-11-02T01:30:00-05:00")) {
		t.Fatalf("next fire after the fall-back day %s", s.NextFireTimes[0])
	}
	api.waitScheduledRuns(t, 2)
}
