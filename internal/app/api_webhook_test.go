package app

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/estateflow/estateflow/ent"
	"github.com/estateflow/estateflow/ent/webhookdelivery"
	"github.com/estateflow/estateflow/ent/workflowpackage"
	"github.com/estateflow/estateflow/modules/webhooks"
)

// received is one request a webhook receiver got.
type received struct {
	id, timestamp, signature string
	body                     []byte
	at                       time.Time
}

// receiver is a webhook endpoint that answers with the status its script
// gives for each request in turn (the last one for every later request).
type receiver struct {
	srv *httptest.Server

	mu     sync.Mutex
	script []int
	got    []received
}

func newReceiver(t *testing.T, script ...int) *receiver {
	r := &receiver{script: script}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		r.got = append(r.got, received{req.Header.Get("webhook-id"), req.Header.Get("webhook-timestamp"),
			req.Header.Get("webhook-signature"), body, time.Now()})
		code := r.script[min(len(r.got), len(r.script))-1]
		r.mu.Unlock()
		w.WriteHeader(code)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) requests() []received {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]received(nil), r.got...)
}

// verifySignature checks a delivery as the Standard Webhooks spec tells a
// receiver to, written here independently of the sender's code: the key is
// the base64 after whsec_, the signed content "id.timestamp.body", the
// header a space-separated list of "v1,<base64 HMAC-SHA256>", and the
// timestamp within five minutes.
func verifySignature(secret string, r received) error {
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if err != nil {
		return fmt.Errorf("secret: %w", err)
	}
	ts, err := strconv.ParseInt(r.timestamp, 10, 64)
	if err != nil {
		return fmt.Errorf("timestamp %q: %w", r.timestamp, err)
	}
	if d := time.Since(time.Unix(ts, 0)); d > 5*time.Minute || d < -5*time.Minute {
		return fmt.Errorf("timestamp %d is %v away", ts, d)
	}
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(r.id + "." + r.timestamp + "." + string(r.body)))
	want := mac.Sum(nil)
	for _, sig := range strings.Fields(r.signature) {
		version, b64, ok := strings.Cut(sig, ",")
		if !ok || version != "v1" {
			continue
		}
		got, err := base64.StdEncoding.DecodeString(b64)
		if err == nil && hmac.Equal(got, want) {
			return nil
		}
	}
	return fmt.Errorf("no v1 signature in %q matches", r.signature)
}

func (a *testAPI) createEndpoint(t *testing.T, url string, types ...string) (id, secret string) {
	t.Helper()
	var out struct {
		CreateWebhookEndpoint struct {
			Endpoint struct{ ID string }
			Secret   string
		} `json:"createWebhookEndpoint"`
	}
	a.do(`mutation($url: String!, $types: [String!]!) {
  createWebhookEndpoint(input: {url: $url, eventTypes: $types}) { endpoint { id } secret }
}`, map[string]any{"url": url, "types": types}).ok(t, &out)
	return out.CreateWebhookEndpoint.Endpoint.ID, out.CreateWebhookEndpoint.Secret
}

// finishRun starts Lead Nurture on a new client and waits for its end.
func (a *testAPI) finishRun(t *testing.T, name string) int {
	t.Helper()
	clientID := a.createClient(t, name)
	pkg, err := a.ent().WorkflowPackage.Query().Where(workflowpackage.Key("lead-nurture")).Only(a.ctx())
	if err != nil {
		t.Fatal(err)
	}
	var out struct {
		StartRun struct{ ID string } `json:"startRun"`
	}
	a.do(`mutation($p: ID!, $c: ID!) { startRun(input: {packageId: $p, clientId: $c}) { id } }`,
		map[string]any{"p": fmt.Sprint(pkg.ID), "c": fmt.Sprint(clientID)}).ok(t, &out)
	id, _ := strconv.Atoi(out.StartRun.ID)
	a.waitRun(t, id)
	return id
}

// waitDeliveries waits until n delivery attempts were made and none is
// pending.
func (a *testAPI) waitDeliveries(t *testing.T, n int) []*ent.WebhookDelivery {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		ds, err := a.ent().WebhookDelivery.Query().Order(webhookdelivery.ByID()).All(a.ctx())
		if err != nil {
			t.Fatal(err)
		}
		pending := 0
		for _, d := range ds {
			if d.Status == webhookdelivery.StatusPENDING {
				pending++
			}
		}
		if len(ds) >= n && pending == 0 {
			return ds
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d deliveries, %d pending; want %d made", len(ds), pending, n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestWebhooksAreSignedRetriedLoggedAndDisabled(t *testing.T) {
	t.Parallel()
	backoff := func(n int) time.Duration { return time.Duration(n) * 40 * time.Millisecond }
	api := newTestAPI(t, testOptions{executors: fastLeadNurture(), webhooks: func(h *webhooks.Handler) {
		h.Backoff, h.MaxAttempts, h.DisableAfter = backoff, 3, 2
	}})
	// Two refusals, then success; later, refusals only.
	rcv := newReceiver(t, 500, 503, 200, 500)
	endpointID, secret := api.createEndpoint(t, rcv.srv.URL+"/hooks", "RUN_FINISHED", "STEP_FAILED")
	if !strings.HasPrefix(secret, "whsec_") {
		t.Fatalf("secret %q is not a Standard Webhooks secret", secret)
	}

	runID := api.finishRun(t, "Gia Moreno")
	api.waitDeliveries(t, 3)
	got := rcv.requests()
	if len(got) != 3 {
		t.Fatalf("the receiver got %d requests, want 3 (two refused, one accepted)", len(got))
	}
	for i, r := range got {
		if err := verifySignature(secret, r); err != nil {
			t.Errorf("request %d: %v", i+1, err)
		}
		if r.id != got[0].id || !strings.HasPrefix(r.id, "msg_") {
			t.Errorf("request %d has webhook-id %q, want the message's %q on every attempt", i+1, r.id, got[0].id)
		}
		if i > 0 {
			if gap := r.at.Sub(got[i-1].at); gap < backoff(i) {
				t.Errorf("attempt %d came %v after the previous one, before its backoff of %v", i+1, gap, backoff(i))
			}
		}
	}
	var body struct {
		Type string
		Data struct {
			RunID  string `json:"runId"`
			Status string
		}
	}
	if err := json.Unmarshal(got[0].body, &body); err != nil {
		t.Fatal(err)
	}
	if body.Type != "RUN_FINISHED" || body.Data.RunID != fmt.Sprint(runID) || body.Data.Status != "SUCCEEDED" {
		t.Fatalf("payload: %s", got[0].body)
	}
	// A receiver that checks signatures refuses a tampered body.
	tampered := got[0]
	tampered.body = []byte(strings.Replace(string(tampered.body), "SUCCEEDED", "FAILED", 1))
	if verifySignature(secret, tampered) == nil {
		t.Fatal("a tampered body verifies")
	}

	// The log, through GraphQL, is what the receiver saw.
	var log struct {
		Node struct {
			Enabled    bool
			Deliveries struct {
				Edges []struct {
					Node struct {
						MessageID    string `json:"messageID"`
						Attempt      int
						Status       string
						ResponseCode *int `json:"responseCode"`
						Final        bool
					}
				}
			}
		}
	}
	api.do(`query($id: ID!) { node(id: $id) { ... on WebhookEndpoint { enabled deliveries(first: 20) { edges { node { messageID attempt status responseCode final } } } } } }`,
		map[string]any{"id": endpointID}).ok(t, &log)
	wantCodes := []int{500, 503, 200}
	if len(log.Node.Deliveries.Edges) != len(got) {
		t.Fatalf("the log has %d deliveries, the receiver got %d requests", len(log.Node.Deliveries.Edges), len(got))
	}
	for i, e := range log.Node.Deliveries.Edges {
		d := e.Node
		wantStatus := "FAILED"
		if i == 2 {
			wantStatus = "SUCCEEDED"
		}
		if d.MessageID != got[i].id || d.Attempt != i+1 || d.Status != wantStatus || d.ResponseCode == nil || *d.ResponseCode != wantCodes[i] || d.Final != (i == 2) {
			t.Errorf("log entry %d: %+v", i+1, d)
		}
	}

	// From now on every request is refused: each message fails for good
	// after 3 attempts, and the second such message disables the endpoint.
	api.finishRun(t, "Hal Ortiz")
	api.waitDeliveries(t, 6)
	if ep, _ := api.ent().WebhookEndpoint.Query().Only(api.ctx()); !ep.Enabled || ep.ConsecutiveFailures != 1 {
		t.Fatalf("after one message failed for good: enabled %v, %d failures", ep.Enabled, ep.ConsecutiveFailures)
	}
	api.finishRun(t, "Ida Brooks")
	api.waitDeliveries(t, 9)
	ep, err := api.ent().WebhookEndpoint.Query().Only(api.ctx())
	if err != nil {
		t.Fatal(err)
	}
	if ep.Enabled || ep.DisabledReason == nil || !strings.Contains(*ep.DisabledReason, "2 deliveries in a row") {
		t.Fatalf("after two messages failed for good: enabled %v, reason %v", ep.Enabled, ep.DisabledReason)
	}
	var notes struct {
		Notifications struct {
			Edges []struct {
				Node struct{ Kind, Title, Body string }
			}
		}
	}
	api.do(`{ notifications(first: 5) { edges { node { kind title body } } } }`, nil).ok(t, &notes)
	if len(notes.Notifications.Edges) != 1 || notes.Notifications.Edges[0].Node.Kind != "WEBHOOK_ENDPOINT_DISABLED" ||
		!strings.Contains(notes.Notifications.Edges[0].Node.Body, rcv.srv.URL) {
		t.Fatalf("notifications: %+v", notes)
	}
	// A disabled endpoint gets nothing more.
	before := len(rcv.requests())
	api.finishRun(t, "Jon Pike")
	if n, _ := api.ent().WebhookDelivery.Query().Count(api.ctx()); n != 9 {
		t.Fatalf("a disabled endpoint got %d deliveries in all, want 9", n)
	}
	if after := len(rcv.requests()); after != before || after != 9 {
		t.Fatalf("the receiver got %d requests, then %d", before, after)
	}
}

func TestWebhookEndpointValidationAndTenancy(t *testing.T) {
	t.Parallel()
	api := newTestAPI(t, testOptions{})
	tests := []struct {
		name, url string
		types     []string
		field     string
	}{
		{"not http", "ftp://example.com/hook", []string{"RUN_FINISHED"}, "input.url"},
		{"a file URL", "file:///etc/passwd", []string{"RUN_FINISHED"}, "input.url"},
		{"credentials in the URL", "https://user:pw@example.com/hook", []string{"RUN_FINISHED"}, "input.url"},
		{"no host", "https:///hook", []string{"RUN_FINISHED"}, "input.url"},
		{"an unknown event type", "https://example.com/hook", []string{"RUN_EXPLODED"}, "input.eventTypes"},
		{"a repeated event type", "https://example.com/hook", []string{"TASK_CREATED", "TASK_CREATED"}, "input.eventTypes"},
		{"no event type", "https://example.com/hook", []string{}, "input.eventTypes"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			api.do(`mutation($url: String!, $types: [String!]!) { createWebhookEndpoint(input: {url: $url, eventTypes: $types}) { secret } }`,
				map[string]any{"url": tc.url, "types": tc.types}).wantError(t, "BAD_USER_INPUT", tc.field)
		})
	}
	id, _ := api.createEndpoint(t, "https://example.com/hook", "STEP_FAILED")
	// The secret is shown once: the endpoint type has no field for it.
	if r := api.do(`{ webhookEndpoints(first: 1) { edges { node { secret } } } }`, nil); len(r.Errors) == 0 {
		t.Fatal("the secret can be read back")
	}
	api.do(`mutation($id: ID!) { updateWebhookEndpoint(id: $id, input: {url: "gopher://example.com"}) { id } }`,
		map[string]any{"id": id}).wantError(t, "BAD_USER_INPUT", "input.url")

	rival, _ := rivalToken(t, api)
	api.postAs(rival, "application/json", []byte(fmt.Sprintf(`{"query":"mutation { updateWebhookEndpoint(id: \"%s\", input: {enabled: false}) { id } }"}`, id))).
		wantError(t, "NOT_FOUND", "id")
	api.postAs(rival, "application/json", []byte(fmt.Sprintf(`{"query":"mutation { deleteWebhookEndpoint(id: \"%s\") }"}`, id))).
		wantError(t, "NOT_FOUND", "id")
	var theirs struct {
		WebhookEndpoints struct{ TotalCount int } `json:"webhookEndpoints"`
	}
	api.postAs(rival, "application/json", []byte(`{"query":"{ webhookEndpoints(first: 5) { totalCount } }"}`)).ok(t, &theirs)
	if theirs.WebhookEndpoints.TotalCount != 0 {
		t.Fatalf("another organization sees %d endpoints", theirs.WebhookEndpoints.TotalCount)
	}
}
