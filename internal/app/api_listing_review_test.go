package app

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/estateflow/estateflow/ent/property"
	"github.com/estateflow/estateflow/modules/calendar"
)

// reviewAppraisalLanguage is what an agent strikes from an ad: the CMA's
// comparisons and the rules' leftovers.
var reviewAppraisalLanguage = []*regexp.Regexp{
	regexp.MustCompile(`(?i)\bcomps?\b`), regexp.MustCompile(`(?i)median`), regexp.MustCompile(`(?i)\bvs\b`),
	regexp.MustCompile(`(?i)than the`), regexp.MustCompile(`(?i)apprais`), regexp.MustCompile(`\(s\)`),
	regexp.MustCompile(`\b0 (homes|bedrooms|baths)\b`), regexp.MustCompile(`\$0\b`),
}

// listingReview is the part of a New Listing run an agent reads.
type listingReview struct {
	Status string
	Steps  []struct {
		Key, Status string
		Error       *string
		Output      json.RawMessage
	}
}

// TestNewListingAgentReview runs New Listing on five demo listings, over
// the Christmas holidays, and reads every output as an agent would: the
// market reading rests on enough agreeing evidence, a list price outside
// the CMA range is flagged, no date falls on a holiday, the copy is for
// buyers and advertises the list price, and every post has a call to
// action, the listing's link and a text of its own.
func TestNewListingAgentReview(t *testing.T) {
	t.Parallel()
	api := newTestAPI(t, testOptions{demo: true})
	_, pkg := api.activeListingAndNewListing(t)
	props, err := api.ent().Property.Query().Where(property.StatusEQ(property.StatusACTIVE)).Order(property.ByID()).Limit(5).All(api.ctx())
	if err != nil || len(props) < 5 {
		t.Fatalf("%d active demo properties (%v), want 5", len(props), err)
	}
	org, err := api.ent().Organization.Get(api.ctx(), props[0].OrganizationID)
	if err != nil || org.Website == "" {
		t.Fatalf("demo organization %+v (%v): the demo profile has a website", org, err)
	}
	loc, err := time.LoadLocation(org.Timezone)
	if err != nil {
		t.Fatal(err)
	}
	runs := make([]string, len(props))
	for i, p := range props {
		var started struct {
			StartRun struct{ ID string } `json:"startRun"`
		}
		// Launch prep on Dec 14: going live meets Christmas Eve.
		api.do(`mutation($pkg: ID!, $prop: ID!) { startRun(input: {packageId: $pkg, propertyId: $prop, params: {listingStartDate: "2026-12-14"}}) { id } }`,
			map[string]any{"pkg": pkg, "prop": strconv.Itoa(p.ID)}).ok(t, &started)
		runs[i] = started.StartRun.ID
	}
	const q = `query($id: ID!) { node(id: $id) { ... on Run { status steps { key status error output {
		... on ListingStrategy { market { temperature agreement reason monthsOfSupply saleToListRatio signals { name reading sampleSize minSample note } }
			priceCheck { status listPrice gapToValuePercent gapToRangePercent recommendation valueLow valueHigh }
			usps { feature claim buyerCopy } timeline { name date note movedFrom moveReason } negotiationPlays { play when } }
		... on MarketingCampaign { price priceSource pricingOption priceNote headlines description bullets postMessages listingUrl
			openHouse { date hours } buyerLanguage { passed removed } fairHousing { passed removed } }
		... on SocialSchedule { postsLink: listingUrl holidaysSkipped reason posts { platform scheduledAt text callToAction link mentionsOpenHouse } }
	} } } } }`
	for i, p := range props {
		t.Run(fmt.Sprintf("property %d", p.ID), func(t *testing.T) {
			api.waitRun(t, mustInt(t, runs[i]))
			var res struct {
				Node listingReview `json:"node"`
			}
			api.do(q, map[string]any{"id": runs[i]}).ok(t, &res)
			if res.Node.Status != "SUCCEEDED" {
				t.Fatalf("run %s: %+v", res.Node.Status, res.Node.Steps)
			}
			out := map[string]json.RawMessage{}
			for _, s := range res.Node.Steps {
				out[s.Key] = s.Output
			}
			reviewStrategy(t, out["strategy"], p.ListPrice)
			openHouse := reviewCampaign(t, out["campaign"], p.ListPrice)
			link := strings.TrimRight(org.Website, "/") + fmt.Sprintf("/listings/%d", p.ID)
			reviewPosts(t, out["social"], link, openHouse, loc)
		})
	}
}

func reviewStrategy(t *testing.T, raw json.RawMessage, listPrice *int) {
	t.Helper()
	var s struct {
		Market struct {
			Temperature, Agreement, Reason string
			Signals                        []struct {
				Name, Reading, Note   string
				SampleSize, MinSample int
			}
		}
		PriceCheck struct {
			Status                               string
			ListPrice                            *int
			GapToValuePercent, GapToRangePercent *float64
			Recommendation                       string
			ValueLow, ValueHigh                  int
		}
		USPs             []struct{ Feature, Claim, BuyerCopy string } `json:"usps"`
		Timeline         []struct{ Name, Date, Note, MovedFrom, MoveReason string }
		NegotiationPlays []struct{ Play, When string }
	}
	if err := json.Unmarshal(raw, &s); err != nil {
		t.Fatal(err)
	}
	m := s.Market
	if m.Reason == "" || len(m.Signals) != 2 {
		t.Errorf("market %+v", m)
	}
	for _, sig := range m.Signals {
		if sig.Reading != "UNKNOWN" && sig.SampleSize < sig.MinSample {
			t.Errorf("signal %s read from %d sales, under its minimum %d", sig.Name, sig.SampleSize, sig.MinSample)
		}
	}
	sellers := false
	for _, p := range s.NegotiationPlays {
		lower := strings.ToLower(p.Play)
		sellers = sellers || strings.Contains(lower, "offer deadline") || strings.Contains(lower, "highest and best")
	}
	if sellers && (m.Temperature != "TIGHT" || m.Agreement == "DISAGREE") {
		t.Errorf("seller's-market tactics in a %s market (%s): %s", m.Temperature, m.Agreement, m.Reason)
	}
	pc := s.PriceCheck
	switch {
	case listPrice == nil:
		if pc.Status != "NO_LIST_PRICE" {
			t.Errorf("price check %+v without a list price", pc)
		}
	case *listPrice > pc.ValueHigh || *listPrice < pc.ValueLow:
		if (pc.Status != "ABOVE_RANGE" && pc.Status != "BELOW_RANGE") || pc.GapToValuePercent == nil || pc.GapToRangePercent == nil ||
			*pc.GapToRangePercent == 0 || pc.Recommendation == "" {
			t.Errorf("list price %d outside %d–%d, check %+v", *listPrice, pc.ValueLow, pc.ValueHigh, pc)
		}
	default:
		if pc.Status != "WITHIN_RANGE" {
			t.Errorf("list price %d inside %d–%d, check %+v", *listPrice, pc.ValueLow, pc.ValueHigh, pc)
		}
	}
	fraction := regexp.MustCompile(`\b\d+\.\d+ more\b|\(s\)`)
	for _, u := range s.USPs {
		if fraction.MatchString(u.Claim) || u.BuyerCopy == "" {
			t.Errorf("USP %+v", u)
		}
	}
	if len(s.Timeline) != 6 {
		t.Fatalf("timeline %+v", s.Timeline)
	}
	moved := 0
	for _, ms := range s.Timeline {
		d, err := time.Parse(time.RFC3339, ms.Date)
		if err != nil {
			t.Fatal(err)
		}
		if r := calendar.Quiet(d); r != "" {
			t.Errorf("%s on %s: %s", ms.Name, ms.Date, r)
		}
		if ms.MovedFrom != "" {
			moved++
			if ms.MoveReason == "" {
				t.Errorf("%s moved from %s without a reason", ms.Name, ms.MovedFrom)
			}
		}
	}
	// Prep on Dec 14: going live would be Christmas Eve.
	if moved == 0 {
		t.Errorf("no milestone moved off the holidays: %+v", s.Timeline)
	}
}

// reviewCampaign checks the copy and returns the open house's date.
func reviewCampaign(t *testing.T, raw json.RawMessage, listPrice *int) string {
	t.Helper()
	var c struct {
		Price                                 int
		PriceSource, PricingOption, PriceNote string
		Headlines, Bullets, PostMessages      []string
		Description, ListingURL               string
		OpenHouse                             *struct{ Date, Hours string }
		BuyerLanguage, FairHousing            struct{ Passed bool }
	}
	if err := json.Unmarshal(raw, &c); err != nil {
		t.Fatal(err)
	}
	if listPrice != nil && (c.Price != *listPrice || c.PriceSource != "LIST_PRICE") {
		t.Errorf("advertises %d (%s), the list price is %d", c.Price, c.PriceSource, *listPrice)
	}
	if listPrice == nil && (c.PriceSource != "PRICING_OPTION" || c.PricingOption == "" || c.Price <= 0) {
		t.Errorf("advertises %d from %s/%s", c.Price, c.PriceSource, c.PricingOption)
	}
	if c.PriceNote == "" || c.OpenHouse == nil || c.ListingURL == "" || len(c.PostMessages) == 0 {
		t.Fatalf("campaign %+v", c)
	}
	for _, text := range append(append(append(c.Headlines, c.Bullets...), c.PostMessages...), c.Description) {
		for _, p := range reviewAppraisalLanguage {
			if p.MatchString(text) {
				t.Errorf("copy %q: %q", text, p)
			}
		}
	}
	return c.OpenHouse.Date[:10]
}

func reviewPosts(t *testing.T, raw json.RawMessage, link, openHouse string, loc *time.Location) {
	t.Helper()
	var s struct {
		ListingURL      string `json:"postsLink"`
		HolidaysSkipped []string
		Posts           []struct {
			Platform, ScheduledAt, Text, CallToAction, Link string
			MentionsOpenHouse                               bool
		}
	}
	if err := json.Unmarshal(raw, &s); err != nil {
		t.Fatal(err)
	}
	if s.ListingURL != link || len(s.Posts) < 10 {
		t.Fatalf("%d posts linking to %q, want %q", len(s.Posts), s.ListingURL, link)
	}
	seen := map[string]bool{}
	for _, p := range s.Posts {
		at, err := time.Parse(time.RFC3339, p.ScheduledAt)
		if err != nil {
			t.Fatal(err)
		}
		day := at.In(loc).Format(time.DateOnly)
		if r := calendar.NoPostDay(at.In(loc)); r != "" {
			t.Errorf("%s post on %s: %s", p.Platform, day, r)
		}
		if p.Link != link || p.CallToAction == "" || !strings.Contains(p.Text, p.CallToAction+" "+link) {
			t.Errorf("post without its call to action and link: %q", p.Text)
		}
		if seen[p.Platform+p.Text] {
			t.Errorf("%s repeats %q", p.Platform, p.Text)
		}
		seen[p.Platform+p.Text] = true
		if want := day <= openHouse; p.MentionsOpenHouse != want || strings.Contains(p.Text, "Open house") != want {
			t.Errorf("post on %s, open house %s: %q", day, openHouse, p.Text)
		}
		for _, re := range reviewAppraisalLanguage {
			if re.MatchString(p.Text) {
				t.Errorf("post %q: %q", p.Text, re)
			}
		}
	}
}
