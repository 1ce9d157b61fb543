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
	// Engagement is capped at 25 points.
	var many []Interaction
	for range 5 {
		many = append(many, Interaction{Type: "MEETING", At: now})
	}
	if f := engagement(Lead{Interactions: many}, now); f.Points != 25 || f.Value != 50 {
		t.Fatalf("capped engagement %+v", f)
	}
	if f := engagement(Lead{}, now); f.Points != 0 || f.Reason != "no interactions on record" {
		t.Fatalf("no engagement %+v", f)
	}
}

func TestFactorTables(t *testing.T) {
	budget := new(500000)
	recent := []Interaction{{Type: "REFERRAL", At: now.AddDate(0, -2, 0)}}
	twoReferrals := append(recent, Interaction{Type: "REFERRAL", At: now.AddDate(0, -11, 0)})
	oldReferral := []Interaction{{Type: "REFERRAL", At: now.AddDate(-1, -1, 0)}}
	valuation := []Interaction{{Type: "VALUATION_REQUEST", At: now.AddDate(0, -5, 0)}}
	oldValuation := []Interaction{{Type: "VALUATION_REQUEST", At: now.AddDate(0, -7, 0)}}
	tests := []struct {
		name string
		f    Factor
		want int
	}{
		{"fit: no budget on record", inventoryFit(Lead{MatchingListings: 9}), 0},
		{"fit: no match", inventoryFit(Lead{BudgetMax: budget}), 0},
		{"fit: 1 match", inventoryFit(Lead{BudgetMax: budget, MatchingListings: 1}), 2},
		{"fit: 2 matches", inventoryFit(Lead{BudgetMax: budget, MatchingListings: 2}), 2},
		{"fit: 3 matches", inventoryFit(Lead{BudgetMax: budget, MatchingListings: 3}), 4},
		{"fit: 6 matches", inventoryFit(Lead{BudgetMax: budget, MatchingListings: 6}), 5},
		{"intent: unknown", intent(Lead{}, now, false), 0},
		{"intent: 1 month", intent(Lead{MoveTimeline: new(1)}, now, false), 30},
		{"intent: 2 months", intent(Lead{MoveTimeline: new(2)}, now, false), 24},
		{"intent: 6 months", intent(Lead{MoveTimeline: new(6)}, now, false), 15},
		{"intent: 12 months", intent(Lead{MoveTimeline: new(12)}, now, false), 8},
		{"intent: 18 months", intent(Lead{MoveTimeline: new(18)}, now, false), 0},
		{"intent: 1 month, stale", intent(Lead{MoveTimeline: new(1)}, now, true), 15},
		{"intent: 6 months, stale", intent(Lead{MoveTimeline: new(6)}, now, true), 8},
		{"intent: one referral", intent(Lead{Interactions: recent}, now, false), 18},
		{"intent: two referrals", intent(Lead{Interactions: twoReferrals}, now, false), 30},
		{"intent: a referral over a year old", intent(Lead{Interactions: oldReferral}, now, false), 0},
		{"intent: one referral beats 6 months", intent(Lead{MoveTimeline: new(6), Interactions: recent}, now, false), 18},
		{"intent: 1 month beats one referral", intent(Lead{MoveTimeline: new(1), Interactions: recent}, now, false), 30},
		{"intent: referrals do not go stale", intent(Lead{MoveTimeline: new(1), Interactions: recent}, now, true), 18},
		{"readiness: pre-approved", readiness(Lead{PreApproved: true}, now, false), 20},
		{"readiness: pre-approved, stale", readiness(Lead{PreApproved: true}, now, true), 10},
		{"readiness: valuation request", readiness(Lead{Interactions: valuation}, now, false), 20},
		{"readiness: valuation request, stale", readiness(Lead{Interactions: valuation}, now, true), 20},
		{"readiness: valuation request over 6 months old", readiness(Lead{Interactions: oldValuation}, now, false), 0},
		{"readiness: past client who referred", readiness(Lead{Stage: "PAST_CLIENT", Interactions: recent}, now, false), 20},
		{"readiness: past client", readiness(Lead{Stage: "PAST_CLIENT"}, now, false), 10},
		{"readiness: budget only", readiness(Lead{BudgetMax: budget}, now, false), 5},
		{"readiness: budget only, stale", readiness(Lead{BudgetMax: budget}, now, true), 3},
		{"readiness: nothing", readiness(Lead{}, now, false), 0},
		{"source: referral", source(Lead{Source: "REFERRAL"}), 10},
		{"source: open house", source(Lead{Source: "OPEN_HOUSE"}), 8},
		{"source: website", source(Lead{Source: "WEBSITE"}), 5},
		{"source: zillow", source(Lead{Source: "ZILLOW"}), 4},
		{"source: social", source(Lead{Source: "SOCIAL"}), 3},
		{"source: other", source(Lead{Source: "OTHER"}), 2},
		{"recency: none on record", recency(now, time.Time{}, false), 0},
		{"recency: today", recency(now, now, true), 10},
		{"recency: 7 days", recency(now, now.AddDate(0, 0, -7), true), 10},
		{"recency: 8 days", recency(now, now.AddDate(0, 0, -8), true), 7},
		{"recency: 30 days", recency(now, now.AddDate(0, 0, -30), true), 7},
		{"recency: 90 days", recency(now, now.AddDate(0, 0, -90), true), 3},
		{"recency: 91 days", recency(now, now.AddDate(0, 0, -91), true), 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.f.Points != tt.want || tt.f.Reason == "" || tt.f.Points > tt.f.MaxPoints {
				t.Fatalf("%+v, want %d points", tt.f, tt.want)
			}
		})
	}
}

func TestLastTouch(t *testing.T) {
	contacted := now.AddDate(0, 0, -3)
	l := Lead{CreatedAt: now.AddDate(0, -6, 0), LastContactedAt: &contacted, Interactions: []Interaction{{Type: "CALL", At: now.AddDate(0, 0, -10)}}}
	if got, ok := lastTouch(l); !ok || !got.Equal(contacted) {
		t.Fatalf("last touch %v %v, want the recorded contact %v", got, ok, contacted)
	}
	if _, ok := lastTouch(Lead{}); ok {
		t.Fatal("a lead with no dates has a last touch")
	}
	// A lead entered today is fresh before any interaction.
	if got := Score(Lead{Source: "OTHER", CreatedAt: now}, now); got.Factors[5].Points != 10 {
		t.Fatalf("new lead: %+v", got.Factors[5])
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
	// Hot: engagement 14 (as above) + intent 30 + readiness 20 + referral 10
	// + listing fit 5 + recency 10 (a meeting today) = 89.
	hot := Score(Lead{
		Source: "REFERRAL", PreApproved: true, MoveTimeline: new(1), BudgetMax: new(600000), MatchingListings: 7,
		Interactions: []Interaction{{Type: "MEETING", At: now}, {Type: "SHOWING", At: now.AddDate(0, 0, -30)}, {Type: "EMAIL_OPEN", At: now.AddDate(0, 0, -60)}},
	}, now)
	if hot.Score != 89 || hot.Tier != TierHot || len(hot.Factors) != 6 {
		t.Fatalf("hot lead %+v", hot)
	}
	// Cold: nothing known but the source (other, 2).
	cold := Score(Lead{Source: "OTHER"}, now)
	if cold.Score != 2 || cold.Tier != TierCold {
		t.Fatalf("cold lead %+v", cold)
	}
}
