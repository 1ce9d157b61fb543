package marketing

import (
	"fmt"
	"strings"
	"time"

	"github.com/estateflow/estateflow/modules/calendar"
	"github.com/estateflow/estateflow/modules/crm"
)

// EmailSequence is the EMAIL_SEQUENCE step's output.
type EmailSequence struct {
	ClientID int            `json:"clientId"`
	Tier     string         `json:"tier"`
	Consent  bool           `json:"consent"`
	Reason   string         `json:"reason"`
	Messages []PlannedEmail `json:"messages"`
}

// IsStepOutput marks an EmailSequence as a step's typed output.
func (*EmailSequence) IsStepOutput() {}

// PlannedEmail is one scheduled message of the sequence.
type PlannedEmail struct {
	Template    string    `json:"template"`
	To          string    `json:"to"`
	Subject     string    `json:"subject"`
	Body        string    `json:"body"`
	ScheduledAt time.Time `json:"scheduledAt"`
}

// Recipient is what the templates know of the client.
type Recipient struct {
	ClientID    int
	Name        string
	Email       string
	EmailOptIn  bool
	Areas       []string
	DesiredBeds *int
	BudgetMax   *int
	Tier        string
}

type drip struct {
	template     string
	businessDays int
}

// dripCadence spaces the emails by tier: hot leads get listings now and
// again within the week; cold ones a gentle monthly rhythm.
var dripCadence = map[string][]drip{
	crm.TierHot:  {{"listings", 0}, {"showings", 2}, {"new-listings", 5}},
	crm.TierWarm: {{"welcome", 1}, {"listings", 4}, {"market-update", 8}, {"check-in", 14}},
	crm.TierCold: {{"welcome", 3}, {"market-update", 10}, {"listings", 20}, {"check-in", 30}},
}

// Quiet hours: no email is scheduled from 20:00 to 8:00, local time; drip
// emails go out at 10:00 on business days.
const (
	quietStart = 20
	quietEnd   = 8
	sendHour   = 10
)

// PlanEmails builds the drip sequence. Without email consent (or an email
// address) it schedules nothing and says why.
func PlanEmails(r Recipient, listings []crm.ListingMatch, now time.Time, loc *time.Location) EmailSequence {
	tier := r.Tier
	steps, ok := dripCadence[tier]
	if !ok {
		tier, steps = crm.TierCold, dripCadence[crm.TierCold]
	}
	seq := EmailSequence{ClientID: r.ClientID, Tier: tier, Messages: []PlannedEmail{}}
	switch {
	case !r.EmailOptIn:
		seq.Reason = "the client has not opted in to email: nothing is sent"
		return seq
	case r.Email == "":
		seq.Reason = "the client has no email address: nothing is sent"
		return seq
	}
	seq.Consent = true
	seq.Reason = fmt.Sprintf("%s drip: %d emails over %d business days, at %d:00 local time outside quiet hours (%d:00–%d:00)",
		tier, len(steps), steps[len(steps)-1].businessDays, sendHour, quietStart, quietEnd)
	local := now.In(loc)
	for _, d := range steps {
		subject, body := render(d.template, r, listings)
		seq.Messages = append(seq.Messages, PlannedEmail{
			Template: d.template, To: r.Email, Subject: subject, Body: body,
			ScheduledAt: sendTime(local, d.businessDays).UTC(),
		})
	}
	return seq
}

// sendTime is 10:00 on the business day n business days after local's
// day; for n = 0, as soon as possible outside quiet hours.
func sendTime(local time.Time, n int) time.Time {
	day := time.Date(local.Year(), local.Month(), local.Day(), 0, 0, 0, 0, local.Location())
	if n == 0 {
		switch {
		case local.Hour() >= quietStart:
			return atHour(day.AddDate(0, 0, 1), quietEnd)
		case local.Hour() < quietEnd:
			return atHour(day, quietEnd)
		default:
			return local.Truncate(time.Minute)
		}
	}
	return atHour(calendar.AddBusinessDays(day, n), sendHour)
}

func atHour(day time.Time, hour int) time.Time {
	return time.Date(day.Year(), day.Month(), day.Day(), hour, 0, 0, 0, day.Location())
}

// render fills a template with the client's name, preferences and matched
// listings.
func render(template string, r Recipient, listings []crm.ListingMatch) (string, string) {
	first := strings.Fields(r.Name)
	name := r.Name
	if len(first) > 0 {
		name = first[0]
	}
	prefs := preferences(r)
	var lines []string
	for i, l := range listings {
		if i == 3 {
			break
		}
		beds := ""
		if l.Beds != nil {
			beds = fmt.Sprintf(", %d bedrooms", *l.Beds)
		}
		lines = append(lines, fmt.Sprintf("- %s, %s: $%s%s", l.Address, l.City, thousands(l.ListPrice), beds))
	}
	listingText := "We have no listing that matches yet; we will write as soon as one comes up."
	if len(lines) > 0 {
		listingText = "Homes that fit what you told us:\n" + strings.Join(lines, "\n")
	}
	switch template {
	case "welcome":
		return fmt.Sprintf("Welcome, %s: your home search", name),
			fmt.Sprintf("Hi %s,\n\nThank you for getting in touch. You are looking for %s. We will send you homes that fit, and nothing else.\n\n%s", name, prefs, listingText)
	case "listings":
		return fmt.Sprintf("%s, %d homes picked for you", name, min(3, len(listings))),
			fmt.Sprintf("Hi %s,\n\nYou are looking for %s.\n\n%s\n\nReply to book a showing.", name, prefs, listingText)
	case "showings":
		return fmt.Sprintf("%s, shall we tour these this week?", name),
			fmt.Sprintf("Hi %s,\n\n%s\n\nPick a time that suits you and we will arrange the showings.", name, listingText)
	case "new-listings":
		return fmt.Sprintf("New on the market for you, %s", name),
			fmt.Sprintf("Hi %s,\n\nHere is what is new for %s.\n\n%s", name, prefs, listingText)
	case "market-update":
		return fmt.Sprintf("%s, your market update", name),
			fmt.Sprintf("Hi %s,\n\nA short update on the market for %s: prices, new listings and how fast homes sell.\n\n%s", name, prefs, listingText)
	default: // check-in
		return fmt.Sprintf("Checking in, %s", name),
			fmt.Sprintf("Hi %s,\n\nIs your search for %s still on? Reply and tell us what has changed.", name, prefs)
	}
}

func preferences(r Recipient) string {
	var parts []string
	if r.DesiredBeds != nil {
		parts = append(parts, fmt.Sprintf("%d or more bedrooms", *r.DesiredBeds))
	}
	if len(r.Areas) > 0 {
		parts = append(parts, "in "+strings.Join(r.Areas, " or "))
	}
	if r.BudgetMax != nil {
		parts = append(parts, "up to $"+thousands(*r.BudgetMax))
	}
	if len(parts) == 0 {
		return "your next home"
	}
	return "a home with " + strings.Join(parts, ", ")
}

func thousands(n int) string {
	s := fmt.Sprint(n)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}
