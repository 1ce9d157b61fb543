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
	Stage        string // LEAD, PROSPECT, ACTIVE or PAST_CLIENT
	PreApproved  bool
	MoveTimeline *int // months
	BudgetMin    *int
	BudgetMax    *int
	// CreatedAt is when the lead entered the CRM; zero when unknown. A lead
	// entered today is fresh even before its first interaction.
	CreatedAt time.Time
	// LastContactedAt is the agent's own record of the last contact.
	LastContactedAt *time.Time
	Interactions    []Interaction
	// MatchingListings counts the active listings in the client's areas and
	// price range.
	MatchingListings int
}

// Interaction is one touch point.
type Interaction struct {
	Type string
	At   time.Time
}

// A lead score answers the agent's question "how much business is in
// sight through this contact, and how soon?". A contact brings business in
// one of three ways, and the intent and readiness factors take the
// strongest:
//   - as a buyer: a move date, and a mortgage pre-approval (or proof of
//     funds, for a cash investor);
//   - as a seller: a move date, and a request to value their own home;
//   - as an advocate: referrals sent, and having closed with the agent
//     before (a past client).
//
// Engagement, source, listing fit and recency complete the picture. The
// maximum points add up to 100: engagement 25, intent 30, readiness 20,
// source 10, listing fit 5, recency 10.
const (
	maxEngagement = 25
	maxIntent     = 30
	maxReadiness  = 20
	maxSource     = 10
	maxFit        = 5
	maxRecency    = 10
)

// interactionWeight is how much one touch point of a kind shows intent:
// meeting an agent, sending a referral or touring a home says more than
// opening an email.
var interactionWeight = map[string]float64{
	"MEETING": 10, "REFERRAL": 10, "SHOWING": 8, "VALUATION_REQUEST": 8, "OPEN_HOUSE_VISIT": 6, "CALL": 5, "EMAIL_REPLY": 5,
	"FORM_SUBMISSION": 4, "TEXT": 3, "LISTING_VIEW": 2, "WEBSITE_VISIT": 1, "EMAIL_OPEN": 1,
}

// interactionOrder lists the kinds in a reason, strongest first.
var interactionOrder = []string{"MEETING", "REFERRAL", "SHOWING", "VALUATION_REQUEST", "OPEN_HOUSE_VISIT", "CALL", "EMAIL_REPLY",
	"FORM_SUBMISSION", "TEXT", "LISTING_VIEW", "WEBSITE_VISIT", "EMAIL_OPEN"}

// engagementHalfLife is how fast a touch point's weight fades.
const engagementHalfLife = 30 * 24 * time.Hour

const day = 24 * time.Hour

// staleAfter is how long without any touch before what the client once
// said (their move date, their financing) is treated as out of date: it
// then counts half. A buyer who said "within a month" four months ago and
// has not been heard from since has moved on, or not moved at all.
const staleAfter = 90 * day

// referralWindow is how far back sent referrals count as business in sight.
const referralWindow = 365 * day

// valuationWindow is how long a request to value the client's home counts
// as a seller getting ready.
const valuationWindow = 180 * day

var sourcePoints = map[string]int{
	"REFERRAL": 10, "OPEN_HOUSE": 8, "WEBSITE": 5, "ZILLOW": 4, "SOCIAL": 3, "OTHER": 2,
}

// Score computes a lead's score as of now: the sum of its factors' points.
func Score(l Lead, now time.Time) LeadScore {
	last, lastKnown := lastTouch(l)
	stale := lastKnown && now.Sub(last) > staleAfter
	factors := []Factor{
		engagement(l, now), intent(l, now, stale), readiness(l, now, stale), source(l), inventoryFit(l), recency(now, last, lastKnown),
	}
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
	var weighted float64
	counts := map[string]int{}
	for _, in := range l.Interactions {
		age := max(now.Sub(in.At), 0)
		weighted += interactionWeight[in.Type] * math.Pow(0.5, float64(age)/float64(engagementHalfLife))
		counts[in.Type]++
	}
	weighted = math.Round(weighted*100) / 100
	points := int(math.Min(maxEngagement, math.Round(weighted)))
	reason := "no interactions on record"
	if len(l.Interactions) > 0 {
		var parts []string
		for _, kind := range interactionOrder {
			if n := counts[kind]; n > 0 {
				parts = append(parts, fmt.Sprintf("%d %s", n, kindName(kind)))
			}
		}
		reason = fmt.Sprintf("%s; weighted by kind (meeting or referral 10, showing or valuation request 8, open house 6, call or email reply 5, form 4, text 3, listing view 2, website visit or email open 1) and halved every 30 days: %.1f",
			strings.Join(parts, ", "), weighted)
	}
	return Factor{Factor: "engagement", Value: weighted, Points: points, MaxPoints: maxEngagement, Reason: reason}
}

// intent is business in sight: the client's own move, or the referrals
// the client sent, whichever is nearer.
func intent(l Lead, now time.Time, stale bool) Factor {
	f := Factor{Factor: "intent", MaxPoints: maxIntent}
	move, moveReason := 0, "move date unknown: ask when they plan to move"
	if l.MoveTimeline != nil {
		m := *l.MoveTimeline
		f.Value = float64(m)
		switch {
		case m <= 1:
			move = 30
		case m <= 3:
			move = 24
		case m <= 6:
			move = 15
		case m <= 12:
			move = 8
		}
		moveReason = fmt.Sprintf("plans to move within %s (1: 30 points, 3: 24, 6: 15, 12: 8, later: 0)", plural(m, "month", "months"))
	}
	// Only a stated move date goes stale; referrals are dated events.
	if stale && move > 0 {
		move = halve(move)
		moveReason += "; halved: no contact for over 90 days, so the stated move date may be out of date"
	}
	f.Points, f.Reason = move, moveReason
	referrals := countSince(l.Interactions, "REFERRAL", now.Add(-referralWindow))
	referred := 0
	switch {
	case referrals >= 2:
		referred = 30
	case referrals == 1:
		referred = 18
	}
	if referred > move {
		f.Value, f.Points = float64(referrals), referred
		f.Reason = fmt.Sprintf("referred %d people in the last 12 months: business in sight through them (1: 18 points, 2 or more: 30)", referrals)
	}
	return f
}

// readiness is whether the client can act: financing for a buyer, a
// valuation for a seller, a track record for a past client.
func readiness(l Lead, now time.Time, stale bool) Factor {
	f := Factor{Factor: "readiness", MaxPoints: maxReadiness}
	valued := countSince(l.Interactions, "VALUATION_REQUEST", now.Add(-valuationWindow)) > 0
	referred := countSince(l.Interactions, "REFERRAL", now.Add(-referralWindow)) > 0
	pastClient := l.Stage == "PAST_CLIENT"
	dated := false // evidence from dated records does not go stale
	switch {
	case l.PreApproved:
		f.Points, f.Reason = 20, "pre-approved for a mortgage (or proof of funds)"
	case valued:
		f.Points, f.Reason, dated = 20, "asked what their home is worth in the last 6 months: a seller getting ready", true
	case pastClient && referred:
		f.Points, f.Reason, dated = 20, "a past client who sent a referral in the last 12 months: a proven advocate", true
	case pastClient:
		f.Points, f.Reason, dated = 10, "a past client: has closed with us before", true
	case l.BudgetMax != nil:
		f.Points, f.Reason = 5, "a budget on record, not pre-approved"
	default:
		f.Reason = "no pre-approval, valuation request, past deal or budget on record"
	}
	f.Value = float64(f.Points)
	if stale && !dated && f.Points > 0 {
		f.Points = halve(f.Points)
		f.Reason += "; halved: no contact for over 90 days"
	}
	return f
}

func source(l Lead) Factor {
	p := sourcePoints[l.Source]
	return Factor{Factor: "source", Value: float64(p), Points: p, MaxPoints: maxSource,
		Reason: fmt.Sprintf("came from %s (referral 10, open house 8, website 5, Zillow 4, social 3, other 2)", strings.ToLower(strings.ReplaceAll(l.Source, "_", " ")))}
}

// inventoryFit is how easily a buyer can be shown homes now. It weighs
// little: a thin market is the agent's problem more than a sign of a weak
// lead.
func inventoryFit(l Lead) Factor {
	f := Factor{Factor: "listingFit", Value: float64(l.MatchingListings), MaxPoints: maxFit}
	if l.BudgetMax == nil {
		f.Reason = "no budget on record: no listing search to fit"
		return f
	}
	n := l.MatchingListings
	switch {
	case n >= 6:
		f.Points = 5
	case n >= 3:
		f.Points = 4
	case n >= 1:
		f.Points = 2
	}
	f.Reason = fmt.Sprintf("%s in the client's areas and price range (6 or more: 5 points, 3 to 5: 4, 1 to 2: 2)", plural(n, "active listing", "active listings"))
	return f
}

// recency is how fresh the relationship is: the last touch of any kind,
// the agent's last recorded contact, or the lead's arrival.
func recency(now, last time.Time, known bool) Factor {
	f := Factor{Factor: "recency", MaxPoints: maxRecency}
	if !known {
		f.Reason = "no contact on record"
		return f
	}
	days := int(max(now.Sub(last), 0) / day)
	f.Value = float64(days)
	switch {
	case days <= 7:
		f.Points = 10
	case days <= 30:
		f.Points = 7
	case days <= 90:
		f.Points = 3
	}
	ago := plural(days, "day", "days") + " ago"
	if days == 0 {
		ago = "today"
	}
	f.Reason = fmt.Sprintf("last touch %s (within 7 days: 10 points, 30: 7, 90: 3, older: 0)", ago)
	return f
}

// lastTouch is the latest of the client's interactions, the agent's last
// recorded contact and the lead's arrival.
func lastTouch(l Lead) (time.Time, bool) {
	var last time.Time
	for _, in := range l.Interactions {
		if in.At.After(last) {
			last = in.At
		}
	}
	if l.LastContactedAt != nil && l.LastContactedAt.After(last) {
		last = *l.LastContactedAt
	}
	if l.CreatedAt.After(last) {
		last = l.CreatedAt
	}
	return last, !last.IsZero()
}

func countSince(ins []Interaction, kind string, since time.Time) int {
	n := 0
	for _, in := range ins {
		if in.Type == kind && !in.At.Before(since) {
			n++
		}
	}
	return n
}

// halve rounds half up, so that a stale fact still counts for something.
func halve(points int) int { return (points + 1) / 2 }

func kindName(kind string) string { return strings.ToLower(strings.ReplaceAll(kind, "_", " ")) }

// plural writes a count with its noun: "1 month", "3 months", "no active
// listings".
func plural(n int, one, many string) string {
	switch n {
	case 0:
		return "no " + many
	case 1:
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}
