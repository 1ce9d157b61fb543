package app

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/estateflow/estateflow/ent"
	"github.com/estateflow/estateflow/ent/contact"
	"github.com/estateflow/estateflow/ent/deal"
	"github.com/estateflow/estateflow/ent/property"
	"github.com/estateflow/estateflow/internal/numfmt"
)

// pastClient creates a client who bought home (a CLOSED buyer-side
// transaction at its sale price and date).
func (a *testAPI) pastClient(t *testing.T, name, email string, optIn bool, home *ent.Property, side deal.Side) *ent.Contact {
	t.Helper()
	c, err := a.ent().Contact.Create().SetName(name).SetEmail(email).SetEmailOptIn(optIn).SetStage(contact.StagePAST_CLIENT).Save(a.ctx())
	if err != nil {
		t.Fatal(err)
	}
	if home != nil {
		_, err = a.ent().Deal.Create().SetClientID(c.ID).SetPropertyID(home.ID).SetSide(side).SetStage(deal.StageCLOSED).
			SetNillablePrice(home.SalePrice).SetNillableClosingDate(home.SaleDate).Save(a.ctx())
		if err != nil {
			t.Fatal(err)
		}
	}
	return c
}

type homeValueRun struct {
	Status string
	Steps  []struct {
		Key, Status, Error string
		Output             struct {
			Typename              string `json:"__typename"`
			PropertyID            string
			Address, Basis        string
			PurchaseTransactionID string
			CMA                   struct{ EstimatedValue, ValueLow, ValueHigh, ValueCompCount int }
			Consent               bool
			Reason                string
			EstimatedValue        int
			ValueLow, ValueHigh   int
			Message               *struct {
				To, FromName, FromEmail, Subject, Body string
				ListUnsubscribe, UnsubscribeURL        string
				ScheduledAt                            time.Time
			}
			Market      struct{ Areas, Lines []string }
			FairHousing struct{ Passed bool }
		}
	}
}

func (a *testAPI) homeValueUpdate(t *testing.T, clientID int) (string, homeValueRun) {
	t.Helper()
	var pkgs struct {
		Packages struct {
			Edges []struct{ Node struct{ ID string } } `json:"edges"`
		} `json:"packages"`
	}
	a.do(`{ packages(first: 1, where: {key: "home-value-update"}) { edges { node { id } } } }`, nil).ok(t, &pkgs)
	if len(pkgs.Packages.Edges) != 1 {
		t.Fatal("no home-value-update package")
	}
	var started struct{ StartRun struct{ ID string } }
	a.do(`mutation($pkg: ID!, $c: ID!) { startRun(input: {packageId: $pkg, clientId: $c}) { id } }`,
		map[string]any{"pkg": pkgs.Packages.Edges[0].Node.ID, "c": strconv.Itoa(clientID)}).ok(t, &started)
	a.waitRun(t, mustInt(t, started.StartRun.ID))
	var r struct{ Node homeValueRun }
	a.do(`query($id: ID!) { node(id: $id) { ... on Run { status steps { key status error output { __typename
		... on HomeValuation { propertyId address basis purchaseTransactionId cma { estimatedValue valueLow valueHigh valueCompCount } }
		... on HomeValueEmail { consent reason estimatedValue valueLow valueHigh
			message { to fromName fromEmail subject body listUnsubscribe unsubscribeUrl scheduledAt }
			market { areas lines } fairHousing { passed } } } } } } }`,
		map[string]any{"id": started.StartRun.ID}).ok(t, &r)
	return started.StartRun.ID, r.Node
}

// TestHomeValueUpdate runs the built-in home-value-update package on demo
// data and reads the email as the past client would: their home, a value
// range that is the CMA's, what they paid, the market figures of their ZIP
// code, and a lawful footer, with nothing left unfilled. A client without a
// home on record is refused at startRun; one without consent gets nothing.
func TestHomeValueUpdate(t *testing.T) {
	api := newTestAPI(t, testOptions{demo: true})
	home, err := api.ent().Property.Query().
		Where(property.StatusEQ(property.StatusSOLD), property.SalePriceNotNil(), property.SaleDateNotNil(), property.AddressNEQ(""), property.ZipNEQ("")).
		Order(property.BySaleDate()).First(api.ctx())
	if err != nil {
		t.Fatal(err)
	}
	dana := api.pastClient(t, "Dana Whitfield", "dana@example.com", true, home, deal.SideBUYER)

	_, r := api.homeValueUpdate(t, dana.ID)
	if r.Status != "SUCCEEDED" {
		t.Fatalf("run %s: %+v", r.Status, r.Steps)
	}
	v, e := r.Steps[0].Output, r.Steps[1].Output
	if v.Typename != "HomeValuation" || v.PropertyID != strconv.Itoa(home.ID) || v.Address != home.Address ||
		!strings.Contains(v.Basis, "closed "+home.SaleDate.Format("Jan 2, 2006")) {
		t.Fatalf("valuation %+v", v)
	}
	c := v.CMA
	if c.ValueLow <= 0 || c.ValueLow > c.EstimatedValue || c.EstimatedValue > c.ValueHigh || c.ValueCompCount < 3 {
		t.Fatalf("CMA %+v", c)
	}
	if e.Typename != "HomeValueEmail" || !e.Consent || e.Message == nil || e.ValueLow != c.ValueLow || e.ValueHigh != c.ValueHigh || !e.FairHousing.Passed {
		t.Fatalf("email output %+v", e)
	}
	m := e.Message
	first := "Dana"
	if m.To != "dana@example.com" || m.FromName != "Jordan Reyes" || !strings.HasSuffix(m.FromEmail, "@demo-realty.example.com") {
		t.Fatalf("headers: to %q from %q <%q>", m.To, m.FromName, m.FromEmail)
	}
	if want := first + ", what your home at " + home.Address + " could sell for today"; m.Subject != want {
		t.Fatalf("subject %q, want %q", m.Subject, want)
	}
	mustSay := []string{
		"Hi Dana,",
		"your home at " + home.Address + ", " + home.City + ",",
		"$" + numfmt.Thousands(c.ValueLow) + " to $" + numfmt.Thousands(c.ValueHigh),
		"$" + numfmt.Thousands(c.EstimatedValue) + " our single best estimate",
		strconv.Itoa(c.ValueCompCount) + " comparable sales within",
		"You bought it for $" + numfmt.Thousands(*home.SalePrice) + " on " + home.SaleDate.UTC().Format("January 2, 2006"),
		"How the market around " + home.Zip + " has moved",
		"not an appraisal",
		// The footer: who sends it, the postal address, why, and the way out.
		"2100 S Lamar Blvd, Suite 200, Austin, TX 78704",
		"past client of Demo Realty Austin and agreed to hear from us by email",
		"unsubscribe with one click: " + m.UnsubscribeURL,
	}
	for _, line := range e.Market.Lines {
		mustSay = append(mustSay, "- "+line)
	}
	for _, s := range mustSay {
		if !strings.Contains(m.Body, s) {
			t.Errorf("the email does not say %q:\n%s", s, m.Body)
		}
	}
	if len(e.Market.Lines) < 3 || len(e.Market.Areas) != 1 || e.Market.Areas[0] != home.Zip {
		t.Errorf("market %+v", e.Market)
	}
	for _, bad := range []string{"{{", "}}", "%!", "<nil>", "NaN", "$0 ", "$0,", " 0 comparable", "no comparable", "TODO", "Hi ,", "  "} {
		if strings.Contains(m.Body, bad) || strings.Contains(m.Subject, bad) {
			t.Errorf("the email holds %q:\n%s", bad, m.Body)
		}
	}
	if !tokenLink.MatchString(m.UnsubscribeURL) || m.ListUnsubscribe != "<"+m.UnsubscribeURL+">" {
		t.Errorf("unsubscribe link %q, header %q", m.UnsubscribeURL, m.ListUnsubscribe)
	}
	stored := api.emailsOf(t, strconv.Itoa(dana.ID))
	if len(stored) != 1 || stored[0].Subject != m.Subject || stored[0].Body != m.Body || stored[0].Status != "SCHEDULED" {
		t.Fatalf("stored emails %+v", stored)
	}

	// A client who only ever sold through us has no home on record.
	seller := api.pastClient(t, "Sam Seller", "sam@example.com", true, home, deal.SideSELLER)
	var pkg struct {
		Packages struct {
			Edges []struct{ Node struct{ ID string } }
		}
	}
	api.do(`{ packages(first: 1, where: {key: "home-value-update"}) { edges { node { id } } } }`, nil).ok(t, &pkg)
	api.do(`mutation($pkg: ID!, $c: ID!) { startRun(input: {packageId: $pkg, clientId: $c}) { id } }`,
		map[string]any{"pkg": pkg.Packages.Edges[0].Node.ID, "c": strconv.Itoa(seller.ID)}).wantError(t, "BAD_USER_INPUT", "input.clientId")

	// Without consent, nothing is sent, and the output says why.
	quiet := api.pastClient(t, "Quinn Quiet", "quinn@example.com", false, home, deal.SideBUYER)
	_, r = api.homeValueUpdate(t, quiet.ID)
	if e := r.Steps[1].Output; r.Status != "SUCCEEDED" || e.Consent || e.Message != nil || !strings.Contains(e.Reason, "not opted in") {
		t.Fatalf("without consent: %s %+v", r.Status, e)
	}
	if got := api.emailsOf(t, strconv.Itoa(quiet.ID)); len(got) != 0 {
		t.Fatalf("emails to a client without consent: %+v", got)
	}
}

// TestHomeValueSchedule: a schedule over past clients starts
// home-value-update for each; a past client without a home on record is
// listed among the outcome's errors, not run.
func TestHomeValueSchedule(t *testing.T) {
	clock := newTestClock(time.Now().Add(-time.Hour).Truncate(time.Hour))
	api := newTestAPI(t, testOptions{demo: true, clock: clock})
	homes, err := api.ent().Property.Query().
		Where(property.StatusEQ(property.StatusSOLD), property.SalePriceNotNil(), property.SaleDateNotNil(), property.AddressNEQ("")).
		Order(property.BySaleDate()).Limit(2).All(api.ctx())
	if err != nil || len(homes) < 2 {
		t.Fatalf("%d sold homes: %v", len(homes), err)
	}
	buyer := api.pastClient(t, "Ana Buyer", "ana@example.com", true, homes[0], deal.SideBUYER)
	seller := api.pastClient(t, "Sol Seller", "sol@example.com", true, homes[1], deal.SideSELLER)
	s := api.createSchedule(t, map[string]any{"name": "Quarterly home values", "cron": "0 * * * *",
		"packageKey": "home-value-update", "filter": map[string]any{"pastClients": true}})
	at := s.NextFireTimes[0]
	clock.Set(at.Add(10 * time.Second))
	if n := api.tick(t); n != 1 {
		t.Fatalf("claimed %d", n)
	}
	got := api.waitOutcome(t, s.ID, at.UTC())
	o := got.LastOutcome
	if o.Matched != 2 || o.RunsStarted != 1 || len(o.Errors) != 1 || !strings.HasPrefix(o.Errors[0], "client "+strconv.Itoa(seller.ID)+": ") ||
		!strings.Contains(o.Errors[0], "no home on record") {
		t.Fatalf("outcome %+v", o)
	}
	runs := api.scheduledRuns(t)
	if len(runs) != 1 || *runs[0].ClientID != buyer.ID {
		t.Fatalf("runs %+v", runs)
	}
	if r := api.waitRun(t, runs[0].ID); r.Status != "SUCCEEDED" {
		t.Fatalf("the scheduled run %s: %v", r.Status, r.Error)
	}
}
