package app

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"
)

// event is a delivery's body as a receiver reads it.
type event struct {
	Type      string
	Timestamp string
	Data      map[string]any
}

// events checks the signature of every request the receiver got, with the
// test's own reference verifier, and decodes the bodies.
func (r *receiver) events(t *testing.T, secret string) []event {
	t.Helper()
	var out []event
	for i, req := range r.requests() {
		if err := verifySignature(secret, req); err != nil {
			t.Fatalf("request %d: %v", i+1, err)
		}
		var ev event
		if err := json.Unmarshal(req.body, &ev); err != nil {
			t.Fatalf("request %d: %v: %s", i+1, err, req.body)
		}
		out = append(out, ev)
	}
	return out
}

// storedTask is a task as the GraphQL API shows it.
type storedTask struct {
	ID            string
	Title         string
	DueAt         time.Time `json:"dueAt"`
	ClientID      string    `json:"clientID"`
	PropertyID    *string   `json:"propertyID"`
	TransactionID *string   `json:"transactionID"`
	RunID         *string   `json:"runID"`
}

func (a *testAPI) tasksOf(t *testing.T, clientID string) []storedTask {
	t.Helper()
	var got struct {
		Tasks struct {
			Edges []struct{ Node storedTask } `json:"edges"`
		} `json:"tasks"`
	}
	a.do(`query($c: ID!) { tasks(first: 50, where: {clientID: $c}) { edges { node {
		id title dueAt clientID propertyID transactionID runID } } } }`, map[string]any{"c": clientID}).ok(t, &got)
	out := make([]storedTask, len(got.Tasks.Edges))
	for i, e := range got.Tasks.Edges {
		out[i] = e.Node
	}
	return out
}

// deliveryCount counts the delivery attempts written so far.
func (a *testAPI) deliveryCount(t *testing.T) int {
	t.Helper()
	n, err := a.ent().WebhookDelivery.Query().Count(a.ctx())
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// checkTaskEvents checks that the TASK_CREATED events are the tasks, one
// each, as the API shows them.
func checkTaskEvents(t *testing.T, events []event, tasks []storedTask) {
	t.Helper()
	if len(events) != len(tasks) {
		t.Fatalf("%d TASK_CREATED events for %d tasks", len(events), len(tasks))
	}
	byID := map[string]storedTask{}
	for _, tk := range tasks {
		byID[tk.ID] = tk
	}
	str := func(p *string) any {
		if p == nil {
			return nil
		}
		return *p
	}
	for _, ev := range events {
		d := ev.Data
		id, _ := d["taskId"].(string)
		tk, ok := byID[id]
		if ev.Type != "TASK_CREATED" || !ok {
			t.Fatalf("event %+v is no task of the client's", ev)
		}
		delete(byID, id) // each task once
		dueAt, _ := d["dueAt"].(string)
		due, err := time.Parse(time.RFC3339Nano, dueAt)
		if err != nil || !due.Equal(tk.DueAt) || d["title"] != tk.Title || d["clientId"] != tk.ClientID ||
			d["propertyId"] != str(tk.PropertyID) || d["transactionId"] != str(tk.TransactionID) || d["runId"] != str(tk.RunID) {
			t.Errorf("event %+v does not match task %+v", d, tk)
		}
	}
}

// TestTaskCreatedWebhooks: the follow-up tasks of a Lead Nurture run and a
// transaction's checklist tasks each reach the endpoint subscribed to
// TASK_CREATED once, signed, with what the API shows of the task; moving
// the transaction to its stage again creates no task and sends nothing;
// an endpoint not subscribed gets no TASK_CREATED.
func TestTaskCreatedWebhooks(t *testing.T) {
	t.Parallel()
	api := newTestAPI(t, testOptions{demo: true})
	tasksRcv := newReceiver(t, 200)
	_, tasksSecret := api.createEndpoint(t, tasksRcv.srv.URL, "TASK_CREATED")
	otherRcv := newReceiver(t, 200)
	_, otherSecret := api.createEndpoint(t, otherRcv.srv.URL, "RUN_FINISHED", "EMAIL_UNSUBSCRIBED")

	client := api.createConsentingClient(t, "Noor Haddad", "noor.haddad@example.com")
	runID, _ := api.nurture(t, client)
	tasks := api.tasksOf(t, client)
	if len(tasks) == 0 {
		t.Fatal("Lead Nurture created no follow-up task")
	}
	for _, tk := range tasks {
		if tk.RunID == nil || *tk.RunID != runID {
			t.Fatalf("task %+v is not the run's", tk)
		}
	}
	// One per task, and the run's end to the other endpoint.
	api.waitDeliveries(t, len(tasks)+1)
	checkTaskEvents(t, tasksRcv.events(t, tasksSecret), tasks)
	if got := otherRcv.events(t, otherSecret); len(got) != 1 || got[0].Type != "RUN_FINISHED" || got[0].Data["runId"] != runID {
		t.Fatalf("the endpoint not subscribed to TASK_CREATED got %+v", got)
	}

	// A transaction's checklist: SHOWING brings one task, with the
	// transaction and its property.
	var setup struct {
		CreateProperty struct{ ID string } `json:"createProperty"`
	}
	api.do(`mutation { createProperty(input: {city: "Austin", latitude: 30.2, longitude: -97.7, status: PENDING}) { id } }`, nil).ok(t, &setup)
	var deal struct {
		CreateTransaction struct{ ID string } `json:"createTransaction"`
	}
	api.do(`mutation($c: ID!, $p: ID!) { createTransaction(input: {clientID: $c, propertyID: $p, side: BUYER, price: 450000}) { id } }`,
		map[string]any{"c": client, "p": setup.CreateProperty.ID}).ok(t, &deal)
	before := api.deliveryCount(t)
	for range 2 { // the same move twice creates the checklist once
		api.do(`mutation($id: ID!) { advanceTransaction(id: $id, stage: SHOWING) { stage } }`,
			map[string]any{"id": deal.CreateTransaction.ID}).ok(t, nil)
	}
	// The deliveries commit with the tasks: they are there when the
	// mutation answers.
	after := api.tasksOf(t, client)
	if len(after) != len(tasks)+1 || api.deliveryCount(t) != before+1 {
		t.Fatalf("after the checklist: %d tasks (had %d), %d deliveries (had %d)", len(after), len(tasks), api.deliveryCount(t), before)
	}
	api.waitDeliveries(t, before+1)
	checkTaskEvents(t, tasksRcv.events(t, tasksSecret), after)
	checklist := tasksRcv.events(t, tasksSecret)[len(tasks)]
	if checklist.Data["transactionId"] != deal.CreateTransaction.ID || checklist.Data["propertyId"] != setup.CreateProperty.ID {
		t.Fatalf("the checklist task's event: %+v", checklist.Data)
	}
	if n := len(otherRcv.requests()); n != 1 {
		t.Fatalf("the endpoint not subscribed to TASK_CREATED got %d requests", n)
	}
}

// TestEmailUnsubscribedWebhook: the one-click unsubscribe POST sends the
// subscribed endpoint one signed EMAIL_UNSUBSCRIBED with the client and
// the email whose link it was, never the token; the link used again sends
// nothing; an endpoint not subscribed gets nothing of it.
func TestEmailUnsubscribedWebhook(t *testing.T) {
	t.Parallel()
	api := newTestAPI(t, testOptions{demo: true})
	unsubRcv := newReceiver(t, 200)
	_, unsubSecret := api.createEndpoint(t, unsubRcv.srv.URL, "EMAIL_UNSUBSCRIBED")
	tasksRcv := newReceiver(t, 200)
	_, tasksSecret := api.createEndpoint(t, tasksRcv.srv.URL, "TASK_CREATED")

	client := api.createConsentingClient(t, "Omar Reyes", "omar.reyes@example.com")
	api.nurture(t, client)
	emails := api.emailsOf(t, client)
	if len(emails) == 0 {
		t.Fatal("no email scheduled")
	}
	tasks := api.tasksOf(t, client)
	api.waitDeliveries(t, len(tasks))
	if n := len(unsubRcv.requests()); n != 0 {
		t.Fatalf("before any unsubscribe, the EMAIL_UNSUBSCRIBED endpoint got %d requests", n)
	}

	email := emails[len(emails)-1]
	link := footerLink.FindStringSubmatch(email.Body)
	if link == nil {
		t.Fatalf("no unsubscribe link in %q", email.Body)
	}
	u, err := url.Parse(link[1])
	if err != nil {
		t.Fatal(err)
	}
	token := strings.TrimPrefix(u.Path, "/u/")
	oneClick := func() {
		t.Helper()
		status, _, body := send(t, http.MethodPost, api.srv.URL+u.Path, "", strings.NewReader("List-Unsubscribe=One-Click"),
			map[string]string{"Content-Type": "application/x-www-form-urlencoded"})
		if status != http.StatusOK {
			t.Fatalf("POST %d: %s", status, body)
		}
	}
	before := api.deliveryCount(t)
	sent := time.Now()
	oneClick()
	// Written in the unsubscribe's transaction: there when it answers.
	if n := api.deliveryCount(t); n != before+1 {
		t.Fatalf("the unsubscribe wrote %d deliveries, want 1", n-before)
	}
	api.waitDeliveries(t, before+1)
	got := unsubRcv.events(t, unsubSecret)
	if len(got) != 1 {
		t.Fatalf("the EMAIL_UNSUBSCRIBED endpoint got %d events, want 1", len(got))
	}
	d := got[0].Data
	unsubscribedAt, _ := d["unsubscribedAt"].(string)
	at, err := time.Parse(time.RFC3339Nano, unsubscribedAt)
	if got[0].Type != "EMAIL_UNSUBSCRIBED" || d["clientId"] != client || d["emailMessageId"] != email.ID || err != nil ||
		at.Before(sent.Add(-time.Second)) || at.After(time.Now()) {
		t.Fatalf("event %+v (sent at %v)", got[0], sent)
	}
	for _, req := range unsubRcv.requests() {
		if strings.Contains(string(req.body), token) {
			t.Fatalf("the event carries the unsubscribe token: %s", req.body)
		}
	}
	if evs := tasksRcv.events(t, tasksSecret); len(evs) != len(tasks) ||
		slices.ContainsFunc(evs, func(e event) bool { return e.Type != "TASK_CREATED" }) {
		t.Fatalf("the TASK_CREATED endpoint got %+v", evs)
	}

	// The link again: consent is already off, nothing is sent.
	oneClick()
	if n := api.deliveryCount(t); n != before+1 {
		t.Fatalf("the reused link wrote %d more deliveries", n-before-1)
	}
}
