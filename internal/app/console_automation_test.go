package app

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// testConsoleAutomation: the Automation page's empty states, then a rule,
// a schedule and a webhook endpoint created through the API, each in its
// list (the schedule with its next five fire times, the endpoint with a
// delivery's status and response code); the rules paged 10 at a time; the
// rule's Enabled switch and the schedule's Pause button checked through
// the API; a refusal shown with its code; and axe-core.
func testConsoleAutomation(t *testing.T, b *browser, api *testAPI) {
	b.t = t
	var before struct {
		AutomationRules, Schedules, WebhookEndpoints struct{ TotalCount int }
	}
	api.do(`{ automationRules(first: 1) { totalCount } schedules(first: 1) { totalCount } webhookEndpoints(first: 1) { totalCount } }`, nil).ok(t, &before)
	if before.AutomationRules.TotalCount+before.Schedules.TotalCount+before.WebhookEndpoints.TotalCount != 0 {
		t.Fatalf("the organization starts with automation: %+v", before)
	}
	b.eval(`location.hash = '#/automation'`, nil)
	b.wait("the three empty states", `['rules', 'schedules', 'webhooks'].every(id =>
		document.querySelector('#automation-' + id).dataset.loaded === 'true' && !document.querySelector('#' + id + '-empty').hidden)`)
	var emptyText string
	b.eval(`document.querySelector('#schedules-empty').textContent`, &emptyText)
	if !strings.Contains(emptyText, "createSchedule") {
		t.Errorf("the schedules' empty state does not say how to create one: %q", emptyText)
	}
	b.axe("automation, empty")

	// A rule that the page pages past: ten more after it by name.
	ruleID := api.createRule(t, map[string]any{"name": "A new listing in 99999", "event": "PROPERTY_STATUS_CHANGED", "toStage": "ACTIVE",
		"packageKey": "new-listing", "conditionZips": []string{"99999"}, "conditionPriceMin": 400000, "conditionPriceMax": 900000, "enabled": false})
	for i := 1; i <= 10; i++ {
		api.createRule(t, map[string]any{"name": fmt.Sprintf("Z filler %02d", i), "event": "CLIENT_CREATED", "packageKey": "lead-nurture", "enabled": false})
	}
	sched := api.createSchedule(t, map[string]any{"name": "Quarterly nurture", "cron": "0 9 1 1,4,7,10 *", "packageKey": "lead-nurture"})
	if len(sched.NextFireTimes) != 5 || sched.Paused {
		t.Fatalf("schedule as created: %+v", sched)
	}
	rcv := newReceiver(t, 204)
	endpointID, _ := api.createEndpoint(t, rcv.srv.URL+"/hooks/estateflow", "RUN_FINISHED")
	t.Cleanup(func() {
		// The later subtests' runs must not keep delivering to it.
		api.do(`mutation($id: ID!) { deleteWebhookEndpoint(id: $id) }`, map[string]any{"id": endpointID}).ok(t, nil)
	})
	runID := api.finishRun(t, "Webhook Probe")
	var delivered struct {
		Node struct {
			Deliveries struct {
				Edges []struct {
					Node struct {
						Status       string
						ResponseCode *int
						Attempt      int
					}
				}
			}
		}
	}
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		api.do(`query($id: ID!) { node(id: $id) { ... on WebhookEndpoint { deliveries(first: 1, where: {status: SUCCEEDED}) { edges { node { status responseCode attempt } } } } } }`,
			map[string]any{"id": endpointID}).ok(t, &delivered)
		if len(delivered.Node.Deliveries.Edges) > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no delivery succeeded after run %d finished; the receiver got %d requests", runID, len(rcv.requests()))
		}
	}

	b.eval(`location.hash = '#/launch'`, nil)
	b.eval(`location.hash = '#/automation'`, nil)
	rule := fmt.Sprintf(`#rules-rows tr[data-id="%s"]`, ruleID)
	schedRow := fmt.Sprintf(`#schedules-rows tr[data-id="%s"]`, sched.ID)
	hook := fmt.Sprintf(`#webhooks-rows tr[data-id="%s"]`, endpointID)
	b.wait("the three lists", fmt.Sprintf(`document.querySelector(%q) && document.querySelector(%q) && document.querySelector(%q)`, rule, schedRow, hook))

	var rows struct {
		Rule, Schedule, Hook []string
		FireTimes, FireTexts []string
		RulesOnPage          int
		RulesCount, Page     string
	}
	cells := func(sel string) string {
		return fmt.Sprintf(`[...document.querySelector(%q).children].map(c => c.innerText.trim())`, sel)
	}
	b.eval(fmt.Sprintf(`({rule: %s, schedule: %s, hook: %s,
		fireTimes: [...document.querySelectorAll(%q)].map(t => t.getAttribute('datetime')),
		fireTexts: [...document.querySelectorAll(%[4]q)].map(t => t.textContent.replace(/\s/g, ' ')),
		rulesOnPage: document.querySelectorAll('#rules-rows tr').length,
		rulesCount: document.querySelector('#rules-count').textContent, page: document.querySelector('#rules-page').textContent})`,
		cells(rule), cells(schedRow), cells(hook), schedRow+" .fire-times time"), &rows)
	for _, c := range []struct {
		what  string
		cells []string
		want  []string
	}{
		{"rule", rows.Rule, []string{"A new listing in 99999", "property status changed", "new-listing (latest version)", "ZIP 99999", "$400,000 to $900,000", "Disabled"}},
		{"schedule", rows.Schedule, []string{"Quarterly nurture", "0 9 1 1,4,7,10 *", sched.Timezone, "lead-nurture", "Not fired yet", "Active", "Pause"}},
		{"endpoint", rows.Hook, []string{rcv.srv.URL + "/hooks/estateflow", "run finished", "Enabled", "succeeded", "204"}},
	} {
		joined := strings.Join(c.cells, " | ")
		for _, w := range c.want {
			if !strings.Contains(joined, w) {
				t.Errorf("the %s row %q lacks %q", c.what, joined, w)
			}
		}
	}
	if len(rows.FireTimes) != 5 {
		t.Fatalf("the schedule shows %d fire times, want 5: %v", len(rows.FireTimes), rows.FireTimes)
	}
	// Shown in the organization's time zone, in which the cron expression
	// is read: 9:00 AM there.
	zone, err := time.LoadLocation(sched.Timezone)
	if err != nil {
		t.Fatal(err)
	}
	for i, ft := range rows.FireTimes {
		got, err := time.Parse(time.RFC3339, ft)
		if err != nil || !got.Equal(sched.NextFireTimes[i]) {
			t.Errorf("fire time %d is %q, the API says %v", i, ft, sched.NextFireTimes[i])
		}
		if want := sched.NextFireTimes[i].In(zone).Format("Jan 2, 2006, 3:04 PM"); !strings.HasPrefix(rows.FireTexts[i], want) || !strings.Contains(want, "9:00 AM") {
			t.Errorf("fire time %d reads %q, want %q in %s", i, rows.FireTexts[i], want, sched.Timezone)
		}
	}
	if rows.RulesOnPage != 10 || rows.RulesCount != "11 automation rules." || rows.Page != "Page 1 of 2" {
		t.Errorf("the rules' first page: %d rows, %q, %q", rows.RulesOnPage, rows.RulesCount, rows.Page)
	}
	b.screenshot("automation")
	b.axe("automation")

	// The second page of rules, and back.
	b.click(`#rules-next`)
	b.wait("the second page of rules", `document.querySelector('#rules-page').textContent === 'Page 2 of 2' &&
		[...document.querySelectorAll('#rules-rows tr th')].map(th => th.textContent).join() === 'Z filler 10'`)
	b.click(`#rules-prev`)
	b.wait("the first page of rules again", fmt.Sprintf(`document.querySelector('#rules-page').textContent === 'Page 1 of 2' && document.querySelector(%q) !== null`, rule))

	// The Enabled switch.
	b.click(fmt.Sprintf(`#rule-enabled-%s`, ruleID))
	b.wait("the rule enabled", fmt.Sprintf(`document.querySelector(%q)?.dataset.enabled === 'true'`, rule))
	var got struct {
		Node struct{ Enabled bool }
	}
	api.do(`query($id: ID!) { node(id: $id) { ... on AutomationRule { enabled } } }`, map[string]any{"id": ruleID}).ok(t, &got)
	if !got.Node.Enabled {
		t.Error("the switch showed the rule enabled; the API says it is not")
	}

	// Pause.
	b.click(fmt.Sprintf(`#schedule-pause-%s`, sched.ID))
	b.wait("the schedule paused", fmt.Sprintf(`document.querySelector(%q)?.dataset.paused === 'true' && document.querySelector('#schedule-resume-%s') !== null`, schedRow, sched.ID))
	if s := api.schedule(t, sched.ID); !s.Paused {
		t.Error("the page shows the schedule paused; the API says it is not")
	}
	b.axe("automation, schedule paused")

	// A refusal: the rule deleted elsewhere, then switched off here.
	api.do(`mutation($id: ID!) { deleteAutomationRule(id: $id) }`, map[string]any{"id": ruleID}).ok(t, nil)
	b.click(fmt.Sprintf(`#rule-enabled-%s`, ruleID))
	b.wait("the refusal with its code", `document.querySelector('#rules-error').textContent.includes('(NOT_FOUND, id)')`)
	var state struct {
		Checked bool
		Error   string
	}
	b.eval(fmt.Sprintf(`({checked: document.querySelector('#rule-enabled-%s').checked, error: document.querySelector('#rules-error').textContent})`, ruleID), &state)
	if !state.Checked {
		t.Errorf("after the refusal %q the switch shows the rule disabled", state.Error)
	}
	b.screenshot("automation-refusal")
}
