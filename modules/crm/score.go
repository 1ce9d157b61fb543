package crm

import (
	"fmt"
	"math"
	"strings"
	"time"
)

// Tiers of a lead score.
const (
	TierHot  = "HOT"  // 70 and up
	TierWarm = "WARM" // 40 to 69
	TierCold = "COLD" // below 40
)

// LeadScore is the LEAD_SCORING step's output.
type LeadScore struct {
	ClientID int       `json:"clientId"`
	Score    int       `json:"score"`
	Tier     string    `json:"tier"`
	Factors  []Factor  `json:"factors"`
	ScoredAt time.Time `json:"scoredAt"`
}

// IsStepOutput marks a LeadScore as a step's typed output.
func (*LeadScore) IsStepOutput() {}

// Factor is one part of a score.
type Factor struct {
	Factor    string  `json:"factor"`
	Value     float64 `json:"value"`
	Points    int     `json:"points"`
	MaxPoints int     `json:"maxPoints"`
	Reason    string  `json:"reason"`
}

// Lead is what scoring knows of a client.
type Lead struct {
	ID           int
	Source       string
	PreApproved  bool
	MoveTimeline *int // months
	BudgetMin    *int
	BudgetMax    *int
	Interactions []Interaction
	// MatchingListings counts the active listings in the client's areas and
	// price range.
	MatchingListings int
}

// Interaction is one touch point.
type Interaction struct {
	Type string
	At   time.Time
}

// interactionWeight is how much one touch point of a kind shows intent:
// meeting an agent or touring a home says more than opening an email.
var interactionWeight = map[string]float64{
	"MEETING": 10, "SHOWING": 8, "OPEN_HOUSE_VISIT": 6, "CALL": 5, "EMAIL_REPLY": 5,
	"FORM_SUBMISSION": 4, "TEXT": 3, "LISTING_VIEW": 2, "WEBSITE_VISIT": 1, "EMAIL_OPEN": 1,
}

// engagementHalfLife is how fast a touch point's weight fades.
const engagementHalfLife = 30 * 24 * time.Hour

var sourcePoints = map[string]int{
	"REFERRAL": 10, "OPEN_HOUSE": 8, "WEBSITE": 6, "ZILLOW": 5, "SOCIAL": 4, "OTHER": 2,
}

// Score computes a lead's score as of now. The five factors add up to at
// most 100: engagement 35, budget fit 20, move timeline 20, pre-approval 15,
// source 10.
func Score(l Lead, now time.Time) LeadScore {
	factors := []Factor{engagement(l, now), budgetFit(l), timeline(l), preApproval(l), source(l)}
	total := 0
	for _, f := range factors {
		total += f.Points
	}
	return LeadScore{ClientID: l.ID, Score: total, Tier: tierOf(total), Factors: factors, ScoredAt: now}
}

func tierOf(score int) string {
	switch {
	case score >= 70:
		return TierHot
	case score >= 40:
		return TierWarm
	default:
		return TierCold
	}
}

func engagement(l Lead, now time.Time) Factor {
	const maxPoints = 35
	var weighted float64
	counts := map[string]int{}
	for _, in := range l.Interactions {
		age := now.Sub(in.At)
		if age < 0 {
			age = 0
		}
		weighted += interactionWeight[in.Type] * math.Pow(0.5, float64(age)/float64(engagementHalfLife))
		counts[in.Type]++
	}
	weighted = math.Round(weighted*100) / 100
	points := int(math.Min(maxPoints, math.Round(weighted)))
	reason := "no interactions on record"
	if len(l.Interactions) > 0 {
		var parts []string
		for _, kind := range []string{"MEETING", "SHOWING", "OPEN_HOUSE_VISIT", "CALL", "EMAIL_REPLY", "FORM_SUBMISSION", "TEXT", "LISTING_VIEW", "WEBSITE_VISIT", "EMAIL_OPEN"} {
			if n := counts[kind]; n > 0 {
				parts = append(parts, fmt.Sprintf("%d %s", n, strings.ToLower(strings.ReplaceAll(kind, "_", " "))))
			}
		}
		reason = fmt.Sprintf("%s; weighted by kind and halved every 30 days: %.1f", strings.Join(parts, ", "), weighted)
	}
	return Factor{Factor: "engagement", Value: weighted, Points: points, MaxPoints: maxPoints, Reason: reason}
}

func budgetFit(l Lead) Factor {
	const maxPoints = 20
	f := Factor{Factor: "budgetFit", Value: float64(l.MatchingListings), MaxPoints: maxPoints}
	if l.BudgetMax == nil {
		f.Reason = "no budget on record"
		return f
	}
	n := l.MatchingListings
	switch {
	case n >= 6:
		f.Points = 20
	case n >= 3:
		f.Points = 15
	case n >= 1:
		f.Points = 10
	}
	f.Reason = fmt.Sprintf("%d active listing(s) in the client's areas and price range (6 or more: 20 points, 3 to 5: 15, 1 to 2: 10)", n)
	return f
}

func timeline(l Lead) Factor {
	const maxPoints = 20
	f := Factor{Factor: "moveTimeline", MaxPoints: maxPoints}
	if l.MoveTimeline == nil {
		f.Points, f.Reason = 3, "move timeline unknown"
		return f
	}
	m := *l.MoveTimeline
	f.Value = float64(m)
	switch {
	case m <= 1:
		f.Points = 20
	case m <= 3:
		f.Points = 15
	case m <= 6:
		f.Points = 10
	case m <= 12:
		f.Points = 5
	}
	f.Reason = fmt.Sprintf("plans to move within %d month(s) (1: 20 points, 3: 15, 6: 10, 12: 5, later: 0)", m)
	return f
}

func preApproval(l Lead) Factor {
	f := Factor{Factor: "preApproval", MaxPoints: 15, Reason: "not pre-approved for a mortgage"}
	if l.PreApproved {
		f.Value, f.Points, f.Reason = 1, 15, "pre-approved for a mortgage"
	}
	return f
}

func source(l Lead) Factor {
	p := sourcePoints[l.Source]
	return Factor{Factor: "source", Value: float64(p), Points: p, MaxPoints: 10,
		Reason: fmt.Sprintf("came from %s (referral 10, open house 8, website 6, Zillow 5, social 4, other 2)", strings.ToLower(strings.ReplaceAll(l.Source, "_", " ")))}
}
