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
