package marketing

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/estateflow/estateflow/modules/crm"
)

// SocialTargeting is the SOCIAL_TARGETING step's output.
type SocialTargeting struct {
	ClientID   int                `json:"clientId"`
	Listings   []crm.ListingMatch `json:"listings"`
	Audience   AudienceSpec       `json:"audience"`
	Compliance []ComplianceCheck  `json:"compliance"`
}

// IsStepOutput marks a SocialTargeting as a step's typed output.
func (*SocialTargeting) IsStepOutput() {}

// AudienceSpec is who an ad promoting the listings reaches. Housing ads
// run in the Special Ad Category for housing.
type AudienceSpec struct {
	SpecialAdCategory string   `json:"specialAdCategory"`
	CenterLatitude    float64  `json:"centerLatitude"`
	CenterLongitude   float64  `json:"centerLongitude"`
	RadiusMiles       float64  `json:"radiusMiles"`
	Interests         []string `json:"interests"`
	// Fields the housing category forbids. The step never fills them; they
	// exist so that the compliance check can prove it.
	AgeMin   *int     `json:"ageMin,omitempty"`
	AgeMax   *int     `json:"ageMax,omitempty"`
	Genders  []string `json:"genders,omitempty"`
	ZipCodes []string `json:"zipCodes,omitempty"`
}

// ComplianceCheck is one housing-ad rule and how the spec meets it.
type ComplianceCheck struct {
	Rule   string `json:"rule"`
	Result string `json:"result"` // PASS or CORRECTED
	Detail string `json:"detail"`
}

// MinHousingRadiusMiles is the smallest location radius a housing ad may use.
const MinHousingRadiusMiles = 15

// protectedTerms are words that target, or exclude, a protected class under
// fair-housing law. Interests are checked against them.
var protectedTerms = []string{
	"race", "color", "religion", "christian", "muslim", "jewish", "church", "national origin", "hispanic", "latino",
	"asian", "black", "white", "sex", "gender", "male", "female", "men", "women", "familial", "family", "families",
	"children", "kids", "pregnan", "disab", "handicap", "wheelchair", "age", "senior", "elderly", "young", "retire",
	"student", "single", "married", "veteran",
}

// Target ranks the client's listings and builds a compliant audience spec.
func Target(clientID int, listings []crm.ListingMatch, interests []string) SocialTargeting {
	spec := AudienceSpec{SpecialAdCategory: "HOUSING", Interests: interests}
	if listings == nil {
		listings = []crm.ListingMatch{}
	}
	if len(listings) > 0 {
		var lat, lng float64
		for _, l := range listings {
			lat += l.Latitude / float64(len(listings))
			lng += l.Longitude / float64(len(listings))
		}
		spec.CenterLatitude, spec.CenterLongitude = round4(lat), round4(lng)
		for _, l := range listings {
			d := milesBetween(lat, lng, l.Latitude, l.Longitude)
			spec.RadiusMiles = math.Max(spec.RadiusMiles, math.Ceil(d))
		}
	}
	spec, checks := Enforce(spec)
	return SocialTargeting{ClientID: clientID, Listings: listings, Audience: spec, Compliance: checks}
}

// Enforce applies the housing rules to a spec: anything that breaks one is
// corrected, and each rule's result is reported.
func Enforce(spec AudienceSpec) (AudienceSpec, []ComplianceCheck) {
	var checks []ComplianceCheck
	check := func(rule string, broken bool, fix func(), detail string) {
		c := ComplianceCheck{Rule: rule, Result: "PASS", Detail: "not targeted"}
		if broken {
			fix()
			c.Result, c.Detail = "CORRECTED", detail
		}
		checks = append(checks, c)
	}
	spec.SpecialAdCategory = "HOUSING"
	check("NO_AGE_TARGETING", spec.AgeMin != nil || spec.AgeMax != nil, func() { spec.AgeMin, spec.AgeMax = nil, nil }, "age limits removed")
	check("NO_GENDER_TARGETING", len(spec.Genders) > 0, func() { spec.Genders = nil }, "gender targeting removed")
	check("NO_ZIP_TARGETING", len(spec.ZipCodes) > 0, func() { spec.ZipCodes = nil }, "ZIP codes removed; the radius covers the area")
	radius := ComplianceCheck{Rule: "MIN_RADIUS_15_MILES", Result: "PASS", Detail: fmt.Sprintf("radius %.0f miles", spec.RadiusMiles)}
	if spec.RadiusMiles < MinHousingRadiusMiles {
		radius.Result, radius.Detail = "CORRECTED", fmt.Sprintf("radius raised from %.0f to %d miles", spec.RadiusMiles, MinHousingRadiusMiles)
		spec.RadiusMiles = MinHousingRadiusMiles
	}
	checks = append(checks, radius)
	kept, dropped := []string{}, []string(nil)
	for _, in := range spec.Interests {
		if protected(in) {
			dropped = append(dropped, in)
		} else {
			kept = append(kept, in)
		}
	}
	terms := ComplianceCheck{Rule: "NO_PROTECTED_CLASS_TERMS", Result: "PASS", Detail: "no interest names a protected class"}
	if len(dropped) > 0 {
		terms.Result, terms.Detail = "CORRECTED", "removed interests: "+strings.Join(dropped, ", ")
		spec.Interests = kept
	}
	checks = append(checks, terms)
	checks = append(checks, ComplianceCheck{Rule: "SPECIAL_AD_CATEGORY_HOUSING", Result: "PASS", Detail: "declared as a housing ad"})
	return spec, checks
}

// protected reports whether a phrase contains a protected-class term as a
// word (or word start, for stems like "pregnan").
func protected(phrase string) bool {
	words := strings.FieldsFunc(strings.ToLower(phrase), func(r rune) bool { return !(r >= 'a' && r <= 'z') })
	return slices.ContainsFunc(words, func(w string) bool {
		for _, t := range protectedTerms {
			if w == t || (len(t) >= 5 && strings.HasPrefix(w, t)) || (strings.Contains(t, " ") && strings.Contains(strings.ToLower(phrase), t)) {
				return true
			}
		}
		return false
	})
}

// Interests a housing ad may use: what the buyer is shopping for.
func interestsFor(preApproved bool, beds *int) []string {
	out := []string{"home buying", "real estate listings"}
	if preApproved {
		out = append(out, "mortgage loans")
	}
	if beds != nil && *beds >= 4 {
		out = append(out, "large homes")
	}
	return out
}

func milesBetween(lat1, lng1, lat2, lng2 float64) float64 {
	const earthMiles = 3958.8
	toRad := math.Pi / 180
	dLat, dLng := (lat2-lat1)*toRad, (lng2-lng1)*toRad
	a := math.Sin(dLat/2)*math.Sin(dLat/2) + math.Cos(lat1*toRad)*math.Cos(lat2*toRad)*math.Sin(dLng/2)*math.Sin(dLng/2)
	return 2 * earthMiles * math.Asin(math.Min(1, math.Sqrt(a)))
}

func round4(v float64) float64 { return math.Round(v*10000) / 10000 }
