package app

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/estateflow/estateflow/auth"
	"github.com/estateflow/estateflow/engine"
	"github.com/estateflow/estateflow/ent"
	"github.com/estateflow/estateflow/ent/outboxmessage"
	runstatus "github.com/estateflow/estateflow/ent/run"
	"github.com/estateflow/estateflow/ent/schema/stepkind"
	"github.com/estateflow/estateflow/ent/user"
	"github.com/estateflow/estateflow/ent/workflowpackage"
	"github.com/estateflow/estateflow/seed"
	"github.com/estateflow/estateflow/tenant"
)

// gate is an executor that holds every step until the gate opens, so
// that runs stay in flight while the test floods the server.
type gate struct {
	open chan struct{}
	once sync.Once
}

// newGate returns a shut gate, opened at the test's end if not before.
func newGate(t *testing.T) *gate {
	g := &gate{open: make(chan struct{})}
	t.Cleanup(g.release)
	return g
}

// release opens the gate; opening it again does nothing.
func (g *gate) release() { g.once.Do(func() { close(g.open) }) }

// executors makes the gate the executor of the given kinds.
func (g *gate) executors(kinds ...stepkind.Kind) func(*ent.Client) map[stepkind.Kind]engine.Executor {
	m := map[stepkind.Kind]engine.Executor{}
	for _, k := range kinds {
		m[k] = g
	}
	return executorsOf(m)
}

func (g *gate) Execute(ctx context.Context, sc *engine.StepContext) (any, error) {
	select {
	case <-g.open:
		return map[string]any{"step": sc.StepKey}, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// admissionFloor is the runs in flight the admission takes in these tests
// whatever the drain rate (nothing finishes while the gate is shut, so
// the floor is the whole budget).
const admissionFloor = 6

// underAdmission turns on the admission control of these tests: a bound of
// a minute, and a budget of admissionFloor runs.
func underAdmission(c *Config) {
	c.AdmissionMaxWait = time.Minute
	hook := c.tests.engine
	c.tests.engine = func(ec *engine.Config) {
		hook(ec)
		ec.AdmissionFloor = admissionFloor
	}
}

// TestAdmissionRefusesFloodButAdmitsOtherOrg: while one organization's
// flood holds the server's whole budget, its next starts are refused with
// RATE_LIMITED and a Retry-After, over GraphQL and REST alike, and counted
// in the metrics; another organization's single run is admitted and
// completes. Under the budget nothing is refused.
func TestAdmissionRefusesFloodButAdmitsOtherOrg(t *testing.T) {
	t.Parallel()
	g := newGate(t)
	api := newTestAPI(t, testOptions{config: underAdmission,
		executors: g.executors(stepkind.CMAAnalysis, stepkind.ListingStrategy, stepkind.MarketingCampaign, stepkind.SocialScheduling)})
	prop, pkg := api.newListingPackage(t)
	start := `mutation($pkg: ID!, $prop: ID!) { startRun(input: {packageId: $pkg, propertyId: $prop}) { id } }`
	vars := map[string]any{"pkg": pkg, "prop": prop}

	// Normal load: up to the budget, every start is admitted.
	var ids []int
	for i := range admissionFloor {
		var started struct {
			StartRun struct{ ID string } `json:"startRun"`
		}
		r := api.do(start, vars)
		if len(r.Errors) > 0 {
			t.Fatalf("start %d of %d under the budget was refused: %+v", i+1, admissionFloor, r.Errors)
		}
		r.ok(t, &started)
		ids = append(ids, mustInt(t, started.StartRun.ID))
	}

	// The flood goes on: refused over GraphQL, with Retry-After.
	body, err := json.Marshal(map[string]any{"query": start, "variables": vars})
	if err != nil {
		t.Fatal(err)
	}
	status, header, raw := send(t, http.MethodPost, api.srv.URL+"/graphql", api.token, bytes.NewReader(body), map[string]string{"Content-Type": "application/json"})
	if status != http.StatusOK {
		t.Fatalf("GraphQL status %d: %s", status, raw)
	}
	refused := gqlResponse{status: status}
	if err := json.Unmarshal(raw, &refused); err != nil {
		t.Fatal(err)
	}
	e := refused.wantError(t, "RATE_LIMITED", "")
	// Nothing has finished, so the drain rate is unknown: the refusal
	// says so, and asks for a short wait rather than the whole bound.
	if !strings.Contains(e.Message, "none has finished") {
		t.Fatalf("refusal message %q does not say that no run has finished", e.Message)
	}
	secs, _ := e.Extensions["retryAfter"].(float64)
	if secs != 2 {
		t.Fatalf("extensions.retryAfter = %v, want 2 seconds while no run has finished", e.Extensions["retryAfter"])
	}
	if secs < 1 || secs > 60 {
		t.Fatalf("extensions.retryAfter = %v, want 1..60 seconds: %+v", e.Extensions["retryAfter"], e)
	}
	if h, err := strconv.Atoi(header.Get("Retry-After")); err != nil || h != int(secs) {
		t.Fatalf("Retry-After header %q, extensions.retryAfter %v", header.Get("Retry-After"), secs)
	}
	// … and over REST, with the same code and header.
	rr := api.rest(t, http.MethodPost, restRuns, map[string]any{"packageId": mustInt(t, pkg), "propertyId": mustInt(t, prop)})
	rr.wantError(t, http.StatusTooManyRequests, "RATE_LIMITED", "")
	if h, err := strconv.Atoi(rr.header.Get("Retry-After")); err != nil || h < 1 {
		t.Fatalf("REST Retry-After %q", rr.header.Get("Retry-After"))
	}
	if got := scrapeMetrics(t, api.srv.URL+"/metrics", "").value("estateflow_run_starts_refused_total", nil); got != 2 {
		t.Fatalf("estateflow_run_starts_refused_total = %v, want 2", got)
	}

	// Another brokerage's single run is admitted while the flood waits.
	sys := tenant.SystemContext(context.Background())
	other, err := api.ent().Organization.Create().SetName("Small Realty").SetSlug("small").Save(sys)
	if err != nil {
		t.Fatal(err)
	}
	if err := seed.CreatePackages(sys, api.ent(), other.ID, seed.BuiltinPackages()); err != nil {
		t.Fatal(err)
	}
	agent, err := auth.EnsureUser(sys, api.ent(), "small", "agent@small.example", user.RoleADMIN)
	if err != nil {
		t.Fatal(err)
	}
	otherCtx := tenant.NewContext(context.Background(), tenant.Viewer{OrgID: other.ID, UserID: agent.ID, Role: tenant.RoleAdmin})
	otherToken, _, err := api.authn.Issue(otherCtx, api.ent(), agent.ID, "test", nil)
	if err != nil {
		t.Fatal(err)
	}
	asOther := func(query string, vars map[string]any) gqlResponse {
		body, err := json.Marshal(map[string]any{"query": query, "variables": vars})
		if err != nil {
			t.Fatal(err)
		}
		return api.postAs(otherToken, "application/json", body)
	}
	var setup struct {
		CreateProperty struct{ ID string } `json:"createProperty"`
		Packages       struct {
			Edges []struct{ Node struct{ ID string } } `json:"edges"`
		} `json:"packages"`
	}
	asOther(`mutation { createProperty(input: {city: "Austin", latitude: 30.2, longitude: -97.7}) { id } }`, nil).ok(t, &setup)
	asOther(`{ packages(first: 1, where: {key: "new-listing"}) { edges { node { id } } } }`, nil).ok(t, &setup)
	var single struct {
		StartRun struct{ ID string } `json:"startRun"`
	}
	asOther(start, map[string]any{"pkg": setup.Packages.Edges[0].Node.ID, "prop": setup.CreateProperty.ID}).ok(t, &single)

	g.release()
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		r, err := api.ent().Run.Get(otherCtx, mustInt(t, single.StartRun.ID))
		if err != nil {
			t.Fatal(err)
		}
		if r.Status == runstatus.StatusSUCCEEDED {
			break
		}
		if r.FinishedAt != nil || time.Now().After(deadline) {
			t.Fatalf("the other organization's run is %s", r.Status)
		}
	}
	for _, id := range ids {
		if r := api.waitRun(t, id); r.Status != runstatus.StatusSUCCEEDED {
			t.Fatalf("flood run %d ended %s", id, r.Status)
		}
	}
}

// TestAdmissionQueuesOwedRuns: while the backlog holds the whole budget, a
// person's start is refused, but the runs the system owes are not: a
// rule's trigger, whose client has committed, and a schedule's occurrence
// both start their runs, which queue and finish once the workers drain.
// Refused, the triggers would fail and the occurrence would record its
// runs as errors: work accepted, then lost.
func TestAdmissionQueuesOwedRuns(t *testing.T) {
	t.Parallel()
	g := newGate(t)
	clock := newTestClock(mustTime(t, "2026-12-05T08:00:00-08:00"))
	api := newTestAPI(t, testOptions{clock: clock, config: underAdmission,
		executors: g.executors(stepkind.LeadScoring, stepkind.EmailSequence, stepkind.SocialTargeting, stepkind.FollowUpScheduling)})
	api.setTimezone(t, "America/Los_Angeles")

	// Twice the budget of clients, each starting Lead Nurture by a rule.
	api.createRule(t, map[string]any{"name": "Nurture", "event": "CLIENT_CREATED", "packageKey": "lead-nurture"})
	const n = 2 * admissionFloor
	clients := make([]int, n)
	for i := range clients {
		clients[i] = api.createClient(t, fmt.Sprintf("Lead %d", i+1))
	}
	api.waitTriggers(t)
	for _, m := range api.triggerMessages(t) {
		if m.Status != outboxmessage.StatusDONE {
			t.Fatalf("trigger %s is %s, want DONE (last error: %v)", m.Key, m.Status, ptrString(m.LastError))
		}
	}

	// A person's start is refused: the backlog is past the budget.
	pkg, err := api.ent().WorkflowPackage.Query().Where(workflowpackage.Key("lead-nurture")).Only(api.ctx())
	if err != nil {
		t.Fatal(err)
	}
	api.do(`mutation($pkg: ID!, $c: ID!) { startRun(input: {packageId: $pkg, clientId: $c}) { id } }`,
		map[string]any{"pkg": fmt.Sprint(pkg.ID), "c": fmt.Sprint(clients[0])}).wantError(t, "RATE_LIMITED", "")

	// The schedule's occurrence starts a run for every lead all the same.
	s := api.createSchedule(t, map[string]any{"name": "Morning nurture", "cron": "0 9 * * *", "packageKey": "lead-nurture"})
	first := mustTime(t, "2026-12-05T09:00:00-08:00")
	clock.Set(first.Add(time.Second))
	if got := api.tick(t); got != 1 {
		t.Fatalf("claimed %d occurrences, want 1", got)
	}
	scheduled := api.waitScheduledRuns(t, n)
	if o := api.waitOutcome(t, s.ID, first).LastOutcome; o.Matched != n || o.RunsStarted != n || len(o.Errors) != 0 {
		t.Fatalf("outcome %+v", o)
	}

	g.release()
	for _, c := range clients {
		runs := api.runsOf(t, c)
		if len(runs) != 2 {
			t.Fatalf("client %d has %d runs, want the trigger's and the schedule's", c, len(runs))
		}
		for _, r := range runs {
			if r := api.waitRun(t, r.ID); r.Status != runstatus.StatusSUCCEEDED {
				t.Fatalf("run %d ended %s", r.ID, r.Status)
			}
		}
	}
	if len(scheduled) != n {
		t.Fatalf("%d scheduled runs", len(scheduled))
	}
}

// ptrString is *s, or "none".
func ptrString(s *string) string {
	if s == nil {
		return "none"
	}
	return *s
}
