package marketing

import (
	"github.com/estateflow/estateflow/internal/numfmt"

	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/estateflow/estateflow/modules/analytics"
	"github.com/estateflow/estateflow/modules/calendar"
	"github.com/estateflow/estateflow/modules/strategy"
)

// appraisalLanguage is the test's own list of comparison phrases an agent
// would strike from an ad (independent of comparisonPatterns, so that the
// test catches a pattern the code forgot).
var appraisalLanguage = []*regexp.Regexp{
	regexp.MustCompile(`(?i)\bcomps?\b`),
	regexp.MustCompile(`(?i)median`),
	regexp.MustCompile(`(?i)\bvs\b`),
	regexp.MustCompile(`(?i)than the`),
	regexp.MustCompile(`(?i)apprais`),
	regexp.MustCompile(`(?i)\d+% (larger|more)`),
	regexp.MustCompile(`\(s\)`),
	regexp.MustCompile(`\b0\.5 more\b`),
}

func listingStrategy() *strategy.ListingStrategy {
	return &strategy.ListingStrategy{
		USPs: []strategy.USP{
			{Feature: "livingArea", Claim: "18% more living area than the median comp (1,770 vs 1,500 sq ft)", BuyerCopy: "1,770 sq ft of living space"},
			{Feature: "lotSize", Claim: "13% larger lot than the median comp (10,548 vs 9,298 sq ft)", BuyerCopy: "10,548 sq ft lot"},
			{Feature: "listedFeature", Claim: "listed feature: pool", BuyerCopy: "Pool"},
			{Feature: "listedFeature", Claim: "listed feature: perfect for families", BuyerCopy: "Perfect for families"},
			// A buyer copy that slipped a comparison in is caught.
			{Feature: "garage", Claim: "1 more garage space than the median comp (2 vs 1)", BuyerCopy: "1 more garage space than the median comp"},
		},
		PricingOptions:   []strategy.PricingOption{{Name: "BELOW_MARKET", Price: 620000}, {Name: "AT_MARKET", Price: 640000}},
		AudienceSegments: []strategy.AudienceSegment{{Segment: "FIRST_TIME_BUYER"}},
		Timeline: []strategy.Milestone{
			{Name: "LIVE", Date: time.Date(2026, 12, 4, 0, 0, 0, 0, time.UTC)},
			{Name: "FIRST_OPEN_HOUSE", Date: time.Date(2026, 12, 5, 0, 0, 0, 0, time.UTC)},
		},
	}
}

func testHome(listPrice *int) analytics.Home {
	return analytics.Home{ID: 9, Address: "4762 Menchaca Rd", Zip: "78745", Beds: new(3), Baths: new(2.5), Sqft: new(1770), YearBuilt: new(2017), ListPrice: listPrice}
}

func campaignCopy(c MarketingCampaign) []string {
	return append(append(append(append([]string{}, c.Headlines...), c.Bullets...), c.PostMessages...), c.Description)
}

func TestCampaignCopyIsForBuyers(t *testing.T) {
	c := BuildCampaign(CampaignInput{Home: testHome(nil), City: "Austin", Type: "SINGLE_FAMILY", Features: []string{"pool", "quiet street"},
		Strategy: listingStrategy(), Budget: 2000, Website: "https://demo-realty.example.com/"})
	if c.LaunchDate.Format(time.DateOnly) != "2026-12-04" || c.WindowDays != 14 || c.ListingURL != "https://demo-realty.example.com/listings/9" {
		t.Fatalf("campaign %+v", c)
	}
	if c.Headlines[0] != "Just listed in Austin: 3-bedroom, 2.5-bath single-family home with 1,770 sq ft" ||
		c.Headlines[1] != "4762 Menchaca Rd: 1,770 sq ft of living space and 10,548 sq ft lot" ||
		c.Headlines[2] != "4762 Menchaca Rd, offered at $640,000" {
		t.Fatalf("headlines %q", c.Headlines)
	}
	want := "Welcome to 4762 Menchaca Rd, a 3-bedroom, 2.5-bath single-family home with 1,770 sq ft in Austin 78745. Built in 2017. " +
		"Features include pool and quiet street. Offered at $640,000. Open house Saturday, December 5, 1–4 pm. " +
		"Photos, floor plan and showings: https://demo-realty.example.com/listings/9"
	if c.Description != want {
		t.Fatalf("description\n%q\nwant\n%q", c.Description, want)
	}
	// The fair-housing term and the comparison are left out, and reported.
	if c.FairHousing.Passed || strings.Join(c.FairHousing.Removed, ",") != "perfect for families" {
		t.Fatalf("fair housing %+v", c.FairHousing)
	}
	if c.BuyerLanguage.Passed || len(c.BuyerLanguage.Removed) == 0 {
		t.Fatalf("buyer language %+v", c.BuyerLanguage)
	}
	if c.OpenHouse == nil || c.OpenHouse.Date.Format(time.DateOnly) != "2026-12-05" {
		t.Fatalf("open house %+v", c.OpenHouse)
	}
	for _, text := range campaignCopy(c) {
		for _, p := range appraisalLanguage {
			if p.MatchString(text) {
				t.Errorf("copy %q has appraisal language %q", text, p)
			}
		}
		for _, term := range fairHousingTerms {
			if strings.Contains(strings.ToLower(text), term) {
				t.Errorf("copy %q uses %q", text, term)
			}
		}
	}
}

// TestCopyFromARealStrategy runs the strategy rules on comps that give
// every kind of USP, and checks that none of their comparisons reaches
// the copy.
func TestCopyFromARealStrategy(t *testing.T) {
	comps := []analytics.Home{
		{Sqft: new(1500), Beds: new(3), Baths: new(2.0), YearBuilt: new(1990), LotSqft: new(9000), GarageSpaces: new(1), SalePrice: new(600000)},
		{Sqft: new(1600), Beds: new(3), Baths: new(2.0), YearBuilt: new(1995), LotSqft: new(9596), GarageSpaces: new(1), SalePrice: new(640000)},
	}
	subject := analytics.Home{ID: 3, Address: "1 Elm St", Sqft: new(2100), Beds: new(5), Baths: new(3.5), YearBuilt: new(2019), LotSqft: new(12000), GarageSpaces: new(3)}
	r := &analytics.Report{EstimatedValue: 640000, ValueLow: 600000, ValueHigh: 690000, SearchRadiusMiles: 1}
	s := strategy.Build(strategy.Input{Subject: subject, Report: r, Comps: comps, Features: []string{"covered patio"}, Start: time.Date(2026, 11, 21, 0, 0, 0, 0, time.UTC)})
	if len(s.USPs) < 6 {
		t.Fatalf("USPs %+v: the test needs every kind", s.USPs)
	}
	c := BuildCampaign(CampaignInput{Home: subject, City: "Austin", Type: "SINGLE_FAMILY", Features: []string{"covered patio"}, Strategy: &s, Website: "https://x.example.com"})
	if !c.BuyerLanguage.Passed || len(c.Bullets) != len(s.USPs) {
		t.Fatalf("the strategy's buyer copy tripped the check: %+v, bullets %q", c.BuyerLanguage, c.Bullets)
	}
	plan := PlanPosts(c, nil, chicago(t))
	texts := campaignCopy(c)
	for _, p := range plan.Posts {
		texts = append(texts, p.Text)
	}
	for _, text := range texts {
		for _, p := range appraisalLanguage {
			if p.MatchString(text) {
				t.Errorf("copy %q has appraisal language %q", text, p)
			}
		}
	}
}

// TestAdvertisedPrice: the list price when the property has one, else
// the strategy's AT_MARKET option, and the output says which.
func TestAdvertisedPrice(t *testing.T) {
	tests := []struct {
		name      string
		listPrice *int
		price     int
		source    string
		option    string
	}{
		{"list price set", new(732000), 732000, PriceFromListPrice, ""},
		{"no list price", nil, 640000, PriceFromOption, "AT_MARKET"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := BuildCampaign(CampaignInput{Home: testHome(tt.listPrice), City: "Austin", Type: "SINGLE_FAMILY", Strategy: listingStrategy(), Website: "https://x.example.com"})
			if c.Price != tt.price || c.PriceSource != tt.source || c.PricingOption != tt.option || c.PriceNote == "" {
				t.Fatalf("price %d from %s/%s (%q), want %d from %s/%s", c.Price, c.PriceSource, c.PricingOption, c.PriceNote, tt.price, tt.source, tt.option)
			}
			shown := numfmt.Dollars(tt.price)
			if !strings.Contains(c.Description, shown) || !strings.Contains(strings.Join(c.Headlines, "|"), shown) {
				t.Fatalf("copy does not advertise %s: %q / %q", shown, c.Headlines, c.Description)
			}
		})
	}
}

func TestListingURL(t *testing.T) {
	for _, tt := range []struct{ website, want string }{
		{"https://demo-realty.example.com", "https://demo-realty.example.com/listings/42"},
		{"https://demo-realty.example.com/", "https://demo-realty.example.com/listings/42"},
		{"https://agent.example.com/austin", "https://agent.example.com/austin/listings/42"},
		{"", ""},
		{"  ", ""},
	} {
		if got := ListingURL(tt.website, 42); got != tt.want {
			t.Errorf("ListingURL(%q) = %q, want %q", tt.website, got, tt.want)
		}
	}
	c := BuildCampaign(CampaignInput{Home: testHome(nil), City: "Austin", Type: "CONDO", Strategy: listingStrategy()})
	if c.ListingURL != "" || !strings.Contains(c.LinkNote, "organization.website") || strings.Contains(c.Description, "http") {
		t.Fatalf("without a website: url %q, note %q, description %q", c.ListingURL, c.LinkNote, c.Description)
	}
}

func TestBudgetSplit(t *testing.T) {
	// Base weights 40/25/10/15/10; a first-time-buyer audience adds 10 to
	// social ads: 50/25/10/15/10 of 110. Floors: 909, 454, 181, 272, 181,
	// which leave 3 dollars, added to the first channel: 912.
	chans := splitBudget(2000, []strategy.AudienceSegment{{Segment: "FIRST_TIME_BUYER"}})
	sum := 0
	for _, c := range chans {
		sum += c.Amount
	}
	if sum != 2000 {
		t.Fatalf("amounts add up to %d, want 2000", sum)
	}
	if chans[0].Channel != "SOCIAL_ADS" || chans[0].Share != 0.455 || chans[0].Amount != 912 || !strings.Contains(chans[0].Reason, "first-time buyers") {
		t.Fatalf("social ads %+v", chans[0])
	}
	if chans[1].Amount != 454 || chans[4].Amount != 181 {
		t.Fatalf("split %+v", chans)
	}
}

func testCampaign(launch, openHouse time.Time, window int) MarketingCampaign {
	return MarketingCampaign{PropertyID: 9, ListingURL: "https://demo-realty.example.com/listings/9",
		PostMessages: []string{"Just listed: a 3-bedroom home.", "Pool at 12 Oak St.", "Offered at $500,000."},
		LaunchDate:   launch, OpenHouse: &OpenHouse{Date: openHouse, Hours: "1–4 pm"}, WindowDays: window}
}

func TestPostSchedule(t *testing.T) {
	loc := chicago(t)
	c := testCampaign(time.Date(2026, 12, 4, 0, 0, 0, 0, time.UTC), time.Date(2026, 12, 5, 0, 0, 0, 0, time.UTC), 7)
	// Launch Friday Dec 4 for 7 days. Facebook and Instagram every other
	// day: 4, 6, 8, 10. LinkedIn on business days, 48h apart: Fri 4, Mon 7,
	// Wed 9.
	plan := PlanPosts(c, nil, loc)
	var got []string
	for _, p := range plan.Posts {
		got = append(got, p.Platform[:2]+" "+p.ScheduledAt.In(loc).Format("01-02 15:04"))
	}
	want := "FA 12-04 13:00,FA 12-06 13:00,FA 12-08 13:00,FA 12-10 13:00," +
		"IN 12-04 18:30,IN 12-06 18:30,IN 12-08 18:30,IN 12-10 18:30," +
		"LI 12-04 09:00,LI 12-07 09:00,LI 12-09 09:00"
	if strings.Join(got, ",") != want {
		t.Fatalf("posts\n%s\nwant\n%s", strings.Join(got, ","), want)
	}
	// With a Facebook post already on Dec 6 at noon, the slots on the 6th
	// (1 hour off) is skipped: nothing within 48 hours of it.
	existing := map[string][]time.Time{"FACEBOOK": {time.Date(2026, 12, 6, 12, 0, 0, 0, loc)}}
	again := PlanPosts(c, existing, loc)
	if again.Skipped != 2 || len(again.Posts) != len(plan.Posts)-2 {
		t.Fatalf("with an existing post: %d skipped, %d posts", again.Skipped, len(again.Posts))
	}
}

// TestPostsAreWorthPosting: every post has a call to action and the link,
// no two on a platform are the same, the posts up to the open house
// announce it, and none goes out on a holiday.
func TestPostsAreWorthPosting(t *testing.T) {
	loc := chicago(t)
	tests := []struct {
		name              string
		launch, openHouse time.Time
		noPostOn          []string
	}{
		{"early December", time.Date(2026, 12, 4, 0, 0, 0, 0, time.UTC), time.Date(2026, 12, 5, 0, 0, 0, 0, time.UTC), nil},
		// The case: a window over Christmas. Launch Monday Dec 21.
		{"over Christmas", time.Date(2026, 12, 21, 0, 0, 0, 0, time.UTC), time.Date(2027, 1, 9, 0, 0, 0, 0, time.UTC),
			[]string{"2026-12-24", "2026-12-25", "2026-12-31", "2027-01-01"}},
		// July 3, 2026 is Independence Day observed, July 4 the day itself.
		{"over July 4", time.Date(2026, 7, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 7, 11, 0, 0, 0, 0, time.UTC), []string{"2026-07-03", "2026-07-04"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			plan := PlanPosts(testCampaign(tt.launch, tt.openHouse, 14), nil, loc)
			if len(plan.Posts) < 10 {
				t.Fatalf("%d posts: %s", len(plan.Posts), plan.Reason)
			}
			seen := map[string]bool{}
			ohDay := tt.openHouse.Format(time.DateOnly)
			for _, p := range plan.Posts {
				local := p.ScheduledAt.In(loc)
				day := local.Format(time.DateOnly)
				if r := calendar.NoPostDay(local); r != "" {
					t.Errorf("%s post on %s (%s)", p.Platform, day, r)
				}
				if !strings.HasSuffix(p.Text, p.CallToAction+" "+p.Link) || p.Link != "https://demo-realty.example.com/listings/9" || p.CallToAction == "" {
					t.Errorf("post without a call to action and link: %q", p.Text)
				}
				if key := p.Platform + "|" + p.Text; seen[key] {
					t.Errorf("%s repeats %q", p.Platform, p.Text)
				} else {
					seen[key] = true
				}
				announces := strings.Contains(p.Text, "Open house")
				if want := day <= ohDay; announces != want || p.MentionsOpenHouse != want {
					t.Errorf("post on %s (open house %s) announces it: %v: %q", day, ohDay, announces, p.Text)
				}
			}
			for _, d := range tt.noPostOn {
				if !strings.Contains(strings.Join(plan.HolidaysSkipped, ","), d) || !strings.Contains(plan.Reason, d) {
					t.Errorf("%s not reported as a day without posts: %v", d, plan.HolidaysSkipped)
				}
			}
		})
	}
}

func TestPostsPassTheFairHousingCheck(t *testing.T) {
	c := testCampaign(time.Date(2026, 12, 4, 0, 0, 0, 0, time.UTC), time.Date(2026, 12, 5, 0, 0, 0, 0, time.UTC), 7)
	c.PostMessages = append(c.PostMessages, "Perfect for families: a big yard.")
	plan := PlanPosts(c, nil, chicago(t))
	if plan.FairHousing.Passed || strings.Join(plan.FairHousing.Removed, ",") != "perfect for families" {
		t.Fatalf("fair housing %+v", plan.FairHousing)
	}
	for _, p := range plan.Posts {
		if strings.Contains(strings.ToLower(p.Text), "perfect for families") {
			t.Fatalf("post %q", p.Text)
		}
	}
}

func TestLowerFirst(t *testing.T) {
	for in, want := range map[string]string{"Smart thermostat": "smart thermostat", "HVAC replaced 2024": "HVAC replaced 2024", "2-car garage": "2-car garage", "": ""} {
		if got := lowerFirst(in); got != want {
			t.Errorf("lowerFirst(%q) = %q, want %q", in, got, want)
		}
	}
}
