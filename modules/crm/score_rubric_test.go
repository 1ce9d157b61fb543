package crm

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"time"
)

// persona is a client as an agent would describe them, with the tier an
// experienced agent gives them. The rubric is written from the agent's
// judgment first; the scoring model is then made to agree with it.
type persona struct {
	name  string // as in the README's rubric table
	lead  Lead
	agent string // the tier an experienced agent gives
}

// daysAgo is a time the given number of days before the test's now.
func daysAgo(d int) time.Time { return now.Add(-time.Duration(d) * 24 * time.Hour) }

func touches(kindDays ...any) []Interaction {
	var out []Interaction
	for i := 0; i < len(kindDays); i += 2 {
		out = append(out, Interaction{Type: kindDays[i].(string), At: daysAgo(kindDays[i+1].(int))})
	}
	return out
}

// rubric holds buyers, sellers, an investor, renters on their way to
// buying, portal and referral leads, and past clients.
var rubric = []persona{
	{
		name: "Open-house buyer, pre-approved, moving within 3 months",
		lead: Lead{Source: "OPEN_HOUSE", Stage: "LEAD", PreApproved: true, MoveTimeline: new(3), BudgetMin: new(450000), BudgetMax: new(550000),
			CreatedAt: daysAgo(3), Interactions: touches("OPEN_HOUSE_VISIT", 3)},
		agent: TierWarm, // at least WARM; HOT once homes match or they tour
	},
	{
		// The case: the visit itself was never logged.
		name: "Open-house buyer, pre-approved, 3 months, no visit logged",
		lead: Lead{Source: "OPEN_HOUSE", Stage: "LEAD", PreApproved: true, MoveTimeline: new(3), BudgetMin: new(450000), BudgetMax: new(550000),
			CreatedAt: daysAgo(20)},
		agent: TierWarm,
	},
	{
		name: "Buyer touring homes, pre-approved, moving within a month",
		lead: Lead{Source: "WEBSITE", Stage: "ACTIVE", PreApproved: true, MoveTimeline: new(1), BudgetMin: new(600000), BudgetMax: new(700000),
			MatchingListings: 4, CreatedAt: daysAgo(40), Interactions: touches("SHOWING", 2, "SHOWING", 6, "SHOWING", 9, "MEETING", 14)},
		agent: TierHot,
	},
	{
		name: "Buyer touring homes, not pre-approved, no move date",
		lead: Lead{Source: "WEBSITE", Stage: "ACTIVE", BudgetMin: new(400000), BudgetMax: new(450000), MatchingListings: 2,
			CreatedAt: daysAgo(30), Interactions: touches("SHOWING", 3, "SHOWING", 10, "MEETING", 12)},
		agent: TierWarm,
	},
	{
		name: "Website lead, no interaction for 120 days",
		lead: Lead{Source: "WEBSITE", Stage: "LEAD", MoveTimeline: new(3), BudgetMin: new(350000), BudgetMax: new(400000), MatchingListings: 2,
			CreatedAt: daysAgo(125), Interactions: touches("FORM_SUBMISSION", 125, "LISTING_VIEW", 120, "LISTING_VIEW", 120)},
		agent: TierCold,
	},
	{
		name: "Pre-approved buyer silent for 100 days",
		lead: Lead{Source: "ZILLOW", Stage: "PROSPECT", PreApproved: true, MoveTimeline: new(1), BudgetMin: new(500000), BudgetMax: new(600000),
			MatchingListings: 3, CreatedAt: daysAgo(150), Interactions: touches("SHOWING", 100, "EMAIL_OPEN", 100)},
		agent: TierCold,
	},
	{
		name: "Referred buyer after a first call, moving within 3 months",
		lead: Lead{Source: "REFERRAL", Stage: "LEAD", MoveTimeline: new(3), BudgetMin: new(400000), BudgetMax: new(500000), MatchingListings: 2,
			CreatedAt: daysAgo(2), Interactions: touches("CALL", 0)},
		agent: TierWarm,
	},
	{
		name:  "Zero-info portal lead (name and inquiry only)",
		lead:  Lead{Source: "ZILLOW", Stage: "LEAD", CreatedAt: daysAgo(0), Interactions: touches("FORM_SUBMISSION", 0)},
		agent: TierCold,
	},
	{
		name: "Cash investor touring duplexes, buying within 3 months",
		lead: Lead{Source: "ZILLOW", Stage: "PROSPECT", PreApproved: true, MoveTimeline: new(3), BudgetMin: new(500000), BudgetMax: new(800000),
			MatchingListings: 3, CreatedAt: daysAgo(60), Interactions: touches("SHOWING", 7, "SHOWING", 21, "EMAIL_REPLY", 3)},
		agent: TierHot,
	},
	{
		name: "Renter whose lease ends in 3 months, met at an open house",
		lead: Lead{Source: "OPEN_HOUSE", Stage: "LEAD", MoveTimeline: new(3), BudgetMin: new(300000), BudgetMax: new(350000), MatchingListings: 1,
			CreatedAt: daysAgo(5), Interactions: touches("OPEN_HOUSE_VISIT", 5, "CALL", 2)},
		agent: TierWarm,
	},
	{
		name: "Renter a year from buying, browsing listings",
		lead: Lead{Source: "SOCIAL", Stage: "LEAD", MoveTimeline: new(12), BudgetMin: new(250000), BudgetMax: new(300000),
			CreatedAt: daysAgo(25), Interactions: touches("WEBSITE_VISIT", 3, "WEBSITE_VISIT", 12, "WEBSITE_VISIT", 20, "LISTING_VIEW", 10)},
		agent: TierCold,
	},
	{
		name: "Seller who asked for a CMA, listing within a month",
		lead: Lead{Source: "WEBSITE", Stage: "LEAD", MoveTimeline: new(1), CreatedAt: daysAgo(2),
			Interactions: touches("FORM_SUBMISSION", 2, "VALUATION_REQUEST", 2, "CALL", 1)},
		agent: TierHot,
	},
	{
		name: "Seller a year out, reading market reports",
		lead: Lead{Source: "SOCIAL", Stage: "LEAD", MoveTimeline: new(12), CreatedAt: daysAgo(60),
			Interactions: touches("EMAIL_OPEN", 5, "EMAIL_OPEN", 20, "EMAIL_OPEN", 40)},
		agent: TierCold,
	},
	{
		name:  "Seller who asked for a valuation 5 months ago, then went quiet",
		lead:  Lead{Source: "WEBSITE", Stage: "LEAD", MoveTimeline: new(6), CreatedAt: daysAgo(150), Interactions: touches("VALUATION_REQUEST", 150)},
		agent: TierCold,
	},
	{
		name: "Past client who referred two friends",
		lead: Lead{Source: "OTHER", Stage: "PAST_CLIENT", CreatedAt: daysAgo(3 * 365),
			Interactions: touches("REFERRAL", 12, "REFERRAL", 45, "CALL", 12, "EMAIL_OPEN", 30)},
		agent: TierHot,
	},
	{
		name: "Past client moving up: selling and buying within 6 months",
		lead: Lead{Source: "REFERRAL", Stage: "PAST_CLIENT", MoveTimeline: new(6), BudgetMin: new(700000), BudgetMax: new(850000), MatchingListings: 1,
			CreatedAt: daysAgo(4 * 365), Interactions: touches("CALL", 6, "VALUATION_REQUEST", 20)},
		agent: TierWarm,
	},
	{
		name:  "Past client, no contact for a year, no plans",
		lead:  Lead{Source: "REFERRAL", Stage: "PAST_CLIENT", CreatedAt: daysAgo(4 * 365), LastContactedAt: new(daysAgo(400))},
		agent: TierCold,
	},
}

// TestPersonaRubric checks that every persona lands at the tier an agent
// gives it, that its score is the sum of its explained factors, and that
// the README's rubric table shows the same tier and score.
func TestPersonaRubric(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatalf("reading the README: %v", err)
	}
	rows := map[string][]string{}
	for _, line := range strings.Split(string(readme), "\n") {
		cells := strings.Split(line, "|")
		if len(cells) > 4 {
			for i := range cells {
				cells[i] = strings.TrimSpace(cells[i])
			}
			rows[cells[1]] = cells[1 : len(cells)-1]
		}
	}
	tiers := map[string]int{}
	for _, p := range rubric {
		t.Run(p.name, func(t *testing.T) {
			s := Score(p.lead, now)
			sum := 0
			var parts []string
			for _, f := range s.Factors {
				if f.Reason == "" || f.Points < 0 || f.Points > f.MaxPoints {
					t.Errorf("factor %+v", f)
				}
				sum += f.Points
				parts = append(parts, fmt.Sprintf("%s %d", f.Factor, f.Points))
			}
			tiers[s.Tier]++
			if sum != s.Score {
				t.Errorf("factors add up to %d, score %d", sum, s.Score)
			}
			if s.Tier != p.agent {
				t.Errorf("scored %d (%s): %s; an agent says %s", s.Score, s.Tier, strings.Join(parts, ", "), p.agent)
			}
			row, ok := rows[p.name]
			if !ok || len(row) < 4 || row[len(row)-2] != p.agent || row[len(row)-1] != fmt.Sprint(s.Score) {
				t.Errorf("README rubric row %q, want tier %s and score %d (%s)", row, p.agent, s.Score, strings.Join(parts, ", "))
			}
		})
	}
	if len(rubric) < 12 || tiers[TierHot] < 3 || tiers[TierWarm] < 3 || tiers[TierCold] < 3 {
		t.Errorf("the rubric needs at least 12 personas and 3 of each tier: %d personas, %v", len(rubric), tiers)
	}
}
