package app

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/estateflow/estateflow/engine"
	"github.com/estateflow/estateflow/ent"
	"github.com/estateflow/estateflow/ent/outboxmessage"
	runstatus "github.com/estateflow/estateflow/ent/run"
	"github.com/estateflow/estateflow/ent/schema/stepkind"
	"github.com/estateflow/estateflow/internal/testdb"
	"github.com/estateflow/estateflow/modules/automation"
)

const createRuleMutation = `mutation($input: CreateAutomationRuleInput!) {
  createAutomationRule(input: $input) { id name event packageKey enabled }
}`

const createClientMutation = `mutation($name: String!) { createClient(input: {name: $name, source: WEBSITE}) { id } }`

// fastLeadNurture stands in for Lead Nurture's executors, so that many
// runs finish quickly; the tests are about what starts runs.
func fastLeadNurture() func(*ent.Client) map[stepkind.Kind]engine.Executor {
	ok := engine.ExecutorFunc(func(context.Context, *engine.StepContext) (any, error) { return map[string]any{}, nil })
	return executorsOf(map[stepkind.Kind]engine.Executor{
		stepkind.LeadScoring: ok, stepkind.EmailSequence: ok, stepkind.SocialTargeting: ok, stepkind.FollowUpScheduling: ok,
	})
}

func (a *testAPI) createRule(t *testing.T, input map[string]any) string {
	t.Helper()
	var out struct {
		CreateAutomationRule struct{ ID string } `json:"createAutomationRule"`
	}
	a.do(createRuleMutation, map[string]any{"input": input}).ok(t, &out)
	return out.CreateAutomationRule.ID
}

func (a *testAPI) createClient(t testing.TB, name string) int {
	t.Helper()
	var out struct {
		CreateClient struct{ ID string } `json:"createClient"`
	}
	a.do(createClientMutation, map[string]any{"name": name}).ok(t, &out)
	var id int
	if _, err := fmt.Sscan(out.CreateClient.ID, &id); err != nil {
		t.Fatal(err)
	}
	return id
}

// triggerMessages returns the trigger messages written for a client.
func (a *testAPI) triggerMessages(t testing.TB) []*ent.OutboxMessage {
	t.Helper()
	ms, err := a.ent().OutboxMessage.Query().Where(outboxmessage.Topic(automation.TriggerTopic)).All(a.ctx())
	if err != nil {
		t.Fatal(err)
	}
	return ms
}

// waitTriggers waits until no trigger message is pending.
func (a *testAPI) waitTriggers(t testing.TB) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		n, err := a.ent().OutboxMessage.Query().
			Where(outboxmessage.Topic(automation.TriggerTopic), outboxmessage.StatusEQ(outboxmessage.StatusPENDING)).Count(a.ctx())
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d trigger messages still pending", n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (a *testAPI) runsOf(t testing.TB, clientID int) []*ent.Run {
	t.Helper()
	runs, err := a.ent().Run.Query().Where(runstatus.ClientID(clientID)).All(a.ctx())
	if err != nil {
		t.Fatal(err)
	}
	return runs
}

func TestTriggerStartsLeadNurtureOnce(t *testing.T) {
	t.Parallel()
	api := newTestAPI(t, testOptions{executors: fastLeadNurture()})
	ruleID := api.createRule(t, map[string]any{"name": "Nurture new leads", "event": "CLIENT_CREATED", "packageKey": "lead-nurture"})

	clientID := api.createClient(t, "Dana Whitfield")
	api.waitTriggers(t)
	runs := api.runsOf(t, clientID)
	if len(runs) != 1 {
		t.Fatalf("creating the client started %d runs, want 1", len(runs))
	}
	ms := api.triggerMessages(t)
	if len(ms) != 1 || ms[0].Status != outboxmessage.StatusDONE || ms[0].Attempts != 1 {
		t.Fatalf("trigger messages: %+v", ms)
	}
	if runs[0].IdempotencyKey == nil || *runs[0].IdempotencyKey != ms[0].Key {
		t.Fatalf("the run's idempotency key is %v, want the event's %q", runs[0].IdempotencyKey, ms[0].Key)
	}
	api.waitRun(t, runs[0].ID)

	// Run.trigger names the rule, the event and the record; a manual run
	// says MANUAL.
	var out struct {
		Node struct {
			Trigger struct {
				Kind     string
				RuleID   string `json:"ruleId"`
				Rule     struct{ Name string }
				Event    string
				RecordID string `json:"recordId"`
				Record   struct{ Name string }
			}
		}
	}
	api.do(`query($id: ID!) { node(id: $id) { ... on Run { trigger { kind ruleId rule { name } event recordId record { ... on Client { name } } } } } }`,
		map[string]any{"id": fmt.Sprint(runs[0].ID)}).ok(t, &out)
	tr := out.Node.Trigger
	if tr.Kind != "RULE" || tr.RuleID != ruleID || tr.Rule.Name != "Nurture new leads" || tr.Event != "CLIENT_CREATED" ||
		tr.RecordID != fmt.Sprint(clientID) || tr.Record.Name != "Dana Whitfield" {
		t.Fatalf("trigger: %+v", tr)
	}
	var manual struct {
		StartRun struct{ Trigger struct{ Kind string } } `json:"startRun"`
	}
	api.do(`mutation($p: ID!, $c: ID!) { startRun(input: {packageId: $p, clientId: $c}) { trigger { kind } } }`,
		map[string]any{"p": fmt.Sprint(runs[0].PackageID), "c": fmt.Sprint(clientID)}).ok(t, &manual)
	if manual.StartRun.Trigger.Kind != "MANUAL" {
		t.Fatalf("a startRun run's trigger is %q", manual.StartRun.Trigger.Kind)
	}

	// Disabled, the rule starts nothing: no trigger is even recorded.
	api.do(`mutation($id: ID!) { updateAutomationRule(id: $id, input: {enabled: false}) { enabled } }`,
		map[string]any{"id": ruleID}).ok(t, nil)
	quiet := api.createClient(t, "Eli Navarro")
	if got := len(api.triggerMessages(t)); got != 1 {
		t.Fatalf("a disabled rule recorded a trigger (%d messages)", got)
	}
	if runs := api.runsOf(t, quiet); len(runs) != 0 {
		t.Fatalf("a disabled rule started %d runs", len(runs))
	}
}

func TestTriggersOfConcurrentClients(t *testing.T) {
	t.Parallel()
	api := newTestAPI(t, testOptions{executors: fastLeadNurture()})
	api.createRule(t, map[string]any{"name": "Nurture", "event": "CLIENT_CREATED", "packageKey": "lead-nurture"})
	const n = 100
	ids := make([]int, n)
	// 100 creations, 10 at a time: more than SQLite's busy timeout lets
	// wait for its single writer on this loaded machine.
	var wg sync.WaitGroup
	sem := make(chan struct{}, 10)
	for i := range n {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			ids[i] = api.createClient(t, fmt.Sprintf("Client %d", i))
		}()
	}
	wg.Wait()
	api.waitTriggers(t)
	for _, id := range ids {
		if runs := api.runsOf(t, id); len(runs) != 1 {
			t.Fatalf("client %d has %d runs, want 1", id, len(runs))
		}
	}
	total, err := api.ent().Run.Query().Count(api.ctx())
	if err != nil || total != n {
		t.Fatalf("%d runs in all (%v), want %d", total, err, n)
	}
}

// The client's creation commits with its trigger while no engine runs
// (the process died between the commit and the start); the next process
// starts the run once, and the one after it starts nothing more.
func TestTriggerSurvivesACrashBetweenCommitAndStart(t *testing.T) {
	t.Parallel()
	url := testdb.URL(t)
	first := newTestAPI(t, testOptions{executors: fastLeadNurture(), dbURL: url})
	first.createRule(t, map[string]any{"name": "Nurture", "event": "CLIENT_CREATED", "packageKey": "lead-nurture"})
	if err := first.engine.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	clientID := first.createClient(t, "Farah Quinn")
	if ms := first.triggerMessages(t); len(ms) != 1 || ms[0].Status != outboxmessage.StatusPENDING {
		t.Fatalf("after the commit: %+v", ms)
	}
	if runs := first.runsOf(t, clientID); len(runs) != 0 {
		t.Fatalf("%d runs started without an engine", len(runs))
	}
	first.close()

	for restart := 1; restart <= 2; restart++ {
		api := newTestAPI(t, testOptions{executors: fastLeadNurture(), dbURL: url})
		api.waitTriggers(t)
		// A client created now is triggered after what the start found.
		marker := api.createClient(t, fmt.Sprintf("Marker %d", restart))
		api.waitTriggers(t)
		if runs := api.runsOf(t, marker); len(runs) != 1 {
			t.Fatalf("restart %d: the marker has %d runs", restart, len(runs))
		}
		runs := api.runsOf(t, clientID)
		if len(runs) != 1 {
			t.Fatalf("restart %d: the client has %d runs, want 1", restart, len(runs))
		}
		api.waitRun(t, runs[0].ID)
		api.close()
	}
}

func TestAutomationRuleValidationAndTenancy(t *testing.T) {
	t.Parallel()
	api := newTestAPI(t, testOptions{executors: fastLeadNurture()})
	tests := []struct {
		name  string
		input map[string]any
		field string
	}{
		{"a client event with a property package", map[string]any{"name": "x", "event": "CLIENT_CREATED", "packageKey": "new-listing"}, "input.packageKey"},
		{"a property event with a client package", map[string]any{"name": "x", "event": "PROPERTY_STATUS_CHANGED", "toStage": "ACTIVE", "packageKey": "lead-nurture"}, "input.packageKey"},
		{"an unknown package", map[string]any{"name": "x", "event": "CLIENT_CREATED", "packageKey": "no-such-package"}, "input.packageKey"},
		{"a stage of another record", map[string]any{"name": "x", "event": "CLIENT_STAGE_CHANGED", "toStage": "SOLD", "packageKey": "lead-nurture"}, "input.toStage"},
		{"a stage on a creation", map[string]any{"name": "x", "event": "CLIENT_CREATED", "toStage": "LEAD", "packageKey": "lead-nurture"}, "input.toStage"},
		{"a version the package is not at", map[string]any{"name": "x", "event": "CLIENT_CREATED", "packageKey": "lead-nurture", "packageVersion": 9}, "input.packageVersion"},
		{"a param no step reads", map[string]any{"name": "x", "event": "CLIENT_CREATED", "packageKey": "lead-nurture", "params": map[string]any{"budgett": 5}}, "input.params.budgett"},
		{"a price band upside down", map[string]any{"name": "x", "event": "CLIENT_CREATED", "packageKey": "lead-nurture", "conditionPriceMin": 500000, "conditionPriceMax": 100}, "input.conditionPriceMax"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			api.do(createRuleMutation, map[string]any{"input": tc.input}).wantError(t, "BAD_USER_INPUT", tc.field)
		})
	}
	if n, _ := api.ent().AutomationRule.Query().Count(api.ctx()); n != 0 {
		t.Fatalf("refused rules were saved: %d", n)
	}

	id := api.createRule(t, map[string]any{"name": "Under contract", "event": "TRANSACTION_STAGE_CHANGED",
		"fromStage": "OFFER", "toStage": "UNDER_CONTRACT", "packageKey": "new-listing"})
	var list struct {
		AutomationRules struct {
			TotalCount int
			Edges      []struct{ Node struct{ ID string } }
		} `json:"automationRules"`
	}
	api.do(`{ automationRules(first: 10) { totalCount edges { node { id } } } }`, nil).ok(t, &list)
	if list.AutomationRules.TotalCount != 1 || list.AutomationRules.Edges[0].Node.ID != id {
		t.Fatalf("automationRules: %+v", list)
	}

	rival, _ := rivalToken(t, api)
	theirs := api.postAs(rival, "application/json", []byte(fmt.Sprintf(`{"query":"mutation { updateAutomationRule(id: \"%s\", input: {enabled: false}) { id } }"}`, id)))
	theirs.wantError(t, "NOT_FOUND", "id")
	del := api.postAs(rival, "application/json", []byte(fmt.Sprintf(`{"query":"mutation { deleteAutomationRule(id: \"%s\") }"}`, id)))
	del.wantError(t, "NOT_FOUND", "id")
	seen := api.postAs(rival, "application/json", []byte(`{"query":"{ automationRules(first: 10) { totalCount } }"}`))
	var rivalList struct {
		AutomationRules struct{ TotalCount int } `json:"automationRules"`
	}
	seen.ok(t, &rivalList)
	if rivalList.AutomationRules.TotalCount != 0 {
		t.Fatalf("another organization sees %d rules", rivalList.AutomationRules.TotalCount)
	}
}
