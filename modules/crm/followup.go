package crm

import (
	"github.com/estateflow/estateflow/internal/numfmt"

	"fmt"
	"strings"
	"time"

	"github.com/estateflow/estateflow/modules/calendar"
)

// FollowUpPlan is the FOLLOW_UP_SCHEDULING step's output.
type FollowUpPlan struct {
	ClientID int    `json:"clientId"`
	Tier     string `json:"tier"`
	// TransactionID is the client's open transaction, which the tasks are
	// linked to.
	TransactionID *int          `json:"transactionId,omitempty"`
	Reason        string        `json:"reason"`
	Tasks         []PlannedTask `json:"tasks"`
	// Superseded are the earlier runs whose open follow-ups this plan
	// replaced (supersede.go).
	Superseded []SupersededRun `json:"superseded"`
}

// IsStepOutput marks a FollowUpPlan as a step's typed output.
func (*FollowUpPlan) IsStepOutput() {}

// PlannedTask is one follow-up the step creates as a CRM task.
type PlannedTask struct {
	Type  string    `json:"type"` // CALL, TEXT, EMAIL, MEETING or TODO
	Title string    `json:"title"`
	Notes string    `json:"notes"`
	DueAt time.Time `json:"dueAt"`
}

// FollowUpInput is what the plan is made from: who the client is, how to
// reach them, what they want, and why the follow-ups are planned.
type FollowUpInput struct {
	ClientID int
	Name     string
	Tier     string
	// Score is the lead score behind the tier, when there is one.
	Score        *int
	Phone, Email string
	SMSOptIn     bool
	// Trigger names what planned the follow-ups, e.g. "Lead Nurture run
	// 42".
	Trigger string
	// LastInteraction is the client's latest touch point, if any.
	LastInteraction *Interaction
	// ValuationRequestedAt is when the client last asked what their home
	// is worth, if they did: the agent brings the CMA.
	ValuationRequestedAt *time.Time
	Wishes               Wishes
	// Matches are the best active listings for the client, best first.
	Matches []ListingMatch
}

// Wishes are what the client has told the agent they want.
type Wishes struct {
	BudgetMin, BudgetMax *int
	Beds                 *int
	Areas                []string
	MoveTimeline         *int // months
	PreApproved          bool
}

type touch struct {
	kind         string
	businessDays int
	// title follows the channel's verb ("Call", "Text", "Email"), so that
	// it still reads right when the channel changes; a meeting's is whole.
	title string
	// cover is what the touch is for.
	cover string
	// listings says whether the matched listings are part of it.
	listings bool
	// noMatch, when set, replaces title and cover when no listing matches
	// the client: a touch about tours or matched listings would ask the
	// agent to do what cannot be done, so it works on the search instead.
	noMatch *touchText
}

type touchText struct{ title, cover string }

// cadence is the follow-up rhythm per tier: hot leads hear from an agent
// the same day and meet within the week; cold ones are kept warm monthly.
var cadence = map[string][]touch{
	TierHot: {
		{"CALL", 0, "%s first: hot lead", "confirm the move date and financing, and book tours", true, nil},
		{"TEXT", 1, "%s about the best matched listings", "send the matched listings and offer tour times", true,
			&touchText{"%s about widening the search", "suggest the nearby areas, sizes or prices where homes do fit, and ask which they would consider"}},
		{"MEETING", 2, "Meet %s to tour matched listings", "tour the matched listings; bring the recent sales near each", true,
			&touchText{"Meet %s to refine the search", "agree on areas, size and price the market can meet, and set up new-listing alerts"}},
		{"CALL", 4, "%s after the tours", "ask which homes they liked and why, and whether to prepare an offer", false,
			&touchText{"%s with homes that fit the refined search", "share the listings that fit what was agreed, and offer tours"}},
		{"EMAIL", 7, "%s new listings and next steps", "send new listings that fit and the next steps agreed", false, nil},
	},
	TierWarm: {
		{"CALL", 1, "%s to confirm needs and budget", "confirm budget, bedrooms, areas and move date; offer a lender introduction if they are not pre-approved", false, nil},
		{"EMAIL", 3, "%s a curated set of listings", "send the matched listings with a line on why each fits", true,
			&touchText{"%s the homes closest to their wishes", "send the nearest fits (another area, a little more budget or one bedroom fewer) with a line on each trade-off"}},
		{"CALL", 7, "%s about showings", "offer showings of the homes they liked", false,
			&touchText{"%s about the search", "ask which trade-off they would make, and offer showings of anything that now fits"}},
		{"TEXT", 14, "%s with a market update", "share what changed in their areas: new listings and recent sales", false, nil},
	},
	TierCold: {
		{"EMAIL", 3, "%s a neighborhood market report", "send the market report for their areas and ask what would make them move", false, nil},
		{"CALL", 14, "%s to check in", "ask whether their plans or timing changed", false, nil},
		{"EMAIL", 30, "%s the monthly market update", "send the monthly update for their areas", false, nil},
	},
}

var verb = map[string]string{"CALL": "Call", "TEXT": "Text", "EMAIL": "Email"}

// Business hours: tasks fall due between 9:00 and 17:00 local time, at an
// hour that suits the channel.
var dueHour = map[string]int{"EMAIL": 9, "TODO": 9, "CALL": 10, "TEXT": 12, "MEETING": 15}

const (
	businessOpen  = 9
	businessClose = 17
)

// PlanFollowUps lays out a client's follow-ups from now, in the org's time
// zone. Each task's notes say why it exists, what to cover and what the
// client wants. A call or text needs a phone number: a text to a client
// who has not agreed to texts becomes a call; without a number, a call or
// text becomes an email, or, without an email address either, one task to
// find a phone number. An email without an address becomes a text or
// call.
func PlanFollowUps(in FollowUpInput, now time.Time, loc *time.Location) FollowUpPlan {
	tier := in.Tier
	touches, ok := cadence[tier]
	if !ok {
		tier, touches = TierCold, cadence[TierCold]
	}
	plan := FollowUpPlan{ClientID: in.ClientID, Tier: tier,
		Reason: fmt.Sprintf("%s cadence: %d touches over %d business days", tier, len(touches), touches[len(touches)-1].businessDays)}
	why := whyLine(in, tier, loc)
	wishes := wishesLine(in.Wishes)
	ask := askLine(in)
	local := now.In(loc)
	findingNumber, dropped := false, 0
	for _, t := range touches {
		kind, channelNote := t.kind, ""
		if kind == "TEXT" && !in.SMSOptIn {
			kind, channelNote = "CALL", "The client has not agreed to text messages: call instead."
		}
		if kind == "EMAIL" && in.Email == "" && in.Phone != "" {
			kind, channelNote = "CALL", "No email address on record: call instead, and ask for one."
			if in.SMSOptIn {
				kind, channelNote = "TEXT", "No email address on record: text instead, and ask for one."
			}
		}
		unreachable := ((kind == "CALL" || kind == "TEXT") && in.Phone == "") || (kind == "EMAIL" && in.Email == "")
		if unreachable && kind != "EMAIL" && in.Email != "" {
			kind, channelNote = "EMAIL", "No phone number on record: email instead, and ask for a number."
			unreachable = false
		}
		if unreachable {
			if findingNumber {
				dropped++
				continue
			}
			findingNumber = true
			plan.Tasks = append(plan.Tasks, PlannedTask{
				Type: "TODO", Title: "Find a phone number for " + in.Name,
				Notes: joinLines(why,
					"Cover: no phone number or email address is on record, so the planned calls, texts and emails cannot be made. Find a number (ask whoever referred them, check the lead form) and add it to the client.",
					wishes),
				DueAt: dueTime(local, t.businessDays, dueHour["TODO"]).UTC(),
			})
			continue
		}
		text := touchText{t.title, t.cover}
		if t.noMatch != nil && len(in.Matches) == 0 {
			text = *t.noMatch
		}
		title := fmt.Sprintf(text.title, in.Name)
		if kind != "MEETING" {
			title = verb[kind] + " " + title
		}
		cover := "Cover: " + text.cover
		if t.listings && (t.noMatch == nil || len(in.Matches) > 0) {
			cover += listingsClause(in.Matches)
		}
		cover += "."
		if in.ValuationRequestedAt != nil && len(plan.Tasks) == 0 {
			cover += fmt.Sprintf(" They asked what their home is worth on %s: bring the CMA.", in.ValuationRequestedAt.In(loc).Format("Jan 2, 2006"))
		}
		due := dueTime(local, t.businessDays, dueHour[kind])
		if n := len(plan.Tasks); n > 0 {
			// A cadence that starts on a weekend, or a text turned into a
			// call, could put two touches at the same hour (two calls at
			// 10:00 on Monday): the later one moves to the next business
			// day. A call and a text hours apart on one day stay: that is
			// how agents reach a hot lead.
			prev := plan.Tasks[n-1].DueAt.In(loc)
			if !due.After(prev) {
				prevDay := time.Date(prev.Year(), prev.Month(), prev.Day(), 0, 0, 0, 0, loc)
				due = at(calendar.AddBusinessDays(prevDay, 1), dueHour[kind])
			}
		}
		plan.Tasks = append(plan.Tasks, PlannedTask{
			Type: kind, Title: title,
			Notes: joinLines(why, cover, ask, wishes, channelNote),
			DueAt: due.UTC(),
		})
	}
	if dropped > 0 {
		plan.Reason += fmt.Sprintf("; no phone number or email on record: one task to find a phone number replaces %d calls, texts and emails", dropped+1)
	}
	return plan
}

// whyLine says what planned the task, with the score and the last touch.
func whyLine(in FollowUpInput, tier string, loc *time.Location) string {
	var b strings.Builder
	b.WriteString("Why: ")
	if in.Trigger != "" {
		b.WriteString(in.Trigger + " planned this follow-up; ")
	}
	if in.Score != nil {
		fmt.Fprintf(&b, "lead score %d/100, %s", *in.Score, tier)
	} else {
		fmt.Fprintf(&b, "lead tier %s", tier)
	}
	if l := in.LastInteraction; l != nil {
		fmt.Fprintf(&b, "; last interaction: %s on %s", kindName(l.Type), l.At.In(loc).Format("Jan 2, 2006"))
	} else {
		b.WriteString("; no interaction on record yet")
	}
	return b.String() + "."
}

// wishesLine lists what the client wants, leaving out what is unknown;
// with nothing known it is empty.
func wishesLine(w Wishes) string {
	var parts []string
	switch {
	case w.BudgetMin != nil && w.BudgetMax != nil && *w.BudgetMin > 0:
		parts = append(parts, fmt.Sprintf("budget %s to %s", numfmt.Dollars(*w.BudgetMin), numfmt.Dollars(*w.BudgetMax)))
	case w.BudgetMax != nil && *w.BudgetMax > 0:
		parts = append(parts, "budget up to "+numfmt.Dollars(*w.BudgetMax))
	case w.BudgetMin != nil && *w.BudgetMin > 0:
		parts = append(parts, "budget from "+numfmt.Dollars(*w.BudgetMin))
	}
	if w.Beds != nil && *w.Beds > 0 {
		parts = append(parts, fmt.Sprintf("%d+ bedrooms", *w.Beds))
	}
	if len(w.Areas) > 0 {
		parts = append(parts, "areas "+strings.Join(w.Areas, ", "))
	}
	if w.MoveTimeline != nil {
		if *w.MoveTimeline <= 1 {
			parts = append(parts, "moving within a month")
		} else {
			parts = append(parts, fmt.Sprintf("moving within %d months", *w.MoveTimeline))
		}
	}
	if w.PreApproved {
		parts = append(parts, "pre-approved")
	}
	if len(parts) == 0 {
		return ""
	}
	return "Wishes: " + strings.Join(parts, "; ") + "."
}

// askLine lists what the agent should find out: the wishes not on record.
func askLine(in FollowUpInput) string {
	w := in.Wishes
	var missing []string
	if (w.BudgetMax == nil || *w.BudgetMax <= 0) && (w.BudgetMin == nil || *w.BudgetMin <= 0) {
		missing = append(missing, "budget")
	}
	if w.Beds == nil || *w.Beds <= 0 {
		missing = append(missing, "bedrooms")
	}
	if len(w.Areas) == 0 {
		missing = append(missing, "areas")
	}
	if w.MoveTimeline == nil {
		missing = append(missing, "move date")
	}
	if in.Phone == "" {
		missing = append(missing, "phone number")
	}
	if len(missing) == 0 {
		return ""
	}
	return "Ask for: " + strings.Join(missing, ", ") + " (not on record)."
}

// listingsClause names up to three matched listings, or says there are
// none yet.
func listingsClause(matches []ListingMatch) string {
	if len(matches) == 0 {
		return " (no active listing matches yet: ask what they would trade off, such as area, size or price)"
	}
	var parts []string
	for _, m := range matches[:min(3, len(matches))] {
		s := fmt.Sprintf("%s, %s (%s", m.Address, m.Zip, numfmt.Dollars(m.ListPrice))
		if m.Beds != nil && *m.Beds > 0 {
			s += fmt.Sprintf(", %d bd", *m.Beds)
		}
		parts = append(parts, s+")")
	}
	return ": " + strings.Join(parts, "; ")
}

func joinLines(lines ...string) string {
	var kept []string
	for _, l := range lines {
		if l != "" {
			kept = append(kept, l)
		}
	}
	return strings.Join(kept, "\n")
}

// dueTime is the given hour on the business day n business days after
// local's day. For the same day (n = 0) it is the next full hour within
// business hours, or the next business morning.
func dueTime(local time.Time, n, hour int) time.Time {
	day := time.Date(local.Year(), local.Month(), local.Day(), 0, 0, 0, 0, local.Location())
	if n == 0 {
		next := local.Truncate(time.Hour).Add(time.Hour)
		if calendar.IsBusinessDay(day) && next.Hour() >= businessOpen && next.Hour() < businessClose && next.Day() == local.Day() {
			return next
		}
		if calendar.IsBusinessDay(day) && local.Hour() < businessOpen {
			return at(day, hour)
		}
		return at(calendar.AddBusinessDays(day, 1), hour)
	}
	return at(calendar.AddBusinessDays(day, n), hour)
}

// at is the given hour of day's date, in day's time zone (daylight saving
// time included).
func at(day time.Time, hour int) time.Time {
	return time.Date(day.Year(), day.Month(), day.Day(), hour, 0, 0, 0, day.Location())
}
