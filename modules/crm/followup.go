package crm

import (
	"fmt"
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
	Type  string    `json:"type"` // CALL, TEXT, EMAIL or MEETING
	Title string    `json:"title"`
	Notes string    `json:"notes"`
	DueAt time.Time `json:"dueAt"`
}

type touch struct {
	kind         string
	businessDays int
	title        string
}

// cadence is the follow-up rhythm per tier: hot leads hear from an agent
// the same day and meet within the week; cold ones are kept warm monthly.
var cadence = map[string][]touch{
	TierHot: {
		{"CALL", 0, "Call %s today: hot lead"},
		{"TEXT", 1, "Text %s the best matched listings"},
		{"MEETING", 2, "Meet %s to tour matched listings"},
		{"CALL", 4, "Call %s after the tours"},
		{"EMAIL", 7, "Email %s new listings and next steps"},
	},
	TierWarm: {
		{"CALL", 1, "Call %s to confirm needs and budget"},
		{"EMAIL", 3, "Email %s a curated set of listings"},
		{"CALL", 7, "Call %s about showings"},
		{"TEXT", 14, "Text %s a market update"},
	},
	TierCold: {
		{"EMAIL", 3, "Email %s a neighborhood market report"},
		{"CALL", 14, "Check in with %s by phone"},
		{"EMAIL", 30, "Email %s the monthly market update"},
	},
}

// Business hours: tasks fall due between 9:00 and 17:00 local time, at an
// hour that suits the channel.
var dueHour = map[string]int{"EMAIL": 9, "CALL": 10, "TEXT": 12, "MEETING": 15}

const (
	businessOpen  = 9
	businessClose = 17
)

// PlanFollowUps lays out a client's follow-ups from now, in the org's time
// zone. A text to a client who has not agreed to texts becomes a call.
func PlanFollowUps(clientID int, name, tier string, smsOptIn bool, now time.Time, loc *time.Location) FollowUpPlan {
	touches, ok := cadence[tier]
	if !ok {
		tier, touches = TierCold, cadence[TierCold]
	}
	plan := FollowUpPlan{ClientID: clientID, Tier: tier,
		Reason: fmt.Sprintf("%s cadence: %d touches over %d business days", tier, len(touches), touches[len(touches)-1].businessDays)}
	local := now.In(loc)
	for _, t := range touches {
		kind, notes := t.kind, ""
		if kind == "TEXT" && !smsOptIn {
			kind, notes = "CALL", "the client has not agreed to text messages: call instead"
		}
		plan.Tasks = append(plan.Tasks, PlannedTask{
			Type: kind, Title: fmt.Sprintf(t.title, name), Notes: notes,
			DueAt: dueTime(local, t.businessDays, dueHour[kind]).UTC(),
		})
	}
	return plan
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
