package app

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/estateflow/estateflow/auth"
	runstatus "github.com/estateflow/estateflow/ent/run"
	"github.com/estateflow/estateflow/ent/runevent"
	"github.com/estateflow/estateflow/ent/steprun"
	"github.com/estateflow/estateflow/ent/user"
	"github.com/estateflow/estateflow/internal/numfmt"
)

// approvalPackage is New Listing with an agent's approval of the pricing
// option before the campaign goes out (the README's example).
const approvalPackage = `mutation($cfg: Map) { createPackage(input: {key: "new-listing-approved", name: "New Listing with approval", subject: PROPERTY, steps: [
	{key: "cma", name: "Comparative market analysis", kind: CMA_ANALYSIS},
	{key: "strategy", name: "Listing strategy", kind: LISTING_STRATEGY, dependsOn: ["cma"]},
	{key: "approval", name: "Agent approval", kind: APPROVAL, dependsOn: ["strategy"], config: $cfg},
	{key: "campaign", name: "Marketing campaign", kind: MARKETING_CAMPAIGN, dependsOn: ["strategy", "approval"]},
	{key: "social", name: "Social scheduling", kind: SOCIAL_SCHEDULING, dependsOn: ["campaign"]}]}) { id } }`

// startApprovalRun creates the package with the approval's config and
// starts a run of it on an ACTIVE demo listing; it returns the run's ID
// once the approval awaits a decision.
func (a *testAPI) startApprovalRun(t *testing.T, cfg map[string]any) string {
	t.Helper()
	prop, _ := a.activeListingAndNewListing(t)
	var pkg struct {
		CreatePackage struct{ ID string } `json:"createPackage"`
	}
	a.do(approvalPackage, map[string]any{"cfg": cfg}).ok(t, &pkg)
	var started struct {
		StartRun struct{ ID string } `json:"startRun"`
	}
	a.do(`mutation($pkg: ID!, $prop: ID!) { startRun(input: {packageId: $pkg, propertyId: $prop, params: {listingStartDate: "2026-11-21"}}) { id } }`,
		map[string]any{"pkg": pkg.CreatePackage.ID, "prop": prop}).ok(t, &started)
	a.waitStep(t, mustInt(t, started.StartRun.ID), "approval", steprun.StatusAWAITING_APPROVAL)
	return started.StartRun.ID
}

// waitStep polls until the run's step has the status.
func (a *testAPI) waitStep(t *testing.T, runID int, key string, want steprun.Status) {
	t.Helper()
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		s, err := a.ent().StepRun.Query().Where(steprun.RunID(runID), steprun.Key(key)).Only(a.ctx())
		if err != nil {
			t.Fatal(err)
		}
		if s.Status == want {
			return
		}
		if s.Status == steprun.StatusFAILED || s.Status == steprun.StatusSKIPPED || time.Now().After(deadline) {
			t.Fatalf("step %s is %s (%v), want %s", key, s.Status, s.Error, want)
		}
	}
}

type approvalStep struct {
	Key, Status string
	Error       *string
	Approval    *struct {
		Review  []string
		Options []struct {
			Name, Label string
			Price       int
		}
		ApproverRoles  []string
		DeadlineAt     *time.Time
		DeadlineAction *string
		DefaultChoice  *string
	}
	Output map[string]any
}

const approvalRunQuery = `query($id: ID!) { node(id: $id) { ... on Run { status error steps { key status error
	approval { review options { name label price } approverRoles deadlineAt deadlineAction defaultChoice }
	output { __typename
		... on Approval { decision comment decidedBy reviewed choice { name price } }
		... on MarketingCampaign { price priceSource pricingOption priceNote description } } } } } }`

func (a *testAPI) approvalRun(t *testing.T, id string) (status string, runErr *string, steps map[string]approvalStep) {
	t.Helper()
	var out struct {
		Node struct {
			Status string
			Error  *string
			Steps  []approvalStep
		}
	}
	a.do(approvalRunQuery, map[string]any{"id": id}).ok(t, &out)
	steps = map[string]approvalStep{}
	for _, s := range out.Node.Steps {
		steps[s.Key] = s
	}
	return out.Node.Status, out.Node.Error, steps
}

const (
	approveMutation = `mutation($run: ID!, $step: String!, $comment: String, $choice: String) {
		approveStep(runId: $run, stepKey: $step, comment: $comment, choice: $choice) { id status } }`
	rejectMutation = `mutation($run: ID!, $step: String!, $comment: String!) {
		rejectStep(runId: $run, stepKey: $step, comment: $comment) { id status } }`
)

// TestApprovalCarriesTheChoice: the run waits at the approval, which shows
// the strategy's pricing options and who may approve; refusals have their
// codes; the approval's choice is the price the campaign advertises.
func TestApprovalCarriesTheChoice(t *testing.T) {
	t.Parallel()
	api := newTestAPI(t, testOptions{demo: true})
	runID := api.startApprovalRun(t, map[string]any{"approverRoles": []string{"ADMIN"}, "deadline": "3d"})

	_, _, steps := api.approvalRun(t, runID)
	req := steps["approval"].Approval
	if steps["approval"].Status != "AWAITING_APPROVAL" || req == nil {
		t.Fatalf("approval step: %+v", steps["approval"])
	}
	if steps["campaign"].Status != "PENDING" {
		t.Fatalf("the campaign is %s before the approval", steps["campaign"].Status)
	}
	if len(req.Options) != 3 || fmt.Sprint(req.ApproverRoles) != "[ADMIN]" || fmt.Sprint(req.Review) != "[strategy]" ||
		req.DeadlineAction == nil || *req.DeadlineAction != "FAIL" || req.DeadlineAt == nil || req.DefaultChoice == nil || *req.DefaultChoice != "AT_MARKET" {
		t.Fatalf("approval request %+v", req)
	}
	if until := time.Until(*req.DeadlineAt); until < 71*time.Hour || until > 73*time.Hour {
		t.Fatalf("deadline in %s, want 3 days", until)
	}
	chosen := req.Options[0]
	for _, o := range req.Options {
		if o.Name == "ASPIRATIONAL" {
			chosen = o
		}
	}
	if chosen.Name != "ASPIRATIONAL" || chosen.Price <= 0 || !strings.Contains(chosen.Label, "$") {
		t.Fatalf("options %+v", req.Options)
	}

	// Refusals.
	rival, _ := rivalToken(t, api)
	body := func(q string, vars map[string]any) []byte {
		return []byte(fmt.Sprintf(`{"query": %q, "variables": %s}`, q, mustJSON(t, vars)))
	}
	api.postAs(rival, "application/json", body(approveMutation, map[string]any{"run": runID, "step": "approval"})).wantError(t, "NOT_FOUND", "runId")
	api.do(approveMutation, map[string]any{"run": runID, "step": "nope"}).wantError(t, "NOT_FOUND", "stepKey")
	api.do(approveMutation, map[string]any{"run": runID, "step": "strategy"}).wantError(t, "CONFLICT", "stepKey")
	api.do(approveMutation, map[string]any{"run": runID, "step": "approval", "choice": "HALF_PRICE"}).wantError(t, "BAD_USER_INPUT", "choice")
	api.do(rejectMutation, map[string]any{"run": runID, "step": "approval", "comment": "   "}).wantError(t, "BAD_USER_INPUT", "comment")
	agent, err := auth.EnsureUser(context.Background(), api.db.Client, "demo", "agent@test.example", user.RoleAGENT)
	if err != nil {
		t.Fatal(err)
	}
	agentToken, _, err := api.authn.Issue(api.ctx(), api.db.Client, agent.ID, "agent", nil)
	if err != nil {
		t.Fatal(err)
	}
	api.postAs(agentToken, "application/json", body(approveMutation, map[string]any{"run": runID, "step": "approval"})).wantError(t, "FORBIDDEN", "stepKey")

	api.do(approveMutation, map[string]any{"run": runID, "step": "approval", "comment": "Seller wants to test the top of the range", "choice": "ASPIRATIONAL"}).ok(t, nil)
	if r := api.waitRun(t, mustInt(t, runID)); r.Status != runstatus.StatusSUCCEEDED {
		t.Fatalf("run %s: %v", r.Status, r.Error)
	}
	_, _, steps = api.approvalRun(t, runID)
	out := steps["approval"].Output
	if out["__typename"] != "Approval" || out["decision"] != "APPROVED" || out["decidedBy"] != "admin@test.example (ADMIN)" ||
		out["comment"] != "Seller wants to test the top of the range" || out["choice"].(map[string]any)["name"] != "ASPIRATIONAL" {
		t.Fatalf("approval output %v", out)
	}
	campaign := steps["campaign"].Output
	if campaign["price"] != float64(chosen.Price) || campaign["priceSource"] != "APPROVED_OPTION" || campaign["pricingOption"] != "ASPIRATIONAL" {
		t.Fatalf("campaign advertises %v (%v %v), want the chosen %d", campaign["price"], campaign["priceSource"], campaign["pricingOption"], chosen.Price)
	}
	if want := fmt.Sprintf("Offered at $%s.", numfmt.Thousands(chosen.Price)); !strings.Contains(campaign["description"].(string), want) {
		t.Fatalf("description %q lacks %q", campaign["description"], want)
	}
	if !strings.Contains(campaign["priceNote"].(string), "chosen at approval by admin@test.example") {
		t.Fatalf("price note %q", campaign["priceNote"])
	}
	api.do(approveMutation, map[string]any{"run": runID, "step": "approval"}).wantError(t, "CONFLICT", "stepKey")

	evs, err := api.ent().RunEvent.Query().Where(runevent.RunID(mustInt(t, runID))).Order(runevent.BySeq()).All(api.ctx())
	if err != nil {
		t.Fatal(err)
	}
	var awaiting, decided int
	for i, ev := range evs {
		if ev.Seq != i+1 {
			t.Fatalf("event %d has seq %d", i+1, ev.Seq)
		}
		if ev.StepKey != nil && *ev.StepKey == "approval" {
			switch ev.Type {
			case runevent.TypeSTEP_AWAITING:
				awaiting++
			case runevent.TypeSTEP_SUCCEEDED:
				decided++
				if !strings.Contains(ev.Message, "approved by admin@test.example") || !strings.Contains(ev.Message, "Aspirational") {
					t.Errorf("decision event %q", ev.Message)
				}
			}
		}
	}
	if awaiting != 1 || decided != 1 {
		t.Fatalf("%d STEP_AWAITING and %d STEP_SUCCEEDED events for the approval", awaiting, decided)
	}
}

// TestApprovalRejectFailsTheRun: a rejection fails the approval with the
// reason, skips the campaign, and fails the run.
func TestApprovalRejectFailsTheRun(t *testing.T) {
	t.Parallel()
	api := newTestAPI(t, testOptions{demo: true})
	runID := api.startApprovalRun(t, nil)
	api.do(rejectMutation, map[string]any{"run": runID, "step": "approval", "comment": "Photos are not ready"}).ok(t, nil)
	if r := api.waitRun(t, mustInt(t, runID)); r.Status != runstatus.StatusFAILED {
		t.Fatalf("run %s after a rejection", r.Status)
	}
	status, runErr, steps := api.approvalRun(t, runID)
	if status != "FAILED" || runErr == nil || !strings.Contains(*runErr, "approval") {
		t.Fatalf("run %s: %v", status, runErr)
	}
	if e := steps["approval"].Error; e == nil || *e != "rejected by admin@test.example (ADMIN): Photos are not ready" {
		t.Fatalf("approval error %v", e)
	}
	if steps["campaign"].Status != "SKIPPED" || steps["social"].Status != "SKIPPED" {
		t.Fatalf("campaign %s, social %s", steps["campaign"].Status, steps["social"].Status)
	}
	api.do(rejectMutation, map[string]any{"run": runID, "step": "approval", "comment": "again"}).wantError(t, "CONFLICT", "stepKey")
}

// TestApprovalDeadlineAutoApproves: with AUTO_APPROVE, the deadline passing
// in injected time approves with the default choice, which the campaign
// advertises.
func TestApprovalDeadlineAutoApproves(t *testing.T) {
	t.Parallel()
	clock := &movingClock{at: time.Now()}
	api := newTestAPI(t, testOptions{demo: true, now: clock.Now})
	runID := api.startApprovalRun(t, map[string]any{"deadline": "2d", "deadlineAction": "AUTO_APPROVE", "defaultChoice": "BELOW_MARKET"})
	_, _, steps := api.approvalRun(t, runID)
	price := 0
	for _, o := range steps["approval"].Approval.Options {
		if o.Name == "BELOW_MARKET" {
			price = o.Price
		}
	}
	clock.Add(47 * time.Hour)
	time.Sleep(500 * time.Millisecond) // several sweeps
	api.waitStep(t, mustInt(t, runID), "approval", steprun.StatusAWAITING_APPROVAL)
	clock.Add(2 * time.Hour)
	if r := api.waitRun(t, mustInt(t, runID)); r.Status != runstatus.StatusSUCCEEDED {
		t.Fatalf("run %s: %v", r.Status, r.Error)
	}
	_, _, steps = api.approvalRun(t, runID)
	if out := steps["approval"].Output; out["decision"] != "AUTO_APPROVED" || out["decidedBy"] != "the deadline" {
		t.Fatalf("approval output %v", out)
	}
	if c := steps["campaign"].Output; price == 0 || c["price"] != float64(price) || c["pricingOption"] != "BELOW_MARKET" {
		t.Fatalf("campaign price %v (%v), want BELOW_MARKET's %d", c["price"], c["pricingOption"], price)
	}
}

// movingClock is an engine clock the test moves forward.
type movingClock struct {
	mu sync.Mutex
	at time.Time
}

func (c *movingClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.at
}

func (c *movingClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.at = c.at.Add(d)
}
