package app

import (
	"math"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/estateflow/estateflow/ent"
	"github.com/estateflow/estateflow/ent/emailmessage"
	"github.com/estateflow/estateflow/ent/task"
	"github.com/estateflow/estateflow/modules/calendar"
)

// nurturePlaceholders are what an agent would have to fix before sending:
// zero or empty values standing in for facts the client never gave,
// template leftovers, and the rules' own vocabulary.
var nurturePlaceholders = []*regexp.Regexp{
	regexp.MustCompile(`\b0 (homes?|listings?|bedrooms?|beds?|baths?)\b`), regexp.MustCompile(`\$0\b`),
	regexp.MustCompile(`\{\{|\}\}|%!|<nil>|\bNaN\b`), regexp.MustCompile(`(?i)\b(hi|dear|hello),?\s*[,!]`),
	regexp.MustCompile(`\(s\)`), regexp.MustCompile(`(?i)\bcomps?\b`), regexp.MustCompile(`(?i)\bapprais`),
}

func nurtureReviewText(t *testing.T, what, text string) {
	t.Helper()
	if strings.TrimSpace(text) == "" {
		t.Errorf("%s is empty", what)
	}
	for _, re := range nurturePlaceholders {
		if m := re.FindString(text); m != "" {
			t.Errorf("%s has %q: %q", what, m, text)
		}
	}
}

// TestLeadNurtureAgentReview runs Lead Nurture on every demo client and
// reads what it wrote as the agent who must send it would: every email is
// lawful (sender, postal address, a working unsubscribe link and the
// one-click header values) and goes only to a client who agreed to email;
// no subject, body or task shows a placeholder; no email or task falls on a
// federal holiday; no call or text is planned without a phone number; and
// no ad audience is centred farther than 30 miles from the organization's
// homes.
func TestLeadNurtureAgentReview(t *testing.T) {
	t.Parallel()
	api := newTestAPI(t, testOptions{demo: true})
	ctx := api.ctx()
	var pkgs struct {
		Packages struct {
			Edges []struct{ Node struct{ ID string } } `json:"edges"`
		} `json:"packages"`
	}
	api.do(`{ packages(first: 1, where: {key: "lead-nurture"}) { edges { node { id } } } }`, nil).ok(t, &pkgs)
	pkg := pkgs.Packages.Edges[0].Node.ID
	clients, err := api.ent().Contact.Query().All(ctx)
	if err != nil || len(clients) < 10 {
		t.Fatalf("%d demo clients (%v)", len(clients), err)
	}
	org, err := api.ent().Organization.Get(ctx, api.orgID)
	if err != nil {
		t.Fatal(err)
	}
	loc, err := time.LoadLocation(org.Timezone)
	if err != nil {
		t.Fatal(err)
	}
	homes, err := api.ent().Property.Query().All(ctx)
	if err != nil {
		t.Fatal(err)
	}

	runOf := map[int]int{} // client → run
	runIDs := make([]int, 0, len(clients))
	for _, c := range clients {
		var started struct {
			StartRun struct{ ID string } `json:"startRun"`
		}
		api.do(`mutation($pkg: ID!, $c: ID!) { startRun(input: {packageId: $pkg, clientId: $c}) { id } }`,
			map[string]any{"pkg": pkg, "c": strconv.Itoa(c.ID)}).ok(t, &started)
		id := mustInt(t, started.StartRun.ID)
		runOf[c.ID] = id
		runIDs = append(runIDs, id)
	}
	for _, id := range runIDs {
		api.waitRun(t, id)
	}
	byID := map[int]*ent.Contact{}
	for _, c := range clients {
		byID[c.ID] = c
	}

	emails, err := api.ent().EmailMessage.Query().Where(emailmessage.RunIDIn(runIDs...)).All(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(emails) == 0 {
		t.Fatal("Lead Nurture on the demo clients scheduled no email")
	}
	unsubscribe := DefaultPublicURL + "/u/"
	for _, e := range emails {
		c := byID[e.ClientID]
		what := "email " + strconv.Itoa(e.ID) + " to " + c.Name
		if !c.EmailOptIn || c.Email == nil {
			t.Errorf("%s: the client has not agreed to email", what)
		}
		nurtureReviewText(t, what+" subject", e.Subject)
		nurtureReviewText(t, what+" body", e.Body)
		if e.FromName != org.SenderName || e.FromEmail != org.SenderEmail {
			t.Errorf("%s: from %q <%s>, want the organization's sender", what, e.FromName, e.FromEmail)
		}
		if !strings.Contains(e.Body, org.PostalAddress) {
			t.Errorf("%s: no postal address in the body", what)
		}
		if !strings.Contains(e.Body, unsubscribe) || !strings.HasPrefix(e.ListUnsubscribe, "<"+unsubscribe) {
			t.Errorf("%s: no unsubscribe link (body or List-Unsubscribe %q)", what, e.ListUnsubscribe)
		}
		if e.ListUnsubscribePost != "List-Unsubscribe=One-Click" {
			t.Errorf("%s: List-Unsubscribe-Post %q", what, e.ListUnsubscribePost)
		}
		if h, ok := calendar.FederalHoliday(e.ScheduledAt.In(loc)); ok {
			t.Errorf("%s: scheduled on %s", what, h.Name)
		}
	}

	tasks, err := api.ent().Task.Query().Where(task.RunIDIn(runIDs...)).All(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(tasks) == 0 {
		t.Fatal("Lead Nurture on the demo clients planned no task")
	}
	for _, tk := range tasks {
		c := byID[tk.ClientID]
		what := "task " + strconv.Itoa(tk.ID) + " (" + tk.Title + ")"
		nurtureReviewText(t, what+" title", tk.Title)
		nurtureReviewText(t, what+" notes", tk.Notes)
		if (tk.Type == task.TypeCALL || tk.Type == task.TypeTEXT) && (c.Phone == nil || *c.Phone == "") {
			t.Errorf("%s: a %s for %s, who has no phone number", what, tk.Type, c.Name)
		}
		if h, ok := calendar.FederalHoliday(tk.DueAt.In(loc)); ok {
			t.Errorf("%s: due on %s", what, h.Name)
		}
	}

	t.Logf("%d clients: %d emails and %d tasks reviewed", len(clients), len(emails), len(tasks))

	// Every audience aims where the organization has homes.
	for clientID, run := range runOf {
		var res struct {
			Node struct {
				Status string
				Steps  []struct {
					Key    string
					Output struct {
						Basis, Reason string
						Audience      *struct{ CenterLatitude, CenterLongitude float64 }
					}
				}
			} `json:"node"`
		}
		api.do(`query($id: ID!) { node(id: $id) { ... on Run { status steps { key output {
			... on SocialTargeting { basis reason audience { centerLatitude centerLongitude } } } } } } }`,
			map[string]any{"id": strconv.Itoa(run)}).ok(t, &res)
		if res.Node.Status != "SUCCEEDED" {
			t.Errorf("%s's run: %s", byID[clientID].Name, res.Node.Status)
			continue
		}
		for _, s := range res.Node.Steps {
			if s.Key != "targeting" {
				continue
			}
			a := s.Output.Audience
			if a == nil {
				if s.Output.Basis != "NONE" || s.Output.Reason == "" {
					t.Errorf("%s: no audience, basis %q, reason %q", byID[clientID].Name, s.Output.Basis, s.Output.Reason)
				}
				continue
			}
			nearest := math.Inf(1)
			for _, h := range homes {
				if h.Latitude != 0 || h.Longitude != 0 {
					nearest = min(nearest, milesApart(a.CenterLatitude, a.CenterLongitude, h.Latitude, h.Longitude))
				}
			}
			if nearest > 30 {
				t.Errorf("%s: audience centred %.0f miles from the nearest of the organization's homes (%v, %v)",
					byID[clientID].Name, nearest, a.CenterLatitude, a.CenterLongitude)
			}
		}
	}
}

// milesApart is the great-circle distance, computed here rather than with
// the module's own function so that a wrong formula there cannot hide.
func milesApart(lat1, lng1, lat2, lng2 float64) float64 {
	const earthMiles = 3958.8
	rad := math.Pi / 180
	dLat, dLng := (lat2-lat1)*rad, (lng2-lng1)*rad
	h := math.Sin(dLat/2)*math.Sin(dLat/2) + math.Cos(lat1*rad)*math.Cos(lat2*rad)*math.Sin(dLng/2)*math.Sin(dLng/2)
	return 2 * earthMiles * math.Asin(math.Sqrt(h))
}
