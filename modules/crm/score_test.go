package crm

import (
	"strings"
	"testing"
	"time"
)

var now = time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)

func TestEngagementWeighsKindAndRecency(t *testing.T) {
	// A meeting today (10), a showing 30 days ago (8 × ½ = 4) and an email
	// opened 60 days ago (1 × ¼ = 0.25): 14.25, so 14 points.
	l := Lead{Interactions: []Interaction{
		{Type: "MEETING", At: now},
		{Type: "SHOWING", At: now.AddDate(0, 0, -30)},
		{Type: "EMAIL_OPEN", At: now.AddDate(0, 0, -60)},
	}}
	f := engagement(l, now)
	if f.Value != 14.25 || f.Points != 14 || !strings.Contains(f.Reason, "1 meeting, 1 showing, 1 email open") {
		t.Fatalf("%+v", f)
	}
	// Engagement is capped at 35 points.
	var many []Interaction
	for range 5 {
		many = append(many, Interaction{Type: "MEETING", At: now})
	}
	if f := engagement(Lead{Interactions: many}, now); f.Points != 35 || f.Value != 50 {
		t.Fatalf("capped engagement %+v", f)
	}
	if f := engagement(Lead{}, now); f.Points != 0 || f.Reason != "no interactions on record" {
		t.Fatalf("no engagement %+v", f)
	}
}

func TestFactorTables(t *testing.T) {
	budget := new(500000)
	tests := []struct {
		name string
		f    Factor
		want int
	}{
		{"budget: none on record", budgetFit(Lead{MatchingListings: 9}), 0},
		{"budget: no match", budgetFit(Lead{BudgetMax: budget}), 0},
		{"budget: 1 match", budgetFit(Lead{BudgetMax: budget, MatchingListings: 1}), 10},
		{"budget: 2 matches", budgetFit(Lead{BudgetMax: budget, MatchingListings: 2}), 10},
		{"budget: 3 matches", budgetFit(Lead{BudgetMax: budget, MatchingListings: 3}), 15},
		{"budget: 6 matches", budgetFit(Lead{BudgetMax: budget, MatchingListings: 6}), 20},
		{"timeline: unknown", timeline(Lead{}), 3},
		{"timeline: 1 month", timeline(Lead{MoveTimeline: new(1)}), 20},
		{"timeline: 2 months", timeline(Lead{MoveTimeline: new(2)}), 15},
		{"timeline: 6 months", timeline(Lead{MoveTimeline: new(6)}), 10},
		{"timeline: 12 months", timeline(Lead{MoveTimeline: new(12)}), 5},
		{"timeline: 18 months", timeline(Lead{MoveTimeline: new(18)}), 0},
		{"pre-approved", preApproval(Lead{PreApproved: true}), 15},
		{"not pre-approved", preApproval(Lead{}), 0},
		{"source: referral", source(Lead{Source: "REFERRAL"}), 10},
		{"source: open house", source(Lead{Source: "OPEN_HOUSE"}), 8},
		{"source: website", source(Lead{Source: "WEBSITE"}), 6},
		{"source: zillow", source(Lead{Source: "ZILLOW"}), 5},
		{"source: social", source(Lead{Source: "SOCIAL"}), 4},
		{"source: other", source(Lead{Source: "OTHER"}), 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.f.Points != tt.want || tt.f.Reason == "" || tt.f.Points > tt.f.MaxPoints {
				t.Fatalf("%+v, want %d points", tt.f, tt.want)
			}
		})
	}
}

func TestTierBoundaries(t *testing.T) {
	for score, want := range map[int]string{100: TierHot, 70: TierHot, 69: TierWarm, 40: TierWarm, 39: TierCold, 0: TierCold} {
		if got := tierOf(score); got != want {
			t.Errorf("tier of %d = %s, want %s", score, got, want)
		}
	}
}

func TestScoreAddsTheFactors(t *testing.T) {
	// Hot: engagement 14 (as above) + budget 20 + timeline 20 + pre-approval
	// 15 + referral 10 = 79.
	hot := Score(Lead{
		Source: "REFERRAL", PreApproved: true, MoveTimeline: new(1), BudgetMax: new(600000), MatchingListings: 7,
		Interactions: []Interaction{{Type: "MEETING", At: now}, {Type: "SHOWING", At: now.AddDate(0, 0, -30)}, {Type: "EMAIL_OPEN", At: now.AddDate(0, 0, -60)}},
	}, now)
	if hot.Score != 79 || hot.Tier != TierHot || len(hot.Factors) != 5 {
		t.Fatalf("hot lead %+v", hot)
	}
	// Cold: no engagement, no budget, timeline unknown (3), not
	// pre-approved, other source (2) = 5.
	cold := Score(Lead{Source: "OTHER"}, now)
	if cold.Score != 5 || cold.Tier != TierCold {
		t.Fatalf("cold lead %+v", cold)
	}
}
