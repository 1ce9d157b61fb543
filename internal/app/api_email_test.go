package app

import (
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// nurture starts the built-in Lead Nurture package on a client and waits
// for the run to succeed; it returns the run's ID and its steps' outputs.
func (a *testAPI) nurture(t *testing.T, clientID string) (string, map[string]map[string]any) {
	t.Helper()
	var pkgs struct {
		Packages struct {
			Edges []struct{ Node struct{ ID string } } `json:"edges"`
		} `json:"packages"`
	}
	a.do(`{ packages(first: 1, where: {key: "lead-nurture"}) { edges { node { id } } } }`, nil).ok(t, &pkgs)
	var started struct {
		StartRun struct{ ID string } `json:"startRun"`
	}
	a.do(`mutation($pkg: ID!, $c: ID!) { startRun(input: {packageId: $pkg, clientId: $c}) { id } }`,
		map[string]any{"pkg": pkgs.Packages.Edges[0].Node.ID, "c": clientID}).ok(t, &started)
	a.waitRun(t, mustInt(t, started.StartRun.ID))
	var r struct {
		Node struct {
			Status string
			Steps  []struct {
				Key, Status, Error string
				Output             map[string]any
			}
		} `json:"node"`
	}
	a.do(`query($id: ID!) { node(id: $id) { ... on Run { status steps { key status error output { __typename
		... on EmailSequence { consent reason messages { template subject body fromName fromEmail listUnsubscribe listUnsubscribePost unsubscribeUrl scheduledAt }
			skipped { template reason } superseded { runId count } market { sales lines } fairHousing { passed } }
		... on FollowUpPlan { reason tasks { type } superseded { runId count } } } } } } }`,
		map[string]any{"id": started.StartRun.ID}).ok(t, &r)
	if r.Node.Status != "SUCCEEDED" {
		t.Fatalf("run %s: %+v", r.Node.Status, r.Node.Steps)
	}
	out := map[string]map[string]any{}
	for _, s := range r.Node.Steps {
		out[s.Key] = s.Output
	}
	return started.StartRun.ID, out
}

type storedEmail struct {
	ID, Subject, Body, Status string
	FromName, FromEmail       string
	ListUnsubscribe           string  `json:"listUnsubscribe"`
	ListUnsubscribePost       string  `json:"listUnsubscribePost"`
	RunID                     *int    `json:"runID"`
	SupersededByRunID         *string `json:"supersededByRunID"` // an ID
	ScheduledAt               time.Time
}

func (a *testAPI) emailsOf(t *testing.T, clientID string) []storedEmail {
	t.Helper()
	var got struct {
		EmailMessages struct {
			Edges []struct{ Node storedEmail } `json:"edges"`
		} `json:"emailMessages"`
	}
	a.do(`query($c: ID!) { emailMessages(first: 50, where: {clientID: $c}, orderBy: {field: SCHEDULED_AT}) { edges { node {
		id subject body status fromName fromEmail listUnsubscribe listUnsubscribePost runID supersededByRunID scheduledAt } } } }`,
		map[string]any{"c": clientID}).ok(t, &got)
	out := make([]storedEmail, len(got.EmailMessages.Edges))
	for i, e := range got.EmailMessages.Edges {
		out[i] = e.Node
	}
	return out
}

func (a *testAPI) createConsentingClient(t *testing.T, name, email string) string {
	t.Helper()
	var created struct {
		CreateClient struct{ ID string } `json:"createClient"`
	}
	a.do(`mutation($name: String!, $email: String!) { createClient(input: {name: $name, email: $email, emailOptIn: true, source: WEBSITE,
		budgetMax: 650000, desiredBeds: 3, preferredAreas: ["78704", "78745"]}) { id } }`,
		map[string]any{"name": name, "email": email}).ok(t, &created)
	return created.CreateClient.ID
}

var (
	footerLink = regexp.MustCompile(`unsubscribe with one click: (\S+)`)
	tokenLink  = regexp.MustCompile(`^` + regexp.QuoteMeta(DefaultPublicURL) + `/u/[A-Za-z0-9_-]{43}$`)
)

// TestUnsubscribeEndToEnd is acceptance 2: Lead Nurture on a consenting
// client schedules lawful emails; the link in a scheduled email's body,
// followed through the real server, shows a confirmation page (GET) and
// unsubscribes with one click (POST): consent off, pending emails
// canceled, in one go; the link works again harmlessly; a forged one is
// 404 NOT_FOUND.
func TestUnsubscribeEndToEnd(t *testing.T) {
	t.Parallel()
	api := newTestAPI(t, testOptions{demo: true})
	client := api.createConsentingClient(t, "Ana Ruiz", "ana.ruiz@example.com")
	_, out := api.nurture(t, client)
	if out["email"]["consent"] != true || len(out["email"]["messages"].([]any)) == 0 {
		t.Fatalf("email step %v", out["email"])
	}

	emails := api.emailsOf(t, client)
	if len(emails) == 0 {
		t.Fatal("no email scheduled")
	}
	seen := map[string]bool{}
	for _, e := range emails {
		link := footerLink.FindStringSubmatch(e.Body)
		if e.Status != "SCHEDULED" || e.FromName == "" || e.FromEmail == "" || link == nil ||
			e.ListUnsubscribe != "<"+link[1]+">" || e.ListUnsubscribePost != "List-Unsubscribe=One-Click" {
			t.Fatalf("email %s is not lawful as stored: %+v", e.ID, e)
		}
		// The link is the public URL and one opaque token, its own.
		if !tokenLink.MatchString(link[1]) || seen[link[1]] {
			t.Errorf("link %s is not one opaque token of its own", link[1])
		}
		seen[link[1]] = true
	}
	link := footerLink.FindStringSubmatch(emails[len(emails)-1].Body)[1]
	u, err := url.Parse(link)
	if err != nil || u.Scheme+"://"+u.Host != DefaultPublicURL || !strings.HasPrefix(u.Path, "/u/") {
		t.Fatalf("link %q is not on the public URL", link)
	}
	target := api.srv.URL + u.Path

	// GET: a confirmation page that changes nothing.
	status, header, body := send(t, http.MethodGet, target, "", nil, map[string]string{"Accept": "text/html"})
	if status != http.StatusOK || !strings.HasPrefix(header.Get("Content-Type"), "text/html") ||
		!strings.Contains(string(body), `<form method="post">`) || header.Get("Referrer-Policy") != "no-referrer" {
		t.Fatalf("GET %d %v: %s", status, header, body)
	}
	if got := api.emailsOf(t, client); got[0].Status != "SCHEDULED" {
		t.Fatalf("GET changed the emails: %+v", got[0])
	}

	// POST, one-click as RFC 8058 sends it.
	oneClick := func() (int, []byte) {
		status, _, body := send(t, http.MethodPost, target, "", strings.NewReader("List-Unsubscribe=One-Click"),
			map[string]string{"Content-Type": "application/x-www-form-urlencoded"})
		return status, body
	}
	status, body = oneClick()
	var done struct {
		Unsubscribed   bool `json:"unsubscribed"`
		CanceledEmails int  `json:"canceledEmails"`
	}
	if status != http.StatusOK || json.Unmarshal(body, &done) != nil || !done.Unsubscribed || done.CanceledEmails != len(emails) {
		t.Fatalf("POST %d: %s (want %d canceled)", status, body, len(emails))
	}
	var c struct {
		Node struct{ EmailOptIn bool } `json:"node"`
	}
	api.do(`query($id: ID!) { node(id: $id) { ... on Client { emailOptIn } } }`, map[string]any{"id": client}).ok(t, &c)
	if c.Node.EmailOptIn {
		t.Fatal("emailOptIn is still true")
	}
	for _, e := range api.emailsOf(t, client) {
		if e.Status != "CANCELED" {
			t.Fatalf("email %s is %s after unsubscribing", e.ID, e.Status)
		}
	}

	// Reused: harmless, 200 again, nothing left to cancel.
	if status, body = oneClick(); status != http.StatusOK || json.Unmarshal(body, &done) != nil || done.CanceledEmails != 0 {
		t.Fatalf("reused POST %d: %s", status, body)
	}
	if status, _, body = send(t, http.MethodGet, target, "", nil, nil); status != http.StatusOK {
		t.Fatalf("reused GET %d: %s", status, body)
	}

	// A new run now respects the withdrawn consent: no email, and says why.
	_, again := api.nurture(t, client)
	if again["email"]["consent"] != false || len(again["email"]["messages"].([]any)) != 0 || len(again["email"]["skipped"].([]any)) == 0 ||
		!strings.Contains(again["email"]["reason"].(string), "not opted in") {
		t.Fatalf("after unsubscribing: %v", again["email"])
	}

	// Forged, tampered and malformed tokens: 404 NOT_FOUND, in JSON or
	// HTML, the same whatever the reason.
	token := strings.TrimPrefix(u.Path, "/u/")
	tampered := []byte(token)
	tampered[len(tampered)-2] ^= 1
	if tampered[len(tampered)-2] == '-' || tampered[len(tampered)-2] == '_' {
		tampered[len(tampered)-2] = 'A'
	}
	for _, bad := range []string{string(tampered), strings.Repeat("A", 43), client, "not-a-token"} {
		for _, method := range []string{http.MethodGet, http.MethodPost} {
			status, _, body := send(t, method, api.srv.URL+"/u/"+bad, "", nil, nil)
			var e struct {
				Error struct{ Code, Message string } `json:"error"`
			}
			if status != http.StatusNotFound || json.Unmarshal(body, &e) != nil || e.Error.Code != "NOT_FOUND" {
				t.Errorf("%s /u/%s: %d %s", method, bad, status, body)
			}
		}
	}
	status, _, body = send(t, http.MethodGet, api.srv.URL+"/u/"+strings.Repeat("B", 43), "", nil, map[string]string{"Accept": "text/html"})
	if status != http.StatusNotFound || !strings.Contains(string(body), "NOT_FOUND") {
		t.Errorf("HTML 404: %d %s", status, body)
	}
}

// TestLeadNurtureTwiceLeavesOneDrip is acceptance 3: a second Lead Nurture
// run on a client supersedes the first one's pending emails and open
// follow-ups, says so, and leaves no two pending emails within an hour.
func TestLeadNurtureTwiceLeavesOneDrip(t *testing.T) {
	t.Parallel()
	api := newTestAPI(t, testOptions{demo: true})
	client := api.createConsentingClient(t, "Ben Ortiz", "ben.ortiz@example.com")
	first, out1 := api.nurture(t, client)
	firstEmails := len(out1["email"]["messages"].([]any))
	firstTasks := len(out1["follow-up"]["tasks"].([]any))
	if firstEmails == 0 || firstTasks == 0 || len(out1["email"]["superseded"].([]any)) != 0 {
		t.Fatalf("first run: %v / %v", out1["email"], out1["follow-up"])
	}
	second, out2 := api.nurture(t, client)
	firstID, secondID := mustInt(t, first), mustInt(t, second)

	// The outputs say what was superseded, and from which run.
	for step, n := range map[string]int{"email": firstEmails, "follow-up": firstTasks} {
		sup := out2[step]["superseded"].([]any)
		if len(sup) != 1 || sup[0].(map[string]any)["runId"] != first || int(sup[0].(map[string]any)["count"].(float64)) != n {
			t.Errorf("%s superseded %v, want %d from run %s", step, sup, n, first)
		}
		if want := "from run " + first; !strings.Contains(out2[step]["reason"].(string), want) {
			t.Errorf("%s reason %q lacks %q", step, out2[step]["reason"], want)
		}
	}

	// One active drip: the first run's emails are canceled and marked.
	var pending []storedEmail
	for _, e := range api.emailsOf(t, client) {
		switch {
		case e.RunID != nil && *e.RunID == firstID:
			if e.Status != "CANCELED" || e.SupersededByRunID == nil || *e.SupersededByRunID != strconv.Itoa(secondID) {
				t.Errorf("first run's email %s: %s, superseded by %v", e.ID, e.Status, e.SupersededByRunID)
			}
		case e.Status == "SCHEDULED":
			pending = append(pending, e)
		}
	}
	if len(pending) != len(out2["email"]["messages"].([]any)) {
		t.Fatalf("%d pending emails, want the second run's %d", len(pending), len(out2["email"]["messages"].([]any)))
	}
	for i := 1; i < len(pending); i++ {
		if gap := pending[i].ScheduledAt.Sub(pending[i-1].ScheduledAt); gap < time.Hour {
			t.Errorf("two pending emails %s apart: %q and %q", gap, pending[i-1].Subject, pending[i].Subject)
		}
	}

	// And the follow-ups: only the second run's are open.
	var tasks struct {
		Tasks struct {
			Edges []struct {
				Node struct {
					Status string
					// An Int, or an ID once tasks link to their run.
					RunID             json.Number `json:"runID"`
					SupersededByRunID *string     `json:"supersededByRunID"` // an ID
				}
			} `json:"edges"`
		} `json:"tasks"`
	}
	api.do(`query($c: ID!) { tasks(first: 50, where: {clientID: $c}) { edges { node { status runID supersededByRunID } } } }`,
		map[string]any{"c": client}).ok(t, &tasks)
	open := 0
	for _, e := range tasks.Tasks.Edges {
		n := e.Node
		runID, err := n.RunID.Int64()
		if err != nil {
			t.Fatalf("task run %q: %v", n.RunID, err)
		}
		if int(runID) == firstID && (n.Status != "CANCELED" || n.SupersededByRunID == nil || *n.SupersededByRunID != strconv.Itoa(secondID)) {
			t.Errorf("first run's task: %+v", n)
		}
		if n.Status == "OPEN" {
			open++
			if int(runID) != secondID {
				t.Errorf("an open task of run %d", runID)
			}
		}
	}
	if open != len(out2["follow-up"]["tasks"].([]any)) {
		t.Errorf("%d open tasks, want %d", open, len(out2["follow-up"]["tasks"].([]any)))
	}
}

// TestEmailStepNeedsTheSenderProfile: with a consenting client and no
// postal address in the profile, the email step fails permanently, naming
// the field; nothing is scheduled.
func TestEmailStepNeedsTheSenderProfile(t *testing.T) {
	t.Parallel()
	api := newTestAPI(t, testOptions{demo: true})
	api.do(`mutation { updateOrganization(input: {postalAddress: ""}) { id } }`, nil).ok(t, nil)
	client := api.createConsentingClient(t, "Cleo Park", "cleo@example.com")
	var pkgs struct {
		Packages struct {
			Edges []struct{ Node struct{ ID string } } `json:"edges"`
		} `json:"packages"`
	}
	api.do(`{ packages(first: 1, where: {key: "lead-nurture"}) { edges { node { id } } } }`, nil).ok(t, &pkgs)
	var started struct {
		StartRun struct{ ID string } `json:"startRun"`
	}
	api.do(`mutation($pkg: ID!, $c: ID!) { startRun(input: {packageId: $pkg, clientId: $c}) { id } }`,
		map[string]any{"pkg": pkgs.Packages.Edges[0].Node.ID, "c": client}).ok(t, &started)
	api.waitRun(t, mustInt(t, started.StartRun.ID))
	var r struct {
		Node struct {
			Steps []struct{ Key, Status, Error string }
		} `json:"node"`
	}
	api.do(`query($id: ID!) { node(id: $id) { ... on Run { steps { key status error } } } }`, map[string]any{"id": started.StartRun.ID}).ok(t, &r)
	found := false
	for _, s := range r.Node.Steps {
		if s.Key == "email" {
			found = true
			if s.Status != "FAILED" || !strings.Contains(s.Error, "postalAddress") {
				t.Fatalf("email step %+v", s)
			}
		}
	}
	if !found {
		t.Fatalf("no email step: %+v", r.Node.Steps)
	}
	if n := len(api.emailsOf(t, client)); n != 0 {
		t.Fatalf("%d emails scheduled without a postal address", n)
	}
}
