package marketing

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/estateflow/estateflow/modules/crm"
)

var testSender = Sender{Name: "Maya Chen", Email: "maya@hillcountry.example", Brokerage: "Hill Country Realty",
	PostalAddress: "1100 S Lamar Blvd, Austin, TX 78704", Phone: "+1 512-555-0100", Website: "https://hillcountry.example"}

func testLink(i int) string { return fmt.Sprintf("https://app.example/u/TOKEN%d", i) }

func plan(r Recipient, listings []crm.ListingMatch, market *MarketFigures, now time.Time, loc *time.Location) EmailSequence {
	return PlanEmails(EmailInput{Recipient: r, Sender: testSender, Listings: listings, Market: market, UnsubscribeURL: testLink, Now: now, Loc: loc})
}

func TestEmailConsent(t *testing.T) {
	loc := chicago(t)
	now := time.Date(2026, 11, 27, 15, 0, 0, 0, loc)
	tests := []struct {
		name   string
		r      Recipient
		reason string
	}{
		{"no consent", Recipient{Name: "Ana Ruiz", Email: "ana@example.com", Tier: crm.TierHot}, "not opted in"},
		{"no address", Recipient{Name: "Ana Ruiz", EmailOptIn: true, Tier: crm.TierHot}, "no email address"},
		{"blank address", Recipient{Name: "Ana Ruiz", Email: "  ", EmailOptIn: true, Tier: crm.TierWarm}, "no email address"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			seq := plan(tt.r, matches, nil, now, loc)
			if seq.Consent || len(seq.Messages) != 0 || !strings.Contains(seq.Reason, tt.reason) {
				t.Fatalf("%+v", seq)
			}
			// Every email of the tier's drip is listed as skipped, with why.
			if want := len(dripCadence[tt.r.Tier]); len(seq.Skipped) != want {
				t.Fatalf("%d skipped, want %d: %+v", len(seq.Skipped), want, seq.Skipped)
			}
			for _, s := range seq.Skipped {
				if s.Template == "" || !strings.Contains(s.Reason, tt.reason) {
					t.Errorf("skipped %+v", s)
				}
			}
		})
	}
}

func TestEmailCadenceAndQuietHours(t *testing.T) {
	loc := chicago(t)
	r := Recipient{Name: "Ana Ruiz", Email: "ana@example.com", EmailOptIn: true, Areas: []string{"78704"}, DesiredBeds: new(3), BudgetMax: new(500000)}
	tests := []struct {
		name string
		tier string
		now  time.Time
		want []string // local times
	}{
		// Hot, in the afternoon: the first email now, then business days 2 and 5.
		{"hot afternoon", crm.TierHot, time.Date(2026, 11, 27, 15, 4, 30, 0, loc),
			[]string{"2026-11-27 15:04", "2026-12-01 10:00", "2026-12-04 10:00"}},
		// Hot at 22:30: quiet hours, so 8:00 the next morning.
		{"hot at night", crm.TierHot, time.Date(2026, 11, 27, 22, 30, 0, 0, loc),
			[]string{"2026-11-28 08:00", "2026-12-01 10:00", "2026-12-04 10:00"}},
		// Hot at 6:00: quiet hours, so 8:00 the same morning.
		{"hot at dawn", crm.TierHot, time.Date(2026, 11, 27, 6, 0, 0, 0, loc),
			[]string{"2026-11-27 08:00", "2026-12-01 10:00", "2026-12-04 10:00"}},
		{"warm", crm.TierWarm, time.Date(2026, 11, 27, 15, 0, 0, 0, loc),
			[]string{"2026-11-30 10:00", "2026-12-03 10:00", "2026-12-09 10:00", "2026-12-17 10:00"}},
		{"cold", crm.TierCold, time.Date(2026, 11, 27, 15, 0, 0, 0, loc),
			[]string{"2026-12-02 10:00", "2026-12-11 10:00", "2026-12-28 10:00", "2027-01-12 10:00"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r.Tier = tt.tier
			seq := plan(r, matches, nil, tt.now, loc)
			if !seq.Consent || len(seq.Messages) != len(tt.want) {
				t.Fatalf("%+v", seq)
			}
			for i, m := range seq.Messages {
				local := m.ScheduledAt.In(loc)
				if got := local.Format("2006-01-02 15:04"); got != tt.want[i] {
					t.Errorf("email %d at %s, want %s", i, got, tt.want[i])
				}
				if h := local.Hour(); h >= quietStart || h < quietEnd {
					t.Errorf("email %d in quiet hours: %s", i, local)
				}
			}
		})
	}
}

func TestEmailTemplatesUseTheClientsData(t *testing.T) {
	loc := chicago(t)
	r := Recipient{Name: "Ana Ruiz", Email: "ana@example.com", EmailOptIn: true, Areas: []string{"78704"}, DesiredBeds: new(3), BudgetMax: new(500000), Tier: crm.TierWarm}
	seq := plan(r, matches, nil, time.Date(2026, 11, 27, 15, 0, 0, 0, loc), loc)
	listings := seq.Messages[1]
	if listings.Subject != "Ana, two homes picked for you" || listings.To != "ana@example.com" {
		t.Fatalf("subject %q to %q", listings.Subject, listings.To)
	}
	for _, want := range []string{"Hi Ana,", "a home with 3 or more bedrooms in 78704, up to $500,000", "- 12 Oak St, Austin: $480,000, 3 bedrooms", "- 9 Elm St, Austin: $455,000, 4 bedrooms"} {
		if !strings.Contains(listings.Body, want) {
			t.Errorf("body lacks %q:\n%s", want, listings.Body)
		}
	}
	one := plan(r, matches[:1], nil, time.Date(2026, 11, 27, 15, 0, 0, 0, loc), loc)
	if got := one.Messages[1].Subject; got != "Ana, one home picked for you" {
		t.Errorf("one match: subject %q", got)
	}
}

// TestEmailFooterAndHeaders: every email names its sender, carries the
// postal address and its own unsubscribe link, in the body and in the
// List-Unsubscribe values (CAN-SPAM, RFC 8058).
func TestEmailFooterAndHeaders(t *testing.T) {
	loc := chicago(t)
	r := Recipient{Name: "Ana Ruiz", Email: "ana@example.com", EmailOptIn: true, BudgetMax: new(500000), Tier: crm.TierCold}
	seq := plan(r, matches, nil, time.Date(2026, 11, 27, 15, 0, 0, 0, loc), loc)
	if len(seq.Messages) != 4 {
		t.Fatalf("%+v", seq)
	}
	for i, m := range seq.Messages {
		link := testLink(i)
		if m.FromName != "Maya Chen" || m.FromEmail != "maya@hillcountry.example" {
			t.Errorf("email %d from %q <%s>", i, m.FromName, m.FromEmail)
		}
		if m.ListUnsubscribe != "<"+link+">" || m.ListUnsubscribePost != "List-Unsubscribe=One-Click" || m.UnsubscribeURL != link {
			t.Errorf("email %d headers %q, %q", i, m.ListUnsubscribe, m.ListUnsubscribePost)
		}
		for _, want := range []string{"Maya Chen", "Hill Country Realty", "1100 S Lamar Blvd, Austin, TX 78704", "unsubscribe with one click: " + link} {
			if !strings.Contains(m.Body, want) {
				t.Errorf("email %d lacks %q:\n%s", i, want, m.Body)
			}
		}
	}
	if missing := (Sender{Name: "Maya"}).Missing(); strings.Join(missing, ",") != "senderEmail,postalAddress" {
		t.Errorf("missing %v", missing)
	}
}

// placeholder matches what a template shows when a value is missing: a
// zero count, a zero price, an empty name, formatting debris.
var placeholder = regexp.MustCompile(`\b0 (homes?|listings?|sales?|days?|bedrooms?)\b|\$0\b|\bno homes picked|Hi ,|^, |, ,|\{\{|%!|<nil>|\bnull\b|  `)

// TestEmailsNeverShowEmptyPlaceholders plans every tier's drip for clients
// with little known about them, and no listing or market data at all.
func TestEmailsNeverShowEmptyPlaceholders(t *testing.T) {
	loc := chicago(t)
	now := time.Date(2026, 11, 27, 15, 0, 0, 0, loc)
	thin := ComputeMarket(nil, nil, 0, now, loc)
	clients := map[string]Recipient{
		"no budget, no areas":  {Name: "Ana Ruiz", Email: "ana@example.com", EmailOptIn: true},
		"budget, no match":     {Name: "Ana Ruiz", Email: "ana@example.com", EmailOptIn: true, Areas: []string{"78704"}, DesiredBeds: new(0), BudgetMax: new(300000)},
		"no name, no anything": {Name: " ", Email: "x@example.com", EmailOptIn: true},
	}
	for name, r := range clients {
		for _, tier := range []string{crm.TierHot, crm.TierWarm, crm.TierCold} {
			r.Tier = tier
			seq := plan(r, nil, &thin, now, loc)
			for _, m := range seq.Messages {
				for _, text := range []string{m.Subject, m.Body} {
					for line := range strings.SplitSeq(text, "\n") {
						if placeholder.MatchString(line) {
							t.Errorf("%s, %s, %s: placeholder in %q", name, tier, m.Template, line)
						}
					}
				}
				if strings.Contains(m.Subject, "picked for you") {
					t.Errorf("%s, %s: %q promises picks without any", name, tier, m.Subject)
				}
			}
		}
	}
	// A drip without a match says something new in each email.
	for name, r := range clients {
		for _, tier := range []string{crm.TierHot, crm.TierWarm, crm.TierCold} {
			r.Tier = tier
			seen := map[string]string{}
			for _, m := range plan(r, nil, &thin, now, loc).Messages {
				body, _, _ := strings.Cut(m.Body, "\n--\n") // the footer is the same in every email
				for _, para := range strings.Split(body, "\n\n")[1:] {
					if first, ok := seen[para]; ok {
						t.Errorf("%s, %s: %s repeats a paragraph of %s: %q", name, tier, m.Template, first, para)
					}
					seen[para] = m.Template
				}
			}
		}
	}
	noMatch := plan(clients["budget, no match"], nil, &thin, now, loc)
	if !strings.Contains(noMatch.Messages[0].Body, "No home listed with us fits a home in 78704, up to $300,000 today") {
		t.Errorf("no-match body: %s", noMatch.Messages[0].Body)
	}
	noBudget := plan(clients["no budget, no areas"], nil, &thin, now, loc)
	if !strings.Contains(noBudget.Messages[0].Body, "we need your budget") {
		t.Errorf("no-budget body: %s", noBudget.Messages[0].Body)
	}
}

// TestEmailFairHousing: a flagged phrase that reaches an email through the
// client's data is left out of the subject and the body, and reported.
func TestEmailFairHousing(t *testing.T) {
	loc := chicago(t)
	r := Recipient{Name: "Ana Ruiz", Email: "ana@example.com", EmailOptIn: true, Areas: []string{"Adult Community West"}, BudgetMax: new(400000), Tier: crm.TierWarm}
	now := time.Date(2026, 11, 27, 15, 0, 0, 0, loc)
	market := ComputeMarket(r.Areas, nil, 3, now, loc)
	seq := plan(r, nil, &market, now, loc)
	if seq.FairHousing.Passed || strings.Join(seq.FairHousing.Removed, ",") != "adult community" {
		t.Fatalf("check %+v", seq.FairHousing)
	}
	for _, m := range seq.Messages {
		if strings.Contains(strings.ToLower(m.Subject+m.Body), "adult community") {
			t.Errorf("%s kept the phrase: %q\n%s", m.Template, m.Subject, m.Body)
		}
		if !strings.Contains(m.Body, "unsubscribe with one click") {
			t.Errorf("%s lost its footer", m.Template)
		}
	}
	clean := plan(Recipient{Name: "Ana", Email: "a@example.com", EmailOptIn: true, Tier: crm.TierWarm}, matches, &market, now, loc)
	if !clean.FairHousing.Passed || clean.FairHousing.TermsChecked != len(fairHousingTerms) {
		t.Errorf("clean check %+v", clean.FairHousing)
	}
}
