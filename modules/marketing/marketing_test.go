package marketing

import (
	"strings"
	"testing"
	"time"

	"github.com/estateflow/estateflow/modules/crm"
)

func chicago(t *testing.T) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation("America/Chicago")
	if err != nil {
		t.Skipf("no time zone data: %v", err)
	}
	return loc
}

var matches = []crm.ListingMatch{
	{PropertyID: 1, Address: "12 Oak St", City: "Austin", Zip: "78704", Latitude: 30.25, Longitude: -97.76, ListPrice: 480000, Beds: new(3)},
	{PropertyID: 2, Address: "9 Elm St", City: "Austin", Zip: "78704", Latitude: 30.26, Longitude: -97.75, ListPrice: 455000, Beds: new(4)},
}

func TestEmailConsent(t *testing.T) {
	loc := chicago(t)
	now := time.Date(2026, 11, 27, 15, 0, 0, 0, loc)
	noConsent := PlanEmails(Recipient{Name: "Ana Ruiz", Email: "ana@example.com", Tier: crm.TierHot}, matches, now, loc)
	if noConsent.Consent || len(noConsent.Messages) != 0 || !strings.Contains(noConsent.Reason, "not opted in") {
		t.Fatalf("without consent: %+v", noConsent)
	}
	noAddress := PlanEmails(Recipient{Name: "Ana Ruiz", EmailOptIn: true, Tier: crm.TierHot}, matches, now, loc)
	if noAddress.Consent || len(noAddress.Messages) != 0 || !strings.Contains(noAddress.Reason, "no email address") {
		t.Fatalf("without an address: %+v", noAddress)
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
			seq := PlanEmails(r, matches, tt.now, loc)
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
	seq := PlanEmails(r, matches, time.Date(2026, 11, 27, 15, 0, 0, 0, loc), loc)
	listings := seq.Messages[1]
	if listings.Subject != "Ana, 2 homes picked for you" || listings.To != "ana@example.com" {
		t.Fatalf("subject %q to %q", listings.Subject, listings.To)
	}
	for _, want := range []string{"Hi Ana,", "a home with 3 or more bedrooms, in 78704, up to $500,000", "- 12 Oak St, Austin: $480,000, 3 bedrooms", "- 9 Elm St, Austin: $455,000, 4 bedrooms"} {
		if !strings.Contains(listings.Body, want) {
			t.Errorf("body lacks %q:\n%s", want, listings.Body)
		}
	}
	if empty := PlanEmails(r, nil, time.Now(), loc); !strings.Contains(empty.Messages[1].Body, "no listing that matches yet") {
		t.Errorf("no-match body: %s", empty.Messages[1].Body)
	}
}

func TestTargetingIsHousingCompliant(t *testing.T) {
	// Two listings a mile apart: the spec's radius would be 1 mile; the
	// housing category needs 15.
	got := Target(7, matches, []string{"home buying", "mortgage loans"})
	if got.Audience.RadiusMiles != MinHousingRadiusMiles || got.Audience.SpecialAdCategory != "HOUSING" {
		t.Fatalf("audience %+v", got.Audience)
	}
	results := map[string]string{}
	for _, c := range got.Compliance {
		results[c.Rule] = c.Result
	}
	want := map[string]string{"NO_AGE_TARGETING": "PASS", "NO_GENDER_TARGETING": "PASS", "NO_ZIP_TARGETING": "PASS",
		"MIN_RADIUS_15_MILES": "CORRECTED", "NO_PROTECTED_CLASS_TERMS": "PASS", "SPECIAL_AD_CATEGORY_HOUSING": "PASS"}
	for rule, result := range want {
		if results[rule] != result {
			t.Errorf("%s: %s, want %s", rule, results[rule], result)
		}
	}
}

func TestEnforceCorrectsEveryRule(t *testing.T) {
	bad := AudienceSpec{
		RadiusMiles: 3, AgeMin: new(25), AgeMax: new(40), Genders: []string{"female"}, ZipCodes: []string{"78704"},
		Interests: []string{"home buying", "families with kids", "Christian living", "senior living", "mortgage loans"},
	}
	spec, checks := Enforce(bad)
	if spec.AgeMin != nil || spec.AgeMax != nil || spec.Genders != nil || spec.ZipCodes != nil || spec.RadiusMiles != 15 {
		t.Fatalf("spec still breaks a rule: %+v", spec)
	}
	if strings.Join(spec.Interests, ",") != "home buying,mortgage loans" {
		t.Fatalf("interests %v", spec.Interests)
	}
	for _, c := range checks {
		if c.Rule != "SPECIAL_AD_CATEGORY_HOUSING" && c.Result != "CORRECTED" {
			t.Errorf("%s: %s, want CORRECTED", c.Rule, c.Result)
		}
	}
}
