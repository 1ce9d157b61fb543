package marketing

import (
	"github.com/estateflow/estateflow/internal/numfmt"

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
	// Skipped are the drip's emails not scheduled, each with the reason
	// (no consent, no address).
	Skipped []SkippedEmail `json:"skipped"`
	// Superseded are the earlier runs whose pending emails to the client
	// this sequence replaced.
	Superseded []crm.SupersededRun `json:"superseded"`
	// Market holds the figures the market-update email quotes, when the
	// drip has one.
	Market      *MarketFigures   `json:"market,omitempty"`
	FairHousing FairHousingCheck `json:"fairHousing"`
}

// IsStepOutput marks an EmailSequence as a step's typed output.
func (*EmailSequence) IsStepOutput() {}

// PlannedEmail is one scheduled message of the sequence, with the headers a
// delivery worker sends.
type PlannedEmail struct {
	Template  string `json:"template"`
	To        string `json:"to"`
	FromName  string `json:"fromName"`
	FromEmail string `json:"fromEmail"`
	Subject   string `json:"subject"`
	// Body ends with the footer: the sender, the brokerage's postal address
	// and the unsubscribe link (CAN-SPAM).
	Body        string    `json:"body"`
	ScheduledAt time.Time `json:"scheduledAt"`
	// ListUnsubscribe and ListUnsubscribePost are the RFC 2369 and RFC
	// 8058 (one-click) header values.
	ListUnsubscribe     string `json:"listUnsubscribe"`
	ListUnsubscribePost string `json:"listUnsubscribePost"`
	// UnsubscribeURL is the link in the footer and in ListUnsubscribe.
	UnsubscribeURL string `json:"unsubscribeUrl"`
}

// SkippedEmail is a drip email the step did not schedule, and why.
type SkippedEmail struct {
	Template string `json:"template"`
	Reason   string `json:"reason"`
}

// ListUnsubscribePost is RFC 8058's one-click header value.
const ListUnsubscribePost = "List-Unsubscribe=One-Click"

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

// Sender is who the emails come from: the organization's profile.
type Sender struct {
	Name, Email, Brokerage, PostalAddress, Phone, Website, Signature string
}

// Missing names the profile fields lawful email needs and the profile
// lacks, as updateOrganization spells them: CAN-SPAM requires accurate
// header information (who sends) and a valid physical postal address.
func (s Sender) Missing() []string {
	var missing []string
	if strings.TrimSpace(s.Name) == "" {
		missing = append(missing, "senderName")
	}
	if strings.TrimSpace(s.Email) == "" {
		missing = append(missing, "senderEmail")
	}
	if strings.TrimSpace(s.PostalAddress) == "" {
		missing = append(missing, "postalAddress")
	}
	return missing
}

// EmailInput is what a drip is planned from.
type EmailInput struct {
	Recipient Recipient
	Sender    Sender
	Listings  []crm.ListingMatch
	// Market is read for drips with a market update; nil without one.
	Market *MarketFigures
	// UnsubscribeURL is the link of the drip's i-th email.
	UnsubscribeURL func(i int) string
	Now            time.Time
	Loc            *time.Location
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
// address) it schedules nothing and says, for each email, why.
func PlanEmails(in EmailInput) EmailSequence {
	r := in.Recipient
	tier := r.Tier
	steps, ok := dripCadence[tier]
	if !ok {
		tier, steps = crm.TierCold, dripCadence[crm.TierCold]
	}
	seq := EmailSequence{ClientID: r.ClientID, Tier: tier, Messages: []PlannedEmail{}, Skipped: []SkippedEmail{},
		Superseded: []crm.SupersededRun{}, FairHousing: FairHousingCheck{Passed: true, TermsChecked: len(fairHousingTerms), Removed: []string{}}}
	switch {
	case !r.EmailOptIn:
		seq.Reason = "the client has not opted in to email: nothing is sent"
	case strings.TrimSpace(r.Email) == "":
		seq.Reason = "the client has no email address: nothing is sent"
	}
	if seq.Reason != "" {
		for _, d := range steps {
			seq.Skipped = append(seq.Skipped, SkippedEmail{Template: d.template, Reason: seq.Reason})
		}
		return seq
	}
	seq.Consent = true
	seq.Reason = fmt.Sprintf("%s drip: %d emails over %d business days, at %d:00 local time outside quiet hours (%d:00–%d:00)",
		tier, len(steps), steps[len(steps)-1].businessDays, sendHour, quietStart, quietEnd)
	local := in.Now.In(in.Loc)
	for i, d := range steps {
		if d.template == "market-update" {
			seq.Market = in.Market
		}
		subject, content := render(d.template, r, in.Listings, in.Market, i > 0)
		subject, content, seq.FairHousing.Removed = checkEmail(subject, content, seq.FairHousing.Removed)
		link := in.UnsubscribeURL(i)
		seq.Messages = append(seq.Messages, PlannedEmail{
			Template: d.template, To: r.Email, FromName: in.Sender.Name, FromEmail: in.Sender.Email,
			Subject: subject, Body: content + "\n\n" + footer(in.Sender, link, searchReason),
			ScheduledAt:     sendTime(local, d.businessDays).UTC(),
			ListUnsubscribe: "<" + link + ">", ListUnsubscribePost: ListUnsubscribePost, UnsubscribeURL: link,
		})
	}
	seq.FairHousing.Passed = len(seq.FairHousing.Removed) == 0
	return seq
}

// checkEmail applies the fair-housing check to an email's subject and
// content (not to the footer, which is the sender's identity): a flagged
// line is left out, a flagged subject replaced by a neutral one.
func checkEmail(subject, content string, removed []string) (string, string, []string) {
	kept, removed := dropFlagged([]string{subject}, removed)
	if len(kept) == 0 {
		subject = "Your home search"
	}
	lines, removed := dropFlagged(strings.Split(content, "\n"), removed)
	return subject, strings.Join(lines, "\n"), removed
}

// searchReason is why a drip's reader receives it; %s is who sends it.
const searchReason = "You receive these emails because you asked %s to keep you posted on homes for sale."

// footer is what CAN-SPAM requires at the end of every commercial email:
// who sends it, the sender's valid postal address, and a working way to
// opt out. reason says why the reader receives it (%s: the brokerage).
func footer(s Sender, link, reason string) string {
	brokerage := s.Brokerage
	var b strings.Builder
	b.WriteString("--\n")
	if sig := strings.TrimSpace(s.Signature); sig != "" {
		b.WriteString(sig + "\n")
	} else {
		b.WriteString(s.Name + "\n")
	}
	if brokerage != "" && !strings.Contains(s.Signature, brokerage) {
		b.WriteString(brokerage + "\n")
	}
	b.WriteString(strings.TrimSpace(s.PostalAddress) + "\n")
	var contact []string
	for _, c := range []string{s.Phone, s.Website} {
		if c != "" && !strings.Contains(s.Signature, c) {
			contact = append(contact, c)
		}
	}
	if len(contact) > 0 {
		b.WriteString(strings.Join(contact, " · ") + "\n")
	}
	who := brokerage
	if who == "" {
		who = s.Name
	}
	fmt.Fprintf(&b, "\n"+reason+" To stop them, unsubscribe with one click: %s", who, link)
	return b.String()
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

// maxListed is the most listings one email shows.
const maxListed = 3

// render writes a template's subject and content (without the footer)
// from the client's name, preferences, matched listings and, for the
// market update, the market figures. Nothing in it is a bare count: with no
// match, the email says so and what the client can do.
//
// again is set after the drip's first email: a no-match paragraph already
// sent is not sent again in the same words.
func render(template string, r Recipient, listings []crm.ListingMatch, market *MarketFigures, again bool) (string, string) {
	name := ""
	if f := strings.Fields(r.Name); len(f) > 0 {
		name = f[0]
	}
	hi := "Hi there,"
	if name != "" {
		hi = "Hi " + name + ","
	}
	// to prefixes a subject with the client's first name, when known.
	to := func(s string) string {
		if name == "" {
			return strings.ToUpper(s[:1]) + s[1:]
		}
		return name + ", " + s
	}
	prefs := preferences(r)
	listed := listingLines(listings)
	noMatch := noMatchText(r, prefs, again)
	wanted := prefs // what the client is looking for, as an object
	if wanted == unknownPreferences {
		wanted = "what you are looking for"
	}
	switch template {
	case "welcome":
		body := fmt.Sprintf("%s\n\nThank you for getting in touch. You are looking for %s. We will send you homes that fit, and nothing else.", hi, prefs)
		if listed != "" {
			body += "\n\nHomes listed now that fit:\n" + listed
		} else {
			body += "\n\n" + noMatch
		}
		return to("welcome to your home search"), body
	case "listings":
		if listed == "" {
			return to("no exact match yet: here is where your search stands"), fmt.Sprintf("%s\n\n%s", hi, noMatch)
		}
		return to(fmt.Sprintf("%s picked for you", countWords(min(maxListed, len(listings)), "home", "homes"))),
			fmt.Sprintf("%s\n\nYou are looking for %s. These fit:\n%s\n\nReply to book a showing.", hi, prefs, listed)
	case "showings":
		if listed == "" {
			// Each email of a drip without a match says something new: a
			// third "nothing fits" would only be noise.
			return to("a call to widen your search?"), fmt.Sprintf("%s\n\nWe have not yet found a home listed with us that fits %s. "+
				"A short call often helps: we can look at nearby areas, at homes about to come on the market, and at what a small change "+
				"in size or budget would open up. Reply with two or three times that suit you, and we will call.", hi, wanted)
		}
		return to("shall we tour these this week?"),
			fmt.Sprintf("%s\n\n%s\n\nPick a time that suits you and we will arrange the showings.", hi, listed)
	case "new-listings":
		if listed == "" {
			return to("checking in on your search"), fmt.Sprintf("%s\n\nWe are still watching for %s, and will write the day a home "+
				"that fits is listed with us. If anything has changed (your areas, budget or timing), reply and tell us, and we will adjust the search.", hi, wanted)
		}
		return to("homes on the market for you"), fmt.Sprintf("%s\n\nHere is what fits %s now.\n\n%s", hi, prefs, listed)
	case "market-update":
		where := areaNames(r.Areas)
		body := fmt.Sprintf("%s\n\nHere is how the market for homes in %s has moved, from our own sales records:\n", hi, where)
		if market != nil {
			for _, l := range market.Lines {
				body += "- " + l + "\n"
			}
		}
		body += "\nThese figures come from the sales and listings in our brokerage's records, not the whole MLS; ask us for a full market report."
		if listed != "" {
			body += "\n\nHomes listed now that fit:\n" + listed
		}
		return to("your market update for " + where), body
	default: // check-in
		return to("is your home search still on?"),
			fmt.Sprintf("%s\n\nIs your search for %s still on? Reply and tell us what has changed.", hi, prefs)
	}
}

// listingLines lists up to maxListed listings, one a line; "" for none.
func listingLines(listings []crm.ListingMatch) string {
	var lines []string
	for i, l := range listings {
		if i == maxListed {
			break
		}
		line := "- " + l.Address
		if l.Address == "" {
			line = "- A home"
		}
		if l.City != "" {
			line += ", " + l.City
		}
		if l.ListPrice > 0 {
			line += ": $" + numfmt.Thousands(l.ListPrice)
		}
		if l.Beds != nil && *l.Beds > 0 {
			line += ", " + count(*l.Beds, "bedroom", "bedrooms")
		}
		lines = append(lines, line)
	}
	return strings.Join(lines, "\n")
}

// noMatchText says, truthfully, that nothing fits yet, and what would help;
// again words it differently for a later email of the same drip.
func noMatchText(r Recipient, prefs string, again bool) string {
	switch {
	case r.BudgetMax == nil && again:
		return "We can pick homes for you once we know your budget. Reply with a price range, even a rough one, and the next email will list the homes that fit."
	case r.BudgetMax == nil:
		return "To send you homes that fit, we need your budget: reply with the most you would like to spend, and we will match listings to it."
	case again:
		return fmt.Sprintf("Still nothing listed with us fits %s. A little more budget, one bedroom fewer or a neighboring area would open up more homes: "+
			"reply if you would consider one, and we will look again.", prefs)
	}
	return fmt.Sprintf("No home listed with us fits %s today. We check new listings every day and will write as soon as one does. "+
		"If you can widen the search (another area, a little more budget or one bedroom fewer), reply and we will look again.", prefs)
}

// preferences writes the client's wishes as a phrase: "a home with 3 or
// more bedrooms in 78704, up to $500,000".
func preferences(r Recipient) string {
	s := "a home"
	known := false
	if r.DesiredBeds != nil && *r.DesiredBeds > 0 {
		s += fmt.Sprintf(" with %d or more bedrooms", *r.DesiredBeds)
		known = true
	}
	if len(r.Areas) > 0 {
		s += " in " + strings.Join(r.Areas, " or ")
		known = true
	}
	if r.BudgetMax != nil && *r.BudgetMax > 0 {
		s += ", up to $" + numfmt.Thousands(*r.BudgetMax)
		known = true
	}
	if !known {
		return unknownPreferences
	}
	return s
}

// unknownPreferences is preferences' phrase for a client who has told us
// nothing about the home they want.
const unknownPreferences = "your next home"

// countWords writes small counts as words ("two homes"), as people do in
// a subject line.
func countWords(n int, one, many string) string {
	words := []string{"no", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten"}
	if n >= 0 && n < len(words) {
		if n == 1 {
			return words[n] + " " + one
		}
		return words[n] + " " + many
	}
	return numfmt.Thousands(n) + " " + many
}
