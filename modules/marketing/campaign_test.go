package marketing

import (
	"strings"
	"testing"
	"time"

	"github.com/estateflow/estateflow/modules/analytics"
	"github.com/estateflow/estateflow/modules/strategy"
)

func listingStrategy() *strategy.ListingStrategy {
	return &strategy.ListingStrategy{
		USPs: []strategy.USP{
			{Feature: "livingArea", Claim: "18% more living area than the median comp (1770 vs 1500 sq ft)"},
			{Feature: "listedFeature", Claim: "listed feature: pool"},
			{Feature: "listedFeature", Claim: "listed feature: perfect for families"},
		},
		PricingOptions:   []strategy.PricingOption{{Name: "BELOW_MARKET", Price: 485000}, {Name: "AT_MARKET", Price: 500000}},
		AudienceSegments: []strategy.AudienceSegment{{Segment: "FIRST_TIME_BUYER"}},
		Timeline:         []strategy.Milestone{{Name: "LIVE", Date: time.Date(2026, 12, 4, 0, 0, 0, 0, time.UTC)}},
	}
}

func TestCampaignCopyAndFairHousing(t *testing.T) {
	home := analytics.Home{ID: 9, Address: "12 Oak St", Beds: new(3), Baths: new(2.5), Sqft: new(1770), YearBuilt: new(2017)}
	c := BuildCampaign(CampaignInput{Home: home, City: "Austin", Type: "SINGLE_FAMILY", Features: []string{"pool", "quiet street"},
		Strategy: listingStrategy(), Budget: 2000})
	if c.Price != 500000 || c.LaunchDate.Format("2006-01-02") != "2026-12-04" || c.WindowDays != 14 {
		t.Fatalf("campaign %+v", c)
	}
	if c.Headlines[0] != "Just listed in Austin: 3-bedroom 2.5-bath single-family of 1,770 sq ft" ||
		c.Headlines[2] != "12 Oak St, offered at $500,000" {
		t.Fatalf("headlines %q", c.Headlines)
	}
	want := "Welcome to 12 Oak St, a 3-bedroom 2.5-bath single-family of 1,770 sq ft in Austin. Built in 2017. Features include pool, quiet street. Offered at $500,000."
	if c.Description != want {
		t.Fatalf("description %q", c.Description)
	}
	// The bullet that used a fair-housing term is left out, and reported.
	if len(c.Bullets) != 2 || c.Bullets[1] != "Pool" || c.FairHousing.Passed || strings.Join(c.FairHousing.Removed, ",") != "perfect for families" {
		t.Fatalf("bullets %q, check %+v", c.Bullets, c.FairHousing)
	}
	for _, text := range append(append(c.Headlines, c.Bullets...), c.Description) {
		for _, term := range fairHousingTerms {
			if strings.Contains(strings.ToLower(text), term) {
				t.Fatalf("copy %q uses %q", text, term)
			}
		}
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

func TestPostSchedule(t *testing.T) {
	loc := chicago(t)
	c := MarketingCampaign{PropertyID: 9, Headlines: []string{"A", "B"}, LaunchDate: time.Date(2026, 12, 4, 0, 0, 0, 0, time.UTC), WindowDays: 7}
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
